"""A server whose database is away answers `503 database_unavailable` with Retry-After: the
client takes it as "try again later", like being offline. The edits stay in the outbox,
nobody is signed out, and the next try waits at least as long as the server asked."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from client import app as app_module
from client.app import Device as AppDevice
from client.app import _auto_sync
from client.app_state import AppState
from client.httpx_transport import HttpxTransport
from client.sync_engine import ServerTrouble, SignInRequired, SyncEngine
from client.transport import MAX_RETRY_AFTER, Reply, parse_retry_after
from shared.i18n import t
from tests.client.ui_support import PASSWORD, SERVER_URL, Phones
from tests.sync_support import AppTransport, School, device, new_id, small_school

BUSY = {"error": {"code": "database_unavailable", "message": "The database is away."}}


def test_retry_after_is_read_as_seconds_or_a_date() -> None:
    now = datetime(2026, 11, 29, 8, 0, 0, tzinfo=UTC)
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after(" 12 ") == 12.0
    assert parse_retry_after("Sun, 29 Nov 2026 08:00:30 GMT", now) == 30.0
    assert parse_retry_after("Sun, 29 Nov 2026 07:00:00 GMT", now) == 0.0  # already past
    assert parse_retry_after("86400") == MAX_RETRY_AFTER  # a wrong header cannot stop syncing
    for unreadable in (None, "", "soon", "-3", "1.5e9x"):
        assert parse_retry_after(unreadable) is None, unreadable


def test_httpx_transport_keeps_the_retry_after() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json=BUSY, headers={"Retry-After": "7"})

    transport = HttpxTransport(
        "http://sync.test", client=httpx.Client(transport=httpx.MockTransport(answer))
    )
    reply = transport.post("/api/v1/sync/push", {"device_id": "d", "changes": []}, "t")
    assert (reply.status, reply.error_code, reply.retry_after) == (503, "database_unavailable", 7.0)
    ok = httpx.MockTransport(lambda request: httpx.Response(200, json={"results": []}))
    plain = HttpxTransport("http://sync.test", client=httpx.Client(transport=ok))
    assert plain.post("/api/v1/sync/push", {}, "t").retry_after is None


class DatabaseAway:
    """The server, but its database is away for the next `count` requests."""

    def __init__(self, inner: AppTransport, count: int, retry_after: float = 5.0) -> None:
        self.inner = inner
        self.count = count
        self.retry_after = retry_after
        self.calls: list[str] = []

    def post(self, path: str, body: dict[str, Any], token: str | None) -> Reply:
        self.calls.append(path)
        if self.count > 0:
            self.count -= 1
            return Reply(503, BUSY, retry_after=self.retry_after)
        return self.inner.post(path, body, token)


def _one_round(school: School, engine: SyncEngine, user_id: str) -> str:
    round_id = new_id()
    engine.store.edit(
        "disinfection_rounds",
        round_id,
        {"area_id": school.area_ids[0], "round_date": "2026-11-29", "cleaner_id": user_id},
    )
    return round_id


def test_a_503_is_try_again_later_and_the_retry_waits_as_asked(
    client: TestClient, app: FastAPI
) -> None:
    school = small_school(app)
    phone = device(client, school.cleaners[0])
    phone.engine.sync()
    token = phone.engine.token
    _one_round(school, phone.engine, phone.user_id)
    phone.engine.transport = DatabaseAway(AppTransport(client), count=1)
    with pytest.raises(ServerTrouble) as busy:
        phone.engine.sync()
    assert busy.value.retry and busy.value.code == "database_unavailable"
    assert busy.value.retry_after == 5.0
    assert not isinstance(busy.value, SignInRequired)
    # The edit waits in the outbox; the token is kept; the error is noted for the screen.
    assert phone.store.pending_count() == 1
    assert phone.engine.token == token
    assert phone.engine.state().last_error_code == "database_unavailable"

    # Retried: the pause is never shorter than Retry-After, however small the backoff.
    phone.engine._rng = lambda: 0.0  # the backoff's draw at its least
    assert phone.engine.retry_delay(busy.value, 0) == 5.0
    phone.engine._rng = lambda: 1.0  # spread over up to half as long again
    assert phone.engine.retry_delay(busy.value, 0) == 7.5
    assert phone.engine.retry_delay(busy.value, 7) == 128.0  # the backoff, when longer
    phone.engine._rng = lambda: 0.5
    sleeps: list[float] = []
    away = DatabaseAway(AppTransport(client), count=2, retry_after=3.0)
    phone.engine.transport = away
    report = phone.engine.sync_with_retry(attempts=3, sleep=sleeps.append)
    assert sleeps == [3.75, 3.75]  # max(0.5 and 1.0 backoff, 3 x 1.25)
    assert report.pushed == 1 and phone.store.pending_count() == 0
    assert away.calls[:2] == ["/api/v1/sync/push", "/api/v1/sync/push"]
    assert phone.engine.state().last_error_code is None


def test_the_app_says_the_database_is_away_keeps_the_person_signed_in_and_waits(
    phones: Phones, school: School, monkeypatch: pytest.MonkeyPatch
) -> None:
    cleaner = phones.sign_in("cleaner1", lang="en")
    network = phones.network(cleaner)
    network.database_away = 40.0
    cleaner.tick(school.area_ids[0], "windows", True)
    assert cleaner.error is None
    cleaner.sync_now()
    assert cleaner.signed_in and cleaner.session is not None  # not signed out
    assert cleaner.online is False and cleaner.retry_after == 40.0
    assert cleaner.error is not None and cleaner.error.code == "database_unavailable"
    assert cleaner.error.message == t("error.database_unavailable", "en")
    assert t("error.database_unavailable", "zh") != "error.database_unavailable"
    assert cleaner.sync_state()["pending"] == 1

    # The background sync waits at least the Retry-After before its next try.
    delays = asyncio.run(_auto_sync_delays(cleaner, monkeypatch, every=5.0, rounds=2))
    assert all(delay >= 40.0 for delay in delays), delays

    network.database_away = None
    cleaner.sync_now()
    assert cleaner.error is None and cleaner.online is True and cleaner.retry_after is None
    assert cleaner.sync_state()["pending"] == 0
    delays = asyncio.run(_auto_sync_delays(cleaner, monkeypatch, every=5.0, rounds=1))
    assert delays == [5.0]  # back to the usual interval


async def _auto_sync_delays(
    state: AppState, monkeypatch: pytest.MonkeyPatch, every: float, rounds: int
) -> list[float]:
    """The waits `_auto_sync` chooses over `rounds` turns (the sleeps themselves skipped)."""
    delays: list[float] = []

    async def until(delay: float, _network_up: Any) -> None:
        delays.append(delay)
        if len(delays) >= rounds:
            raise asyncio.CancelledError

    async def now(work: Any) -> None:
        work()

    class Screen:
        def refresh(self, keep_typed: bool = False) -> None:
            pass

        def refresh_sync_bar(self) -> None:
            pass

    monkeypatch.setattr(app_module, "_until", until)
    device = AppDevice(users=None, default_server=SERVER_URL, in_background=now)  # type: ignore[arg-type]
    with pytest.raises(asyncio.CancelledError):
        await _auto_sync(state, Screen(), every, device)  # type: ignore[arg-type]
    return delays


def test_a_503_at_sign_in_is_said_and_nothing_is_wiped(phones: Phones) -> None:
    state = phones.start(lang="en")
    phones.network(state).database_away = 5.0
    state.sign_in(SERVER_URL, "cleaner1", PASSWORD)
    assert state.error is not None and state.error.code == "database_unavailable"
    assert state.error.message == t("error.database_unavailable", "en")
    assert not state.signed_in
    phones.network(state).database_away = None
    state.sign_in(SERVER_URL, "cleaner1", PASSWORD)
    assert state.error is None and state.signed_in
