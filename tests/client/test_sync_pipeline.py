"""The engine overlapping its work with the server's, on a transport that can `begin`.

`Ahead` puts each request on the wire the moment it is begun, the order a background
transport produces at its most eager: the next push batch reaches the server before the
results of the one before are recorded, the next pull page is asked for before the last one
is stored. Whatever is cut where, the outbox and the pulled records come out right.
"""

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from client.plain_store import PlainStore
from client.sync_engine import Offline
from client.transport import Reply, Transport, TransportError, encoded, read_reply
from server.models import ChangeLog
from tests.sync_support import (
    PUSH,
    AppTransport,
    CutsAfter,
    Device,
    School,
    device,
    new_id,
    small_school,
)


@dataclass
class Sent:
    reply: Reply | None
    error: TransportError | None

    def result(self) -> Reply:
        if self.error is not None:
            raise self.error
        assert self.reply is not None
        return self.reply


class Ahead:
    def __init__(self, inner: Transport, store: PlainStore) -> None:
        self.inner = inner
        self.store = store
        # Per push begun: the change ids it carried, and the outbox's size at that moment.
        self.pushes: list[tuple[list[str], int]] = []
        self.sends_encoded = getattr(inner, "sends_encoded", False)

    def post(self, path: str, body: dict[str, Any], token: str | None) -> Reply:
        return self.inner.post(path, body, token)

    def begin(self, path: str, body: dict[str, Any], token: str | None) -> Sent:
        if path == PUSH:
            ids = [str(c["change_id"]) for c in body["changes"]]
            self.pushes.append((ids, self.store.pending_count()))
        try:
            return Sent(self.inner.post(path, body, token), None)
        except TransportError as exc:
            return Sent(None, exc)


class BytesAppTransport(AppTransport):
    """The app in-process, sent the request's bytes as the phone's transport sends them
    (so the engine hands it changes whose values were never parsed)."""

    sends_encoded = True

    def request(
        self, method: str, path: str, body: dict[str, Any] | None, token: str | None
    ) -> Reply:
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        content = None if body is None else encoded(body)
        response = self.client.request(method, path, content=content, headers=headers)
        return read_reply(path, response.status_code, response.content)


class LosesReplyOf:
    """Delivers every push, but the reply to the `nth` is lost on the way back."""

    def __init__(self, inner: Transport, nth: int) -> None:
        self.inner = inner
        self.left = nth

    def post(self, path: str, body: dict[str, Any], token: str | None) -> Reply:
        reply = self.inner.post(path, body, token)
        if path == PUSH:
            self.left -= 1
            if self.left == 0:
                raise TransportError("connection reset after the server answered")
        return reply


def rounds(school: School, phone: Device, count: int) -> list[str]:
    """`count` edits (new rounds, and edits of them); the change ids in the order made."""
    made = []
    record_id = new_id()
    for index in range(count):
        if index % 3 == 0:
            record_id = new_id()
            fields: dict[str, Any] = {
                "area_id": school.area_ids[index % 2],
                "round_date": "2026-11-29",
                "cleaner_id": phone.user_id,
            }
        else:
            fields = {f"items.i{index}": {"done": True, "note": f"第{index}项"}}
        made.append(phone.store.edit("disinfection_rounds", record_id, fields).change_id)
    return made


def logged(app: FastAPI, device_id: str) -> list[str]:
    with Session(app.state.engine) as session:
        rows = session.exec(
            select(ChangeLog.change_id)
            .where(ChangeLog.device_id == device_id)
            .order_by(col(ChangeLog.seq))
        )
        return [str(r) for r in rows]


