"""Helpers for the app-state and screen tests: phones running the real AppState against the
in-process server, a fixed clock, a network that can be cut, and a walker over Flet trees."""

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import flet as ft
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from client.accounts import PhoneUsers
from client.app_state import AppState
from client.shell import Shell
from client.transport import Reply, TransportError
from server.models import Record
from tests.factories import PASSWORD
from tests.sync_support import AppTransport

SERVER_URL = "http://testserver"
NOW = datetime(2026, 11, 25, 2, tzinfo=UTC)  # 10:00 in Beijing
TODAY = date(2026, 11, 25)


class Clock:
    """The phones' clock: fixed, moved by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def on_day(self, day: date) -> None:
        """10:00 in Beijing on `day`."""
        self.now = datetime(day.year, day.month, day.day, 2, tzinfo=UTC)

    def days_ago(self, days: int) -> None:
        self.on_day(TODAY - timedelta(days=days))


class Network:
    """One phone's network: the real server in-process, unless `up` is False."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.inner = AppTransport(client)
        self.up = True
        # When set, the server answers every call 503 with this Retry-After (its database
        # is away), as `server.failures` does.
        self.database_away: float | None = None
        self.calls = 0

    def post(self, path: str, body: dict[str, Any], token: str | None) -> Reply:
        return self.request("POST", path, body, token)

    def request(
        self, method: str, path: str, body: dict[str, Any] | None, token: str | None
    ) -> Reply:
        self.calls += 1
        if not self.up:
            raise TransportError("network unreachable")
        if self.database_away is not None:
            error = {"code": "database_unavailable", "message": "The database is away."}
            return Reply(503, {"error": error}, retry_after=self.database_away)
        return self.inner.request(method, path, body, token)


@dataclass
class Phones:
    """Every phone a test starts (each its own data folder); all locked and closed at the end."""

    client: TestClient
    folder: Path
    clock: Clock = field(default_factory=Clock)
    started: list[AppState] = field(default_factory=list)
    networks: dict[int, Network] = field(default_factory=dict)

    def start(self, lang: str = "zh", **store_options: Any) -> AppState:
        network = Network(self.client)
        users = PhoneUsers(
            self.folder / f"phone-{len(self.started)}",
            lambda url: network,
            store_options=store_options,
        )
        state = AppState(users, lang=lang, now=self.clock)
        self.started.append(state)
        self.networks[id(state)] = network
        return state

    def sign_in(self, username: str, lang: str = "zh", **store_options: Any) -> AppState:
        state = self.start(lang, **store_options)
        state.sign_in(SERVER_URL, username, PASSWORD)
        assert state.error is None, state.error
        assert state.signed_in
        return state

    def network(self, state: AppState) -> Network:
        return self.networks[id(state)]

    def close(self) -> None:
        for state in self.started:
            state.users.lock_current()


def synced(*states: AppState) -> None:
    """Sync each phone in turn, failing loudly on any error."""
    for state in states:
        state.sync_now()
        assert state.error is None, state.error
        assert state.sync_state()["pending"] == 0


def finish_round(state: AppState, area_id: str) -> None:
    """Tick every item still open on the area's checklist (the dose as prescribed, a
    reading inside its range), then complete the round, as a cleaner does."""
    for item in state.checklist(area_id):
        if item["done"] or item["skipped"]:
            continue
        asked = item["reading_asked"]
        low, high = (asked or {}).get("low"), (asked or {}).get("high")
        reading = None if asked is None else (low if low is not None else (high or 0.0))
        dosage = item["dosage_asked"]
        state.tick(
            area_id,
            item["item_id"],
            True,
            dosage=dict(dosage) if dosage else None,
            reading=reading,
        )
        assert state.error is None, state.error
    state.complete_round(area_id)
    assert state.error is None, state.error


def server_record(app: FastAPI, collection: str, record_id: str) -> Record | None:
    with Session(app.state.engine) as session:
        record = session.get(Record, (collection, uuid.UUID(str(record_id))))
        if record is not None:
            session.expunge(record)
        return record


def server_records(app: FastAPI, collection: str) -> list[Record]:
    with Session(app.state.engine) as session:
        found = list(session.exec(select(Record).where(Record.collection == collection)))
        for record in found:
            session.expunge(record)
        return found


def fields_of(state: AppState, collection: str, record_id: str) -> dict[str, Any]:
    record = state.session.store.get(collection, record_id) if state.session else None
    assert record is not None, f"{collection} {record_id} is not on the phone"
    return dict(record.fields)


