"""Closed cases leave the phones after the school's period, with their follow-ups and
interventions, through `removed`; the server keeps them (and forgets them only when told)."""

import uuid
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from server import retention
from server.models import ChangeLog, Record
from tests.factories import auth, login
from tests.sync_support import Phone, School, device, new_id, small_school

NOW = datetime.now(UTC)


def stamp(phone: Phone, days_ago: float) -> str:
    """A clock reading of `phone` `days_ago` days back (a case closed then)."""
    ms = int((NOW - timedelta(days=days_ago)).timestamp() * 1000)
    return f"{ms:013d}-000000-{phone.device_id}"


def ids(items: list[dict]) -> set[str]:
    return {str(i["record_id"]) for i in items}


def sick_case_changes(school: School, teacher: Phone) -> tuple[str, str, list[dict]]:
    """A new sick case with a follow-up (made 100 days ago), as the phone sends them."""
    class_id = school.class_ids[0]
    case_id, follow_up_id = new_id(), new_id()
    opened = {
        "student_id": school.student_ids[class_id][0],
        "class_id": class_id,
        "onset_date": "2026-09-01",
        "symptoms": "发热",
    }
    changes = [
        teacher.change("sick_cases", case_id, opened, hlc=stamp(teacher, 100)),
        teacher.change(
            "follow_ups",
            follow_up_id,
            {"case_id": case_id, "visit_date": "2026-09-02", "method": "phone", "note": "好转"},
            hlc=stamp(teacher, 99),
        ),
    ]
    return case_id, follow_up_id, changes


def sick_case_closed(school: School, teacher: Phone, days_ago: float | None) -> tuple[str, str]:
    """A sick case with a follow-up, closed `days_ago` days ago (None: still open)."""
    case_id, follow_up_id, changes = sick_case_changes(school, teacher)
    assert [r["status"] for r in teacher.push(*changes)] == ["applied", "applied"]
    if days_ago is not None:
        closing = {
            "status": "closed",
            "returned_on": "2026-09-05",
            "clearance_waived": "校医已确认",
        }
        [closed] = teacher.push(
            teacher.change("sick_cases", case_id, closing, hlc=stamp(teacher, days_ago))
        )
        assert closed["status"] == "applied", closed
    return case_id, follow_up_id


def counseling_closed(school: School, counselor: Phone, days_ago: float) -> tuple[str, str]:
    case_id, intervention_id = new_id(), new_id()
    student = school.student_ids[school.class_ids[1]][0]
    results = counselor.push(
        counselor.change(
            "counseling_cases",
            case_id,
            {"student_id": student, "risk_level": "medium", "note": "考试焦虑"},
            hlc=stamp(counselor, 120),
        ),
        counselor.change(
            "interventions",
            intervention_id,
            {"case_id": case_id, "held_on": "2026-08-01", "kind": "individual_talk"},
            hlc=stamp(counselor, 119),
        ),
        counselor.change(
            "counseling_cases",
            case_id,
            {"status": "closed", "outcome": "好转"},
            hlc=stamp(counselor, days_ago),
        ),
    )
    assert [r["status"] for r in results] == ["applied"] * 3
    return case_id, intervention_id


def sweep(app: FastAPI, days_later: float, keep_days: int | None = None) -> retention.Swept:
    """The server's sweep as it will run `days_later` days from now."""
    with Session(app.state.engine) as session:
        now = NOW + timedelta(days=days_later)
        return retention.sweep(session, app.state.clock, keep_days, now)


def bucket_of(app: FastAPI, collection: str, record_id: str) -> str | None:
    with Session(app.state.engine) as session:
        record = session.get(Record, (collection, uuid.UUID(record_id)))
        return record.bucket if record is not None else None