@pytest.mark.parametrize("as_bytes", [False, True])
def test_batches_overlap_and_reach_the_server_in_order(
    client: TestClient, app: FastAPI, as_bytes: bool
) -> None:
    school = small_school(app)
    phone = device(client, school.cleaners[0])
    phone.engine.batch_size = 2
    made = rounds(school, phone, 7)
    # One change the server refuses (an area it does not know), in the middle.
    bad = phone.store.edit(
        "disinfection_rounds",
        new_id(),
        {"area_id": new_id(), "round_date": "2026-11-29", "cleaner_id": phone.user_id},
    ).change_id
    made += [bad, *rounds(school, phone, 2)]
    ahead = Ahead((BytesAppTransport if as_bytes else AppTransport)(client), phone.store)
    phone.engine.transport = ahead
    report = phone.engine.push()
    assert (report.pushed, report.rejected) == (9, 1)
    assert phone.store.pending_count() == 0
    assert [r.entry.change_id for r in phone.store.rejected()] == [bad]
    assert [i for ids, _ in ahead.pushes for i in ids] == made
    # Each batch went out while the one before was still unrecorded in the outbox.
    assert [left for _, left in ahead.pushes] == [10, 10, 8, 6, 4]
    assert logged(app, phone.store.device_id) == [i for i in made if i != bad]
    # What the device shows is what the server holds.
    pulled = device(client, school.cleaners[1])
    pulled.engine.sync()
    phone.engine.sync()
    for record in pulled.store.records("disinfection_rounds"):
        mine = phone.store.get("disinfection_rounds", record.record_id)
        assert mine is not None and mine.fields == record.fields


@pytest.mark.parametrize("cut", ["unreachable", "reply_lost"])
@pytest.mark.parametrize("after", [1, 2, 3])
def test_push_cut_midway_leaves_unrecorded_batches_pending(
    client: TestClient, app: FastAPI, cut: str, after: int
) -> None:
    school = small_school(app)
    phone = device(client, school.cleaners[0])
    phone.engine.batch_size = 3
    made = rounds(school, phone, 11)
    inner: Transport
    if cut == "unreachable":
        inner = CutsAfter(AppTransport(client), calls=after)
    else:
        inner = LosesReplyOf(AppTransport(client), nth=after + 1)
    phone.engine.transport = Ahead(inner, phone.store)
    with pytest.raises(Offline):
        phone.engine.push()
    # The batches answered before the cut are recorded; the rest wait in the outbox.
    left = [e.change_id for e in phone.store.pending(100)]
    assert left == made[3 * after :]
    phone.engine.transport = AppTransport(client)
    phone.engine.sync()
    assert phone.store.pending_count() == 0
    assert logged(app, phone.store.device_id) == made  # each once, in order


def test_too_large_batches_are_halved_while_overlapping(client: TestClient, app: FastAPI) -> None:
    school = small_school(app)
    phone = device(client, school.cleaners[0])
    phone.engine.batch_size = 8
    made = rounds(school, phone, 13)
    app_transport = AppTransport(client)

    class AtMostThree:
        def post(self, path: str, body: dict[str, Any], token: str | None) -> Reply:
            if path == PUSH and len(body["changes"]) > 3:
                return Reply(413, {"error": {"code": "batch_too_large", "message": "too big"}})
            return app_transport.post(path, body, token)

    ahead = Ahead(AtMostThree(), phone.store)
    phone.engine.transport = ahead
    report = phone.engine.push()
    assert report.pushed == 13 and phone.store.pending_count() == 0
    assert logged(app, phone.store.device_id) == made
    assert [len(ids) for ids, _ in ahead.pushes] == [8, 4, 2, 2, 2, 2, 2, 2, 1]


@pytest.mark.parametrize("calls", [1, 2, 3, 5])
def test_pull_asked_ahead_and_cut_keeps_whole_pages(
    client: TestClient, app: FastAPI, calls: int
) -> None:
    school = small_school(app, students_per_class=20)
    lead = device(client, school.lead, page_limit=5)
    lead.engine.transport = Ahead(CutsAfter(AppTransport(client), calls=calls), lead.store)
    with pytest.raises(Offline):
        lead.engine.sync()
    # The page whose successor could not be fetched is stored all the same.
    assert len(lead.store.server_records()) == 5 * calls
    lead.engine.transport = Ahead(AppTransport(client), lead.store)
    report = lead.engine.sync()
    assert report.pulled == 45 - 5 * calls  # the rest, nothing twice
    assert len(lead.store.server_records()) == 45
    again = device(client, school.lead)
    again.engine.sync()
    assert sorted(r.record_id for r in again.store.server_records()) == sorted(
        r.record_id for r in lead.store.server_records()
    )
