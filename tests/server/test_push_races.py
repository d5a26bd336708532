"""A push checks and merges its batch before it takes the change-number lock: what another
push commits in between must be taken into account, never written over.

Each test makes the race happen at the worst moment: a hook runs another device's push
(or the lead's, or the same batch again) after the batch was planned and before it is
written. Every test runs on SQLite and PostgreSQL; `ATTEMPTS = 0` also runs the
PostgreSQL push through its fallback, the lock taken first, and `COPY_FROM_ROWS = 0` sends
even a small plan's rows to PostgreSQL by COPY.
"""

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, select

from server.models import ChangeLog, Record
from server.records import statements
from server.sync import push as pushing
from tests.server.test_sync_push import a_round
from tests.sync_support import Phone, School, new_id, small_school


@pytest.fixture(params=["optimistic", "lock first", "optimistic, COPY", "lock first, COPY"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param.startswith("lock first"):
        monkeypatch.setattr(pushing, "ATTEMPTS", 0)
    if request.param.endswith("COPY"):  # PostgreSQL: even a small plan's rows by COPY
        monkeypatch.setattr(statements, "COPY_FROM_ROWS", 0)
    return str(request.param)


Race = Callable[[Callable[[], Any]], None]


@pytest.fixture
def race(monkeypatch: pytest.MonkeyPatch) -> Iterator[Race]:
    """`race(fn)`: the next push runs `fn` after planning its batch, before writing it."""
    pending: list[Callable[[], Any]] = []
    plan = pushing._plan

    def planned_then_raced(*args: Any) -> Any:
        results = plan(*args)
        while pending:
            pending.pop()()  # the racing push plans too, without a race of its own
        return results

    monkeypatch.setattr(pushing, "_plan", planned_then_raced)
    yield pending.append
    assert not pending, "the race never ran"


def stored(app: FastAPI, collection: str, record_id: str) -> Record:
    with Session(app.state.engine) as session:
        record = session.get(Record, (collection, uuid.UUID(record_id)))
        assert record is not None
        return record


def counter(app: FastAPI) -> int:
    with Session(app.state.engine) as session:
        return int(session.execute(text("SELECT last_seq FROM seq_counter")).scalar_one())


def log_of(app: FastAPI) -> list[ChangeLog]:
    with Session(app.state.engine) as session:
        return list(session.exec(select(ChangeLog).order_by(ChangeLog.seq)))


def shared_round(client: TestClient, app: FastAPI) -> tuple[School, Phone, Phone, str, int]:
    school = small_school(app)
    a, b = Phone(client, "cleaner1"), Phone(client, "cleaner2")
    rid = new_id()
    [created] = a.push(a.change("disinfection_rounds", rid, a_round(school, a)))
    return school, a, b, rid, created["seq"]


def test_an_edit_committed_meanwhile_is_merged_and_kept_as_a_conflict(
    client: TestClient, app: FastAPI, race: Race, path: str
) -> None:
    _, a, b, rid, base = shared_round(client, app)
    b_edit = b.change("disinfection_rounds", rid, {"note": "B: 已补充"}, base_seq=base)
    a_edit = a.change("disinfection_rounds", rid, {"note": "A: 消毒液不够"}, base_seq=base)
    a.clock.observe(b_edit["hlc"])
    a_edit["hlc"] = a.clock.now()  # A's edit is the newer one: it wins the register
    raced: list[dict[str, Any]] = []
    race(lambda: raced.extend(b.push(b_edit)))
    [result] = a.push(a_edit)
    # B's edit committed while A's batch was being planned from the older record: A's
    # write must see it, win by clock, and keep B's value as a conflict.
    assert raced[0]["status"] == "applied", raced
    assert result["status"] == "conflict" and result["seq"] > raced[0]["seq"]
    record = stored(app, "disinfection_rounds", rid)
    assert record.fields["note"] == "A: 消毒液不够"
    assert record.field_meta["note"]["seq"] == result["seq"]
    changes, _ = a.pull_all()
    [conflict] = [c for c in changes if c["collection"] == "conflicts"]
    assert conflict["fields"]["loser"]["value"] == "B: 已补充"
    assert conflict["fields"]["winner"]["value"] == "A: 消毒液不够"
    assert counter(app) == max(c.seq for c in log_of(app))


def test_a_record_deleted_meanwhile_is_no_longer_referenced(
    client: TestClient, app: FastAPI, race: Race, path: str
) -> None:
    school = small_school(app)
    cleaner, lead = Phone(client, "cleaner1"), Phone(client, "lead")
    area_id = school.area_ids[0]
    area_seq = stored(app, "areas", area_id).seq
    # The area exists when the cleaner's batch is checked, and is gone when it is written.
    race(lambda: lead.push(lead.change("areas", area_id, {}, deleted=True, base_seq=area_seq)))
    rid = new_id()
    ok_rid = new_id()
    results = cleaner.push(
        cleaner.change("disinfection_rounds", rid, a_round(school, cleaner)),
        cleaner.change(
            "disinfection_rounds", ok_rid, a_round(school, cleaner, area_id=school.area_ids[1])
        ),
    )
    assert [r["status"] for r in results] == ["rejected", "applied"]
    assert results[0]["error"]["code"] == "invalid_value"
    assert "areas" in results[0]["error"]["message"]
    with Session(app.state.engine) as session:
        assert session.get(Record, ("disinfection_rounds", uuid.UUID(rid))) is None
    assert stored(app, "disinfection_rounds", ok_rid).seq == results[1]["seq"]
    assert counter(app) == max(c.seq for c in log_of(app))


def test_the_same_batch_applied_meanwhile_by_a_retry_is_a_duplicate(
    client: TestClient, app: FastAPI, race: Race, path: str
) -> None:
    school = small_school(app)
    phone = Phone(client, "cleaner1")
    batch = [
        phone.change("disinfection_rounds", new_id(), a_round(school, phone)) for _ in range(3)
    ]
    retried: list[dict[str, Any]] = []
    race(lambda: retried.extend(phone.push(*batch)))
    first = phone.push(*batch)
    assert [r["status"] for r in retried] == ["applied"] * 3
    assert [r["status"] for r in first] == ["duplicate"] * 3
    assert [r["seq"] for r in first] == [r["seq"] for r in retried]
    ids = [c.change_id for c in log_of(app)]
    assert len(ids) == len(set(ids))
    assert {str(c["change_id"]) for c in batch} <= {str(i) for i in ids}


def test_an_unrelated_push_meanwhile_only_moves_the_numbers_up(
    client: TestClient, app: FastAPI, race: Race, path: str
) -> None:
    school = small_school(app)
    a, b = Phone(client, "cleaner1"), Phone(client, "cleaner2")
    theirs: list[dict[str, Any]] = []
    race(
        lambda: theirs.extend(
            b.push(
                *(b.change("disinfection_rounds", new_id(), a_round(school, b)) for _ in range(4))
            )
        )
    )
    rids = [new_id() for _ in range(3)]
    mine = a.push(*(a.change("disinfection_rounds", rid, a_round(school, a)) for rid in rids))
    assert [r["status"] for r in mine] == ["applied"] * 3
    # Numbered after what committed first, in commit order, with no gap.
    their_seqs = [r["seq"] for r in theirs]
    my_seqs = [r["seq"] for r in mine]
    assert my_seqs == list(range(max(their_seqs) + 1, max(their_seqs) + 4))
    log = log_of(app)
    assert [c.seq for c in log] == list(range(log[0].seq, log[-1].seq + 1))
    assert counter(app) == log[-1].seq
    for rid, seq in zip(rids, my_seqs, strict=True):
        record = stored(app, "disinfection_rounds", rid)
        assert record.seq == seq
        # Every register the change wrote names the change's number.
        assert {meta["seq"] for meta in record.field_meta.values()} == {seq}
    by_seq = {c.seq: c for c in log}
    assert [str(by_seq[s].record_id) for s in my_seqs] == rids


def test_a_class_handed_over_meanwhile_is_checked_again(
    client: TestClient, app: FastAPI, race: Race, path: str
) -> None:
    school = small_school(app)
    teacher, lead = Phone(client, "teacher1"), Phone(client, "lead")
    class_id = school.class_ids[0]
    case_id = new_id()
    [case] = teacher.push(
        teacher.change(
            "sick_cases",
            case_id,
            {
                "student_id": school.student_ids[class_id][0],
                "class_id": class_id,
                "onset_date": "2026-11-29",
                "symptoms": "发热",
            },
        )
    )
    assert case["status"] == "applied"
    class_seq = stored(app, "classes", class_id).seq
    # The class is given to teacher2 after teacher1's edit was checked (an edit that reads
    # nothing of the class itself: only which classes are teacher1's).
    race(
        lambda: lead.push(
            lead.change(
                "classes",
                class_id,
                {"teacher_ids": [str(school.teachers[1].id)]},
                base_seq=class_seq,
            )
        )
    )
    [result] = teacher.push(
        teacher.change("sick_cases", case_id, {"symptoms": "发热, 咳嗽"}, base_seq=case["seq"])
    )
    assert result["status"] == "rejected" and result["error"]["code"] == "forbidden"
    assert stored(app, "sick_cases", case_id).fields["symptoms"] == "发热"


def test_rows_written_by_a_push_are_stored_as_sqlalchemy_stores_them(
    client: TestClient, app: FastAPI, backend: str
) -> None:
    """The push writes rows without the ORM; what it stores must be what the ORM would."""
    school = small_school(app)
    phone = Phone(client, "cleaner1")
    rid = new_id()
    [result] = phone.push(phone.change("disinfection_rounds", rid, a_round(school, phone)))
    engine = app.state.engine
    with Session(engine) as session:
        record = session.get(Record, ("disinfection_rounds", uuid.UUID(rid)))
        [logged] = session.exec(select(ChangeLog).where(ChangeLog.seq == result["seq"])).all()
        assert record is not None
        for table, obj, where in (
            (Record.__table__, record, f"seq = {record.seq}"),  # type: ignore[attr-defined]
            (ChangeLog.__table__, logged, f"seq = {logged.seq}"),  # type: ignore[attr-defined]
        ):
            raw = session.execute(text(f"SELECT * FROM {table.name} WHERE {where}")).one()  # noqa: S608
            for column in table.columns:
                value = getattr(obj, column.name)
                process = column.type.dialect_impl(engine.dialect).bind_processor(engine.dialect)
                expected = process(value) if process is not None and value is not None else value
                stored = raw._mapping[column.name]
                if backend == "sqlite":
                    assert stored == expected, (table.name, column.name)
                else:  # the driver decodes PostgreSQL's own types
                    assert stored in (value, expected), (table.name, column.name)