def test_closed_cases_leave_every_phone_after_30_days_and_stay_on_the_server(
    client: TestClient, app: FastAPI
) -> None:
    school = small_school(app)
    teacher, counselor = Phone(client, "teacher1"), Phone(client, "counselor1")
    lead = Phone(client, "lead")
    old_case, old_follow_up = sick_case_closed(school, teacher, days_ago=10)
    recent_case, _ = sick_case_closed(school, teacher, days_ago=1)
    open_case, _ = sick_case_closed(school, teacher, days_ago=None)
    old_counseling, old_intervention = counseling_closed(school, counselor, days_ago=6)
    # The counselor opened the case: the audit entry names it, and is kept.
    view_id = new_id()
    counselor.push(
        counselor.change(
            "case_views",
            view_id,
            {
                "case_id": old_counseling,
                "viewed_at": NOW.isoformat(),
                "viewer_id": counselor.user_id,
                "device_id": counselor.device_id,
            },
        )
    )
    for phone in (teacher, counselor, lead):
        phone.pull_all()

    assert sweep(app, days_later=0).archived == 0  # all closed within 30 days
    # 25 days on, the sick case was closed 35 days ago, the counseling case 31.
    assert sweep(app, days_later=25).archived == 2

    _, removed = teacher.pull_all()
    assert ids(removed) == {old_case, old_follow_up}
    _, removed = counselor.pull_all()
    assert ids(removed) == {old_counseling, old_intervention}
    _, removed = lead.pull_all()
    assert ids(removed) == {old_case, old_follow_up, old_counseling, old_intervention}

    # A phone signing in now never receives them; the recent and open ones it does.
    got, _ = Phone(client, "lead").pull_all()
    received = ids(got)
    assert {recent_case, open_case, view_id} <= received
    assert not {old_case, old_follow_up, old_counseling, old_intervention} & received

    # The server keeps them, and keeps counting them.
    assert bucket_of(app, "sick_cases", old_case) == f"archive:class:{school.class_ids[0]}"
    assert bucket_of(app, "interventions", old_intervention) == "archive:counseling"
    assert bucket_of(app, "case_views", view_id) == "counseling"
    headers = auth(login(client, "lead")["token"])
    report = client.get(
        "/api/v1/reports/follow-ups",
        params={"start": "2026-09-01", "end": "2026-09-05"},
        headers=headers,
    )
    assert report.status_code == 200, report.text
    by_class = {row["class_id"]: row for row in report.json()["classes"]}
    assert by_class[school.class_ids[0]]["cases"] == 3  # the archived case counted

    # Sweeping again moves nothing: nothing is due that was not moved.
    assert sweep(app, days_later=25).archived == 0
    assert teacher.pull_all() == ([], [])


def test_the_leads_period_and_a_device_store(client: TestClient, app: FastAPI) -> None:
    school = small_school(app)
    teacher = Phone(client, "teacher1")
    case_id, follow_up_id = sick_case_closed(school, teacher, days_ago=10)
    # Closed offline 40 days ago and pushed only now: it leaves the phones at once.
    late_case, _ = sick_case_closed(school, teacher, days_ago=40)
    assert bucket_of(app, "sick_cases", late_case) == f"archive:class:{school.class_ids[0]}"
    phone = device(client, school.teachers[0])
    phone.engine.sync()
    assert phone.store.get("sick_cases", case_id) is not None
    assert phone.store.get("sick_cases", late_case) is None

    assert sweep(app, days_later=0).archived == 0  # 10 days: inside the default 30
    lead = auth(login(client, "lead")["token"])
    response = client.patch(
        "/api/v1/admin/settings",
        headers=lead,
        json={"closed_cases_on_phones_days": 7},
    )
    assert response.status_code == 200, response.text
    assert sweep(app, days_later=0).archived == 1

    phone.engine.sync()
    assert phone.store.get("sick_cases", case_id) is None
    assert phone.store.get("follow_ups", follow_up_id) is None


def test_reopened_comes_back_and_an_offline_edit_is_kept_then_removed(
    client: TestClient, app: FastAPI
) -> None:
    school = small_school(app)
    teacher = Phone(client, "teacher1")
    case_id, follow_up_id = sick_case_closed(school, teacher, days_ago=20)
    teacher.pull_all()
    assert sweep(app, days_later=11).archived == 1
    _, removed = teacher.pull_all()
    assert ids(removed) == {case_id, follow_up_id}

    # A follow-up written offline, before the phone heard: kept on the server, archived
    # with its case, and removed from the phone again.
    late = teacher.change(
        "follow_ups",
        new_id(),
        {"case_id": case_id, "visit_date": "2026-09-04", "method": "home_visit"},
        hlc=stamp(teacher, 19),
    )
    [result] = teacher.push(late)
    assert result["status"] == "applied", result
    assert bucket_of(app, "follow_ups", late["record_id"]) == f"archive:class:{school.class_ids[0]}"
    _, removed = teacher.pull_all()
    assert ids(removed) == {late["record_id"]}

    # Reopened (the student fell ill again): the case comes back with all its follow-ups.
    [reopened] = teacher.push(teacher.change("sick_cases", case_id, {"status": "open"}))
    assert reopened["status"] == "applied", reopened
    got, removed = teacher.pull_all()
    assert ids(got) >= {case_id, follow_up_id, late["record_id"]}
    assert removed == []
    assert bucket_of(app, "sick_cases", case_id) == f"class:{school.class_ids[0]}"


