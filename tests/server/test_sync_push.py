"""POST /api/v1/sync/push as a device sees it."""

import time
import uuid
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from server.models import ChangeLog, Record
from shared.hlc import Clock
from tests.sync_support import PUSH, Phone, School, new_id, small_school


def a_round(school: School, phone: Phone, **extra: Any) -> dict[str, Any]:
    return {
        "area_id": school.area_ids[0],
        "round_date": "2026-11-29",
        "cleaner_id": phone.user_id,
        "items.windows": {"done": True, "at": "2026-11-29T07:30:00+08:00", "note": ""},
        **extra,
    }


def test_applied_then_duplicate_and_nothing_twice(client: TestClient, app: FastAPI) -> None:
    school = small_school(app)
    phone = Phone(client, "cleaner1")
    change = phone.change("disinfection_rounds", new_id(), a_round(school, phone))
    [first] = phone.push(change)
    assert first["status"] == "applied" and first["seq"] > 0 and first["error"] is None
    # The response was lost; the phone sends the batch again, whole.
    [again] = phone.push(change)
    assert again == {**first, "status": "duplicate"}
    with Session(app.state.engine) as session:
        logged = session.exec(
            select(func.count())
            .select_from(ChangeLog)
            .where(ChangeLog.change_id == uuid.UUID(change["change_id"]))
        ).one()
    assert logged == 1


def test_one_bad_change_never_blocks_the_others(client: TestClient, app: FastAPI) -> None:
    school = small_school(app)
    phone = Phone(client, "cleaner1")
    good_1 = phone.change("disinfection_rounds", new_id(), a_round(school, phone))
    bad = phone.change("disinfection_rounds", new_id(), a_round(school, phone, note="x" * 501))
    good_2 = phone.change("disinfection_rounds", new_id(), a_round(school, phone))
    results = phone.push(good_1, bad, good_2)
    assert [r["status"] for r in results] == ["applied", "rejected", "applied"]
    assert results[1]["error"]["code"] == "invalid_value"
    assert results[1]["seq"] is None
    assert [r["change_id"] for r in results] == [c["change_id"] for c in (good_1, bad, good_2)]


def test_rejection_codes_in_the_protocol_order(client: TestClient, app: FastAPI) -> None:
    school = small_school(app)
    phone = Phone(client, "cleaner1")
    rid = new_id()
    far_future = f"{int(time.time() * 1000) + 25 * 3600 * 1000:013d}-000000-{phone.device_id}"
    near_future = f"{int(time.time() * 1000) + 23 * 3600 * 1000:013d}-000000-{phone.device_id}"
    cases = [
        # unknown collection beats everything else that is wrong with it
        (phone.change("gardens", rid, {"x": 1}, hlc="bad"), "unknown_collection"),
        # a cleaner may not write students, whatever the rest
        (phone.change("students", rid, {"nope": 1}, hlc="bad"), "forbidden"),
        (phone.change("disinfection_rounds", rid, {"nope": 1}, hlc="bad"), "invalid_hlc"),
        (
            phone.change("disinfection_rounds", rid, a_round(school, phone), hlc=far_future),
            "invalid_hlc",
        ),
        # another device's stamp
        (
            phone.change(
                "disinfection_rounds", rid, a_round(school, phone), hlc=Clock("someone-else").now()
            ),
            "invalid_hlc",
        ),
        (phone.change("disinfection_rounds", rid, {"nope": 1, "note": "x" * 999}), "unknown_field"),
        (
            phone.change("disinfection_rounds", rid, {"items.bad key": {"done": True}}),
            "unknown_field",
        ),
        (phone.change("disinfection_rounds", rid, {"note.sub": "x"}), "unknown_field"),
        (
            phone.change(
                "disinfection_rounds", rid, a_round(school, phone, round_date="2026-13-01")
            ),
            "invalid_value",
        ),
        # a new record must be whole
        (phone.change("disinfection_rounds", rid, {"note": "only a note"}), "invalid_value"),
        # references must exist
        (
            phone.change("disinfection_rounds", rid, a_round(school, phone, area_id=new_id())),
            "invalid_value",
        ),
        # a cleaner records their own rounds
        (
            phone.change(
                "disinfection_rounds",
                rid,
                a_round(school, phone, cleaner_id=str(school.cleaners[1].id)),
            ),
            "invalid_value",
        ),
        (phone.change("disinfection_rounds", rid, {}), "invalid_value"),
    ]
    results = phone.push(*(c for c, _ in cases))
    got = [(r["status"], r["error"]["code"] if r["error"] else None) for r in results]
    assert got == [("rejected", code) for _, code in cases]
    for result in results:
        assert result["error"]["message"]
    [ok] = phone.push(
        phone.change("disinfection_rounds", rid, a_round(school, phone), hlc=near_future)
    )
    assert ok["status"] == "applied"


