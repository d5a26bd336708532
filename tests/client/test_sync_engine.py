"""The client sync engine against the real server app, in-process."""

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from client.sync_engine import Offline, SignInRequired, StoreWiped
from server.models import ChangeLog
from shared.schemas.collections import InvalidValue, UnknownField
from tests.factories import login
from tests.sync_support import (
    AppTransport,
    CutsAfter,
    Device,
    LosesReplies,
    School,
    device,
    new_id,
    small_school,
)


def test_offline_round_reaches_another_device(client: TestClient, app: FastAPI) -> None:
    school = small_school(app)
    phone_a = device(client, school.cleaners[0])
    phone_b = device(client, school.cleaners[1])
    phone_a.engine.sync()
    round_id = new_id()
    phone_a.store.edit(
        "disinfection_rounds",
        round_id,
        {
            "area_id": school.area_ids[0],
            "round_date": "2026-11-29",
            "cleaner_id": phone_a.user_id,
            "items.windows": {"done": True, "at": "2026-11-29T08:00:00+08:00", "note": "已通风"},
        },
    )
    assert phone_a.engine.state().pending == 1
    report = phone_a.engine.sync()
    assert report.pushed == 1 and phone_a.engine.state().pending == 0
    assert phone_a.engine.state().last_success is not None
    phone_b.engine.sync()
    seen = phone_b.store.get("disinfection_rounds", round_id)
    assert seen is not None
    assert seen.fields["items"]["windows"]["note"] == "已通风"


def _round(school: School, phone: Device, **extra: Any) -> dict[str, Any]:
    return {
        "area_id": school.area_ids[0],
        "round_date": "2026-11-29",
        "cleaner_id": phone.user_id,
        **extra,
    }


def test_pending_edits_are_rebased_over_what_others_did(client: TestClient, app: FastAPI) -> None:
    school = small_school(app)
    a = device(client, school.cleaners[0])
    b = device(client, school.cleaners[1])
    rid = new_id()
    a.store.edit("disinfection_rounds", rid, _round(school, a, note="开始"))
    a.engine.sync()
    b.engine.sync()
    # Offline, both tick different items; A also edits the note.
    a.store.edit("disinfection_rounds", rid, {"items.desks": {"done": True}, "note": "A"})
    b.store.edit("disinfection_rounds", rid, {"items.floor": {"done": True}})
    b.engine.sync()
    # A pulls first (without pushing): B's tick arrives under A's pending edit.
    a.engine.pull()
    view = a.store.get("disinfection_rounds", rid)
    assert view is not None
    assert view.fields["items"]["floor"]["done"] is True  # theirs, pulled
    assert view.fields["items"]["desks"]["done"] is True  # mine, still pending
    assert view.fields["note"] == "A"
    assert a.engine.state().pending == 1
    a.engine.sync()
    b.engine.sync()
    assert a.store.get("disinfection_rounds", rid) == b.store.get("disinfection_rounds", rid)


def test_rejected_changes_are_kept_aside_with_the_reason(client: TestClient, app: FastAPI) -> None:
    school = small_school(app)
    cleaner = device(client, school.cleaners[0])
    rid = new_id()
    cleaner.store.edit("disinfection_rounds", rid, _round(school, cleaner, note="草稿"))
    # An area the server does not know (say, one deleted meanwhile): the server refuses.
    cleaner.store.edit("disinfection_rounds", new_id(), _round(school, cleaner, area_id=new_id()))
    report = cleaner.engine.sync()
    assert (report.pushed, report.rejected) == (1, 1)
    state = cleaner.engine.state()
    assert state.pending == 0 and state.rejected == 1 and state.last_error is None
    [kept] = cleaner.store.rejected()
    assert kept.code == "invalid_value" and "areas" in kept.message
    assert kept.entry.fields["cleaner_id"] == cleaner.user_id
    # The refused record is not shown as if it existed; the good one is.
    assert cleaner.store.get("disinfection_rounds", kept.entry.record_id) is None
    assert cleaner.store.get("disinfection_rounds", rid) is not None
    cleaner.store.discard_rejected(kept.entry.change_id)
    assert cleaner.engine.state().rejected == 0