def test_the_server_forgets_only_when_told(client: TestClient, app: FastAPI) -> None:
    school = small_school(app)
    teacher = Phone(client, "teacher1")
    very_old, very_old_follow_up = sick_case_closed(school, teacher, days_ago=20)
    old, _ = sick_case_closed(school, teacher, days_ago=5)

    assert sweep(app, days_later=50).archived == 2
    assert bucket_of(app, "sick_cases", very_old) is not None  # kept: no keep period set

    # 70 days on, one was closed 90 days ago, the other 75.
    done = sweep(app, days_later=70, keep_days=80)
    assert (done.archived, done.purged, done.purged_records) == (0, 1, 2)
    assert bucket_of(app, "sick_cases", very_old) is None
    assert bucket_of(app, "follow_ups", very_old_follow_up) is None
    assert bucket_of(app, "sick_cases", old) is not None
    with Session(app.state.engine) as session:
        history = session.exec(
            select(ChangeLog).where(
                col(ChangeLog.record_id).in_([uuid.UUID(very_old), uuid.UUID(very_old_follow_up)])
            )
        ).all()
    assert history == []  # their write history goes with them


def test_a_phone_offline_through_the_purge_drops_the_case_and_cannot_bring_it_back(
    client: TestClient, app: FastAPI
) -> None:
    school = small_school(app)
    teacher = Phone(client, "teacher1")
    case_id, follow_up_id = sick_case_closed(school, teacher, days_ago=20)
    got, _ = teacher.pull_all()  # the phone holds the case, then stays offline for months
    assert {case_id, follow_up_id} <= ids(got)
    # 50 days on, one sweep moves the case off the phones and forgets it (closed 70 days
    # before, kept 60): the phone was offline all along.
    done = sweep(app, days_later=50, keep_days=60)
    assert (done.archived, done.purged) == (1, 1)
    assert bucket_of(app, "sick_cases", case_id) is None

    # Edits made offline before the phone heard: a reopening, an edit of the follow-up,
    # and a new follow-up of the case. Each is refused with its reason; none is a 500,
    # and none makes a half record of what the school chose to forget.
    seen = {r["record_id"]: r["seq"] for r in got}

    def offline(collection: str, record_id: str, fields: dict, **kw: object) -> dict:
        return teacher.change(collection, record_id, fields, hlc=stamp(teacher, 1), **kw)

    results = teacher.push(
        offline("sick_cases", case_id, {"status": "open"}, base_seq=seen[case_id]),
        offline("follow_ups", follow_up_id, {"note": "又发热"}, base_seq=seen[follow_up_id]),
        offline(
            "follow_ups",
            new_id(),
            {"case_id": case_id, "visit_date": "2026-09-04", "method": "home_visit"},
        ),
    )
    assert [r["status"] for r in results] == ["rejected"] * 3, results
    codes = [r["error"]["code"] for r in results]
    assert codes == ["record_removed", "record_removed", "invalid_value"], results
    assert "no sick_cases record" in results[2]["error"]["message"]  # the phone: "gone"
    # Without what the phone had seen too: the server knows the record was purged.
    [partial] = teacher.push(offline("sick_cases", case_id, {"status": "open"}))
    assert partial["error"]["code"] == "record_removed", partial
    assert bucket_of(app, "sick_cases", case_id) is None
    assert bucket_of(app, "follow_ups", follow_up_id) is None

    # Its next pull tells it to drop what the school no longer keeps.
    got, removed = teacher.pull_all()
    assert ids(removed) == {case_id, follow_up_id}
    assert not {case_id, follow_up_id} & ids(got)


def test_a_creation_sent_again_after_the_purge_does_not_make_the_case_again(
    client: TestClient, app: FastAPI
) -> None:
    """The phone that opened the case never heard back (its reply was lost) and was away
    through the whole keep period: it sends the same creation again. Its change history went
    with the case, so the server cannot know it as a duplicate; it knows the id was purged."""
    school = small_school(app)
    teacher = Phone(client, "teacher1")
    case_id, follow_up_id, creation = sick_case_changes(school, teacher)
    assert [r["status"] for r in teacher.push(*creation)] == ["applied", "applied"]
    # The phone did not hear back; the case was closed from another phone.
    other = Phone(client, "teacher1")
    closing = {"status": "closed", "returned_on": "2026-09-05", "clearance_waived": "校医已确认"}
    other.push(other.change("sick_cases", case_id, closing, hlc=stamp(other, 20)))
    assert sweep(app, days_later=50, keep_days=60).purged == 1

    again = teacher.push(*creation)
    assert [(r["status"], r["error"]["code"]) for r in again] == [
        ("rejected", "record_removed"),
        ("rejected", "record_removed"),
    ], again
    # Nor by a new change carrying the whole record (another device's copy, say).
    opened = creation[0]["fields"]
    [copy] = teacher.push(teacher.change("sick_cases", case_id, opened, hlc=stamp(teacher, 1)))
    assert copy["error"]["code"] == "record_removed"
    assert bucket_of(app, "sick_cases", case_id) is None
    assert bucket_of(app, "follow_ups", follow_up_id) is None
    # A purge run again (another process's sweep) finds nothing to do and no error.
    assert sweep(app, days_later=51, keep_days=60).purged == 0
    # Other records are made as always: a new case of the same student.
    [new_case] = teacher.push(teacher.change("sick_cases", new_id(), opened))
    assert new_case["status"] == "applied"