def test_a_map_set_to_null_and_an_entry_in_one_change_is_no_server_error(
    client: TestClient, app: FastAPI
) -> None:
    """`items: null` beside `items.sills` in a new record: the entry makes `items` a map
    again (this was a TypeError, a 500). On an existing record the null is refused."""
    school = small_school(app)
    phone = Phone(client, "cleaner1")
    rid = new_id()
    entry = {"done": True, "at": "2026-11-29T07:30:00+08:00", "note": "窗台"}
    fields = {**a_round(school, phone), "items": None, "items.sills": entry}
    [new] = phone.push(phone.change("disinfection_rounds", rid, fields))
    [again] = phone.push(
        phone.change("disinfection_rounds", rid, {"items": None, "items.sills": entry})
    )
    assert (new["status"], again["status"]) == ("applied", "rejected")
    assert again["error"]["code"] == "invalid_value"
    with Session(app.state.engine) as session:
        record = session.get(Record, ("disinfection_rounds", uuid.UUID(rid)))
        assert record is not None
        assert record.fields["items"]["sills"]["note"] == "窗台"


def test_batch_limits(client: TestClient, app: FastAPI) -> None:
    school = small_school(app)
    phone = Phone(client, "cleaner1")
    changes = [
        phone.change("disinfection_rounds", new_id(), a_round(school, phone)) for _ in range(1001)
    ]
    response = client.post(
        PUSH, headers=phone.headers, json={"device_id": phone.device_id, "changes": changes}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "batch_too_large"
    assert len(phone.push(*changes[:1000])) == 1000


def test_a_token_pushes_only_for_its_own_device(client: TestClient, app: FastAPI) -> None:
    small_school(app)
    phone = Phone(client, "cleaner1")
    response = client.post(
        PUSH, headers=phone.headers, json={"device_id": "not-my-phone", "changes": []}
    )
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    response = client.post(PUSH, json={"device_id": phone.device_id, "changes": []})
    assert response.status_code == 401


def test_conflict_is_reported_kept_and_settled(client: TestClient, app: FastAPI) -> None:
    school = small_school(app)
    a, b = Phone(client, "cleaner1"), Phone(client, "cleaner2")
    rid = new_id()
    [created] = a.push(a.change("disinfection_rounds", rid, a_round(school, a)))
    b.pull_all()
    base = created["seq"]
    [first] = a.push(a.change("disinfection_rounds", rid, {"note": "A: 消毒液不够"}, base_seq=base))
    [second] = b.push(b.change("disinfection_rounds", rid, {"note": "B: 已补充"}, base_seq=base))
    assert first["status"] == "applied" and second["status"] == "conflict"
    changes, _ = a.pull_all()
    record = next(c for c in changes if c["record_id"] == rid)
    assert record["fields"]["note"] == "B: 已补充"
    [conflict] = [c for c in changes if c["collection"] == "conflicts"]
    fields = conflict["fields"]
    assert fields["collection"] == "disinfection_rounds" and fields["record_id"] == rid
    assert fields["field"] == "note"
    assert fields["loser"]["value"] == "A: 消毒液不够" and fields["loser"]["device"] == a.device_id
    assert fields["winner"]["author"] == b.user_id
    assert fields["settled_by"] is None
    # Settling is an ordinary change by someone who can read the record.
    [settled] = a.push(
        a.change(
            "conflicts", conflict["record_id"], {"settled_by": a.user_id}, base_seq=conflict["seq"]
        )
    )
    assert settled["status"] == "applied"
    changes, _ = b.pull_all()
    assert [c["fields"]["settled_by"] for c in changes if c["collection"] == "conflicts"] == [
        a.user_id
    ]
    # Nobody else's name, no other field, no deleting.
    refusals = a.push(
        a.change("conflicts", conflict["record_id"], {"settled_by": b.user_id}),
        a.change("conflicts", conflict["record_id"], {"field": "x"}),
        a.change("conflicts", conflict["record_id"], {}, deleted=True),
        a.change("conflicts", new_id(), {"settled_by": a.user_id}),
    )
    assert [r["error"]["code"] for r in refusals] == [
        "invalid_value",
        "forbidden",
        "forbidden",
        "forbidden",
    ]


def test_delete_is_a_tombstone_in_store_and_log(client: TestClient, app: FastAPI) -> None:
    school = small_school(app)
    a, b = Phone(client, "cleaner1"), Phone(client, "cleaner2")
    rid = new_id()
    [created] = a.push(a.change("disinfection_rounds", rid, a_round(school, a)))
    [gone] = a.push(a.change("disinfection_rounds", rid, {}, deleted=True, base_seq=created["seq"]))
    assert gone["status"] == "applied"
    changes, _ = b.pull_all()
    [record] = [c for c in changes if c["record_id"] == rid]
    assert record["deleted"] is True and record["seq"] == gone["seq"]
    with Session(app.state.engine) as session:
        stored = session.get(Record, ("disinfection_rounds", uuid.UUID(rid)))
        assert stored is not None and stored.deleted and stored.fields["area_id"]
        log = session.exec(select(ChangeLog).where(ChangeLog.record_id == uuid.UUID(rid))).all()
        assert [c.deleted for c in log] == [False, True]


def test_the_lead_may_push_setup_and_rounds(client: TestClient, app: FastAPI) -> None:
    school = small_school(app)
    lead = Phone(client, "lead")
    results = lead.push(
        lead.change(
            "areas",
            new_id(),
            {
                "name": "快递收发点",
                "kind": "parcel_point",
                "frequency_days": 1,
                "checklist_template_id": school.template_id,
            },
        ),
        lead.change(
            "disinfection_rounds",
            new_id(),
            {
                "area_id": school.area_ids[1],
                "round_date": "2026-11-29",
                "cleaner_id": str(school.cleaners[0].id),
            },
        ),
        lead.change("sick_cases", new_id(), {"student_id": new_id()}),
    )
    assert [r["status"] for r in results] == ["applied", "applied", "rejected"]
    assert results[2]["error"]["code"] == "forbidden"


def test_a_batch_of_whole_new_records_is_checked_change_by_change(
    client: TestClient, app: FastAPI
) -> None:
    """New records with whole maps (what the app sends) are validated ahead of the batch;
    each still gets the code of the first check it fails, and a record the batch created
    is an existing record to the changes after it."""
    school = small_school(app)
    phone = Phone(client, "cleaner1")
    whole = {
        "area_id": school.area_ids[0],
        "round_date": "2026-11-29",
        "cleaner_id": phone.user_id,
        "items": {"windows": {"done": True, "at": "2026-11-29T07:30:00+08:00", "note": " 擦 "}},
    }
    made, twice = new_id(), new_id()
    cases = [
        (phone.change("disinfection_rounds", made, whole), "applied", None),
        (
            phone.change("disinfection_rounds", new_id(), {**whole, "nope": 1}),
            "rejected",
            "unknown_field",
        ),
        (
            phone.change("disinfection_rounds", new_id(), {**whole, "round_date": "2026-13-01"}),
            "rejected",
            "invalid_value",
        ),
        (
            phone.change("disinfection_rounds", new_id(), {**whole, "area_id": new_id()}),
            "rejected",
            "invalid_value",
        ),
        (
            phone.change("students", new_id(), {"name": "李雷", "class_id": new_id()}),
            "rejected",
            "forbidden",
        ),
        (phone.change("disinfection_rounds", twice, whole), "applied", None),
        # the same record again, now an edit of what the change before created
        (phone.change("disinfection_rounds", twice, {"note": "第二次"}), "applied", None),
    ]
    results = phone.push(*(c for c, _, _ in cases))
    got = [(r["status"], r["error"]["code"] if r["error"] else None) for r in results]
    assert got == [(status, code) for _, status, code in cases]
    with Session(app.state.engine) as session:
        first = session.get(Record, ("disinfection_rounds", uuid.UUID(made)))
        second = session.get(Record, ("disinfection_rounds", uuid.UUID(twice)))
    assert first is not None and second is not None
    # Stored whole, normalized, with the defaults filled in.
    assert first.fields["items"]["windows"]["note"] == "擦"
    assert first.fields["note"] == "" and first.fields["completed_at"] is None
    assert second.fields["note"] == "第二次" and second.fields["items"] == first.fields["items"]


def test_the_log_keeps_a_new_records_values_as_validated_whatever_the_record_became(
    client: TestClient, app: FastAPI
) -> None:
    school = small_school(app)
    phone = Phone(client, "cleaner1")
    item = {"done": True, "at": "2026-11-29T07:30:00+08:00", "note": " 擦了 "}
    base = {k: v for k, v in a_round(school, phone).items() if k != "items.windows"}
    whole, entry, empty = new_id(), new_id(), new_id()
    results = phone.push(
        phone.change("disinfection_rounds", whole, {**base, "items": {"windows": item}}),
        phone.change("disinfection_rounds", entry, {**base, "items.windows": item}),
        phone.change("disinfection_rounds", empty, {**base, "items": {}}),
    )
    assert [r["status"] for r in results] == ["applied"] * 3
    kept = {**item, "note": "擦了", "dosage": None, "reading": None, "skipped": None}
    with Session(app.state.engine) as session:
        logs = {
            str(c.record_id): c.fields
            for c in session.exec(
                select(ChangeLog).where(ChangeLog.collection == "disinfection_rounds")
            )
        }
        stored = {rid: session.get(Record, ("disinfection_rounds", uuid.UUID(rid))) for rid in logs}
        records = {rid: record.fields for rid, record in stored.items() if record is not None}
    # A whole new record: the log's values are the record's, in the same order.
    assert list(logs[whole].items()) == list(records[whole].items())
    assert records[whole]["items"] == {"windows": kept} and records[whole]["note"] == ""
    # A new record named by an entry is validated (and logged) whole, its map folded.
    assert list(logs[entry].items()) == list(records[entry].items())
    assert records[entry]["items"] == {"windows": kept}
    # An empty map is logged as sent and validated; the record has no entry to keep.
    assert logs[empty]["items"] == {} and "items" not in records[empty]
