"""A sync with changes to send asks for its pull with the last push batch: one round trip
where there were two (phones in stairwells and dorms pay for every one)."""

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from client.transport import Reply, Transport
from tests.client.test_sync_pipeline import BytesAppTransport, rounds
from tests.sync_support import PULL, PUSH, Device, device, new_id, small_school


class Counted:
    """Passes every request on; keeps (path, whether a push asked for the pull)."""

    def __init__(self, inner: Transport, *, before_pulls_with_pushes: bool = False) -> None:
        self.inner = inner
        self.sent: list[tuple[str, bool]] = []
        self.old = before_pulls_with_pushes  # answers a push with "pull" as such servers do
        self.sends_encoded = getattr(inner, "sends_encoded", False)

    def post(self, path: str, body: dict[str, Any], token: str | None) -> Reply:
        asks = path == PUSH and "pull" in body
        self.sent.append((path, asks))
        if asks and self.old:
            error = {"code": "invalid_value", "message": "pull: Extra inputs are not permitted"}
            return Reply(422, {"error": error})
        return self.inner.post(path, body, token)


def _counted(phone: Device, **kw: Any) -> Counted:
    counted = Counted(phone.engine.transport, **kw)
    phone.engine.transport = counted
    return counted


def _held(phone: Device, collection: str) -> set[str]:
    return {r.record_id for r in phone.store.records(collection)}


@pytest.mark.parametrize("as_bytes", [False, True])
def test_a_sync_with_a_few_changes_is_one_round_trip(
    client: TestClient, app: FastAPI, as_bytes: bool
) -> None:
    school = small_school(app)
    phone = device(client, school.cleaners[0])
    other = device(client, school.cleaners[1])
    phone.engine.sync()
    if as_bytes:
        phone.engine.transport = BytesAppTransport(client)
    rounds(school, other, 3)
    other.engine.sync()
    made = phone.store.edit(
        "disinfection_rounds",
        new_id(),
        {"area_id": school.area_ids[0], "round_date": "2026-11-29", "cleaner_id": phone.user_id},
    )
    counted = _counted(phone)
    report = phone.engine.sync()
    assert counted.sent == [(PUSH, True)]
    assert report.pushed == 1 and report.pulled == 2  # the other's round, and its own back
    assert phone.store.pending_count() == 0
    assert _held(phone, "disinfection_rounds") == _held(other, "disinfection_rounds") | {
        made.record_id
    }
    # Its own round came back with the server's number: a later edit is made on top of it.
    mine = phone.store.get("disinfection_rounds", made.record_id)
    assert mine is not None and mine.seq is not None
    # Up to date: the next sync has nothing to send and pulls alone, once.
    counted.sent.clear()
    assert phone.engine.sync().pulled == 0
    assert counted.sent == [(PULL, False)]


def test_a_long_page_goes_on_by_plain_pulls(client: TestClient, app: FastAPI) -> None:
    school = small_school(app)
    phone = device(client, school.teachers[0], page_limit=2)
    phone.store.edit(
        "sick_cases",
        new_id(),
        {
            "student_id": school.student_ids[school.class_ids[0]][0],
            "class_id": school.class_ids[0],
            "onset_date": "2026-11-29",
            "symptoms": "发热",
        },
    )
    counted = _counted(phone)
    report = phone.engine.sync()
    asked = [path for path, _ in counted.sent]
    assert asked[0] == PUSH and counted.sent[0][1] and set(asked[1:]) == {PULL}
    fresh = device(client, school.teachers[0])
    fresh.engine.sync()
    for collection in ("classes", "students", "sick_cases"):
        assert _held(phone, collection) == _held(fresh, collection)
    assert report.pulled == sum(len(_held(fresh, c)) for c in ("classes", "students", "sick_cases"))


def test_many_batches_ask_for_the_pull_with_the_last_only(client: TestClient, app: FastAPI) -> None:
    school = small_school(app)
    phone = device(client, school.cleaners[0])
    phone.engine.batch_size = 2
    rounds(school, phone, 5)
    counted = _counted(phone)
    phone.engine.sync()
    assert counted.sent == [(PUSH, False), (PUSH, False), (PUSH, True)]
    assert phone.store.pending_count() == 0
    # A batch exactly as long as the batch size may be the last: then the pull goes alone.
    rounds(school, phone, 2)
    counted.sent.clear()
    phone.engine.sync()
    assert counted.sent == [(PUSH, False), (PULL, False)]


def test_a_server_from_before_is_asked_apart(client: TestClient, app: FastAPI) -> None:
    school = small_school(app)
    phone = device(client, school.cleaners[0])
    counted = _counted(phone, before_pulls_with_pushes=True)
    rounds(school, phone, 2)
    report = phone.engine.sync()
    assert counted.sent == [(PUSH, True), (PUSH, False), (PULL, False)]
    assert report.pushed == 2 and phone.store.pending_count() == 0 and not phone.store.rejected()
    rounds(school, phone, 1)
    counted.sent.clear()
    phone.engine.sync()
    assert counted.sent == [(PUSH, False), (PULL, False)]  # remembered


def test_a_cursor_the_server_does_not_know_is_started_again(
    client: TestClient, app: FastAPI
) -> None:
    school = small_school(app)
    phone = device(client, school.cleaners[0])
    phone.engine.sync()
    phone.store.set_meta("cursor", "made-by-another-server")
    rounds(school, phone, 1)
    counted = _counted(phone)
    phone.engine.sync()
    # The push went in; its pull was refused beside it; the engine pulled from the start.
    assert counted.sent == [(PUSH, True), (PULL, False), (PULL, False)]
    assert phone.store.pending_count() == 0
    fresh = device(client, school.cleaners[0])
    fresh.engine.sync()
    assert _held(phone, "disinfection_rounds") == _held(fresh, "disinfection_rounds")