# Control trees ------------------------------------------------------------------------

CHILDREN = (
    "controls",
    "content",
    "title",
    "subtitle",
    "leading",
    "trailing",
    "destinations",
    "options",
    "actions",
)
TEXT_ATTRS = ("value", "label", "text", "tooltip", "content", "hint_text", "helper_text")


def walk(control: Any) -> Iterator[ft.BaseControl]:
    """The control and every control below it, depth first."""
    if not isinstance(control, ft.BaseControl):
        return
    yield control
    for name in CHILDREN:
        child = getattr(control, name, None)
        for item in child if isinstance(child, list | tuple) else [child]:
            yield from walk(item)


def keys(root: ft.BaseControl) -> set[str]:
    return {str(c.key) for c in walk(root) if c.key is not None}


def find_all(root: ft.BaseControl, match: Callable[[ft.BaseControl], bool]) -> list[Any]:
    return [c for c in walk(root) if match(c)]


def find(root: ft.BaseControl, key: str) -> Any:
    """The one control with `key` (options of a dropdown are not looked at)."""
    found = [c for c in walk(root) if c.key == key and not isinstance(c, ft.DropdownOption)]
    assert found, f"no control with key {key!r}; keys: {sorted(keys(root))}"
    assert len(found) == 1, f"{len(found)} controls with key {key!r}"
    return found[0]


def has(root: ft.BaseControl, key: str) -> bool:
    return any(c.key == key for c in walk(root))


def texts(root: ft.BaseControl) -> list[str]:
    """Every piece of text a person could read in the tree (labels, values, tooltips...)."""
    found = []
    for control in walk(root):
        for name in TEXT_ATTRS:
            value = getattr(control, name, None)
            if isinstance(value, str) and value:
                found.append(value)
    return found


def text_of(control: Any) -> str:
    """A Text's value, or a button's label."""
    value = control.value if isinstance(control, ft.Text) else control.content
    assert isinstance(value, str), f"{control!r} shows no plain text"
    return value


@dataclass
class Event:
    """What a handler reads from a Flet event: the control that fired it."""

    control: Any


def click(root: ft.BaseControl, key: str) -> None:
    control = find(root, key)
    assert control.on_click is not None, f"{key} has no on_click"
    control.on_click(Event(control))


def check(root: ft.BaseControl, key: str, value: bool) -> None:
    box = find(root, key)
    assert isinstance(box, ft.Checkbox)
    box.value = value
    assert box.on_change is not None
    box.on_change(Event(box))


def type_into(root: ft.BaseControl, key: str, value: str) -> None:
    control = find(root, key)
    assert isinstance(control, ft.TextField | ft.Dropdown), f"{key} is not an input"
    control.value = value


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def round_note_conflict(phones: Phones, area_id: str) -> tuple[str, str, str]:
    """Two cleaners edit one round's note offline, then both sync: a conflict on the server.

    Returns the round id, the winning (later) note and the losing one.
    """
    cleaner1 = phones.sign_in("cleaner1")
    cleaner1.tick(area_id, "windows", True)
    synced(cleaner1)
    [round_id] = [r.record_id for r in cleaner1.records_of("disinfection_rounds")]
    cleaner2 = phones.sign_in("cleaner2")
    assert cleaner1.session is not None and cleaner2.session is not None
    loser, winner = "地面已消毒两遍", "消毒液不足"
    cleaner1.session.store.edit("disinfection_rounds", round_id, {"note": loser})
    time.sleep(0.005)  # cleaner2's edit is the later one
    cleaner2.session.store.edit("disinfection_rounds", round_id, {"note": winner})
    synced(cleaner1, cleaner2)
    return round_id, winner, loser


def second_tab(shell: Shell) -> ft.BaseControl:
    """Tap the role's second tab (the lead's Manage, a teacher's checks and absences)."""
    bar = find(shell.build(), "tabs")
    bar.selected_index = 1
    bar.on_change(Event(bar))
    return shell.build()


def lead_on(phones: "Phones", section: str, lang: str = "zh") -> tuple[AppState, Shell]:
    """The lead signed in, on one section of Manage: (state, shell)."""
    state = phones.sign_in("lead", lang)
    shell = Shell(state, SERVER_URL)
    second_tab(shell)
    click(shell.build(), f"section-{section}")
    return state, shell