def test_lost_push_reply_is_resent_whole_and_applied_once(client: TestClient, app: FastAPI) -> None:
    school = small_school(app)
    a = device(client, school.cleaners[0])
    for _ in range(3):
        a.store.edit("disinfection_rounds", new_id(), _round(school, a))
    a.engine.transport = LosesReplies(AppTransport(client), count=1, paths=("/api/v1/sync/push",))
    with pytest.raises(Offline):
        a.engine.sync()
    assert a.engine.state().pending == 3  # nothing was confirmed
    assert a.engine.state().last_error_code == "offline"
    report = a.engine.sync()
    assert report.pushed == 3 and a.engine.state().pending == 0
    with Session(app.state.engine) as session:
        by_device = session.exec(
            select(func.count())
            .select_from(ChangeLog)
            .where(ChangeLog.device_id == a.store.device_id)
        ).one()
    assert by_device == 3


def test_pull_cut_midway_resumes_from_the_last_page(client: TestClient, app: FastAPI) -> None:
    school = small_school(app, students_per_class=20)
    lead = device(client, school.lead, page_limit=5)
    lead.engine.transport = CutsAfter(AppTransport(client), calls=3)
    with pytest.raises(Offline):
        lead.engine.sync()
    got_so_far = len(lead.store.server_records())
    assert got_so_far == 15  # three whole pages, stored with their cursor
    lead.engine.transport = AppTransport(client)
    report = lead.engine.sync()
    assert report.pulled == 1 + 2 + 2 + 40 - 15  # the rest, nothing twice
    assert len(lead.store.server_records()) == 45


def test_backoff_grows_with_full_jitter(client: TestClient, app: FastAPI) -> None:
    school = small_school(app)
    a = device(client, school.cleaners[0])
    a.engine._rng = lambda: 1.0  # the ceiling of each draw
    assert [a.engine.backoff(n) for n in range(5)] == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert a.engine.backoff(20) == 300.0
    a.engine._rng = lambda: 0.25
    assert a.engine.backoff(3) == 2.0
    sleeps: list[float] = []
    a.engine.transport = CutsAfter(AppTransport(client), calls=0)
    with pytest.raises(Offline):
        a.engine.sync_with_retry(attempts=4, sleep=sleeps.append)
    assert sleeps == [0.25, 0.5, 1.0]
    a.engine.transport = AppTransport(client)
    assert a.engine.sync_with_retry(attempts=2, sleep=sleeps.append).pulled > 0


def test_disabled_account_wipes_the_device(client: TestClient, app: FastAPI) -> None:
    school = small_school(app)
    teacher = device(client, school.teachers[0])
    teacher.engine.sync()
    assert teacher.store.records("students")
    lead_headers = {"Authorization": f"Bearer {login(client, 'lead')['token']}"}
    client.patch(
        f"/api/v1/admin/users/{teacher.user_id}", headers=lead_headers, json={"active": False}
    )
    with pytest.raises(StoreWiped):
        teacher.engine.sync()
    assert teacher.store.records("students") == [] and teacher.store.cursor() is None


def test_expired_sign_in_keeps_the_data(client: TestClient, app: FastAPI) -> None:
    school = small_school(app)
    a = device(client, school.cleaners[0])
    a.store.edit("disinfection_rounds", new_id(), _round(school, a))
    a.engine.token = "no-longer-valid"
    with pytest.raises(SignInRequired):
        a.engine.sync()
    assert a.engine.state().pending == 1
    assert a.engine.state().last_error_code == "invalid_token"


def test_local_edits_are_checked_before_they_are_queued(client: TestClient, app: FastAPI) -> None:
    school = small_school(app)
    a = device(client, school.cleaners[0])
    with pytest.raises(InvalidValue):
        a.store.edit("disinfection_rounds", new_id(), {"note": "no area, no date"})
    with pytest.raises(UnknownField):
        a.store.edit("disinfection_rounds", new_id(), {"colour": "red"})
    assert a.engine.state().pending == 0
