"""Pull pages over several buckets: every record once, in change order, values as stored."""

import uuid
from datetime import UTC, datetime

import orjson
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from server.models import Record
from tests.sync_support import PULL, Phone, new_id, small_school


def pull_pages(phone: Phone, limit: int) -> list[list[dict]]:
    pages: list[list[dict]] = []
    cursor = None
    while True:
        response = phone.client.post(
            PULL,
            headers=phone.headers,
            json={"device_id": phone.device_id, "cursor": cursor, "limit": limit},
        )
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page["changes"])
        cursor = page["cursor"]
        if not page["has_more"]:
            return pages


def test_a_cleaners_two_buckets_come_interleaved_in_seq_order(
    client: TestClient, app: FastAPI
) -> None:
    school = small_school(app)
    lead, cleaner = Phone(client, "lead"), Phone(client, "cleaner1")
    # Rounds (bucket "disinfection") and area edits (bucket "school") take turns in the log.
    sent: dict[str, dict] = {}
    for index in range(12):
        round_id = new_id()
        fields = {
            "area_id": school.area_ids[index % len(school.area_ids)],
            "round_date": "2026-11-29",
            "cleaner_id": cleaner.user_id,
            "items": {f"item_{index}": {"done": True, "at": "2026-11-29T08:15:30Z", "note": "擦"}},
        }
        (result,) = cleaner.push(cleaner.change("disinfection_rounds", round_id, fields))
        assert result["status"] == "applied"
        sent[round_id] = fields
        area = school.area_ids[index % len(school.area_ids)]
        lead.push(lead.change("areas", area, {"name": f"教室 {index}"}))

    whole = [c for page in pull_pages(cleaner, 5000) for c in page]
    for limit in (1, 3, 7):
        pages = pull_pages(cleaner, limit)
        assert max(len(p) for p in pages) <= limit
        flat = [c for page in pages for c in page]
        seqs = [c["seq"] for c in flat]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        assert {(c["collection"], c["record_id"]) for c in flat} == {
            (c["collection"], c["record_id"]) for c in whole
        }
    rounds = {c["record_id"]: c for c in whole if c["collection"] == "disinfection_rounds"}
    assert set(rounds) == set(sent)
    for round_id, fields in sent.items():
        got = rounds[round_id]
        assert got["fields"]["area_id"] == fields["area_id"]
        (item,) = fields["items"]
        assert got["fields"]["items"][item]["note"] == "擦"
        assert f"items.{item}" in got["field_hlc"]
    areas = {c["record_id"]: c for c in whole if c["collection"] == "areas"}
    assert {a["fields"]["name"] for a in areas.values()} == {"教室 10", "教室 11"}


def test_a_pull_reads_only_the_moves_out_of_its_own_buckets(app: FastAPI) -> None:
    # Moves out of other classes are never read (not even to be dropped); those out of a
    # bucket the user reads, or a prefix of them, are, in seq order.
    import uuid

    from sqlmodel import Session

    from server.models import Move
    from server.sync import pull, scopes
    from shared.schemas.vocabulary import Role

    mine, other = f"class:{new_id()}", f"class:{new_id()}"
    with Session(app.state.engine) as session:
        for seq, bucket in ((3, other), (5, mine), (7, other), (9, "school"), (11, mine)):
            session.add(
                Move(
                    seq=seq,
                    collection="students",
                    record_id=uuid.uuid4(),
                    from_bucket=bucket,
                    scope_collection="students",
                )
            )
        session.commit()
        teacher = scopes.subscriptions(Role.CLASS_TEACHER, uuid.uuid4(), [mine.split(":")[1]])
        found = session.exec(pull._moves_query(teacher, 4, 11)).all()
        assert [(m.seq, m.from_bucket) for m in found] == [(5, mine), (9, "school"), (11, mine)]
        counselor = scopes.subscriptions(Role.COUNSELOR, uuid.uuid4(), [])
        found = session.exec(pull._moves_query(counselor, 0, 100)).all()
        assert [m.seq for m in found] == [3, 5, 7, 9, 11]  # students of every class
        cleaner = scopes.subscriptions(Role.CLEANER, uuid.uuid4(), [])
        assert [m.seq for m in session.exec(pull._moves_query(cleaner, 0, 100))] == [9]


def test_ids_and_times_go_out_as_the_records_hold_them(client: TestClient, app: FastAPI) -> None:
    """A page reads ids and times as text (no UUID or datetime per record): the same
    values, written the same way, as the records hold them (a time whose fraction of a
    second is zero included, which orjson writes without one)."""
    school = small_school(app)
    lead = Phone(client, "lead")
    area = school.area_ids[0]
    lead.push(lead.change("areas", area, {"name": "整秒的教室"}))
    with Session(app.state.engine) as session:
        record = session.get(Record, ("areas", uuid.UUID(area)))
        assert record is not None
        record.updated_at = datetime(2026, 11, 29, 8, 15, 30, tzinfo=UTC)
        session.add(record)
        session.commit()
        held = {(r.collection, str(r.record_id)): r for r in session.exec(select(Record))}
    pulled = [c for page in pull_pages(lead, 5000) for c in page]
    assert any(c["updated_at"] == "2026-11-29T08:15:30+00:00" for c in pulled)
    for change in pulled:
        record = held[(change["collection"], change["record_id"])]
        assert change["record_id"] == str(record.record_id)
        assert change["updated_by"] == (str(record.updated_by) if record.updated_by else None)
        assert change["updated_at"] == orjson.loads(orjson.dumps(record.updated_at))
