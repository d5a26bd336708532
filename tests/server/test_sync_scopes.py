"""Who receives what, on pull and push; and what leaves a device when its scope shrinks."""

from collections import Counter

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import auth, login
from tests.sync_support import PULL, Phone, School, new_id, small_school


def collections(changes: list[dict]) -> Counter[str]:
    return Counter(c["collection"] for c in changes)


def ids(items: list[dict]) -> set[str]:
    return {str(i["record_id"]) for i in items}


def sick_case(school: School, phone: Phone, class_index: int = 0) -> tuple[str, dict]:
    class_id = school.class_ids[class_index]
    case_id = new_id()
    change = phone.change(
        "sick_cases",
        case_id,
        {
            "student_id": school.student_ids[class_id][0],
            "class_id": class_id,
            "onset_date": "2026-11-28",
            "symptoms": "发热 38.2℃, 咳嗽",
        },
    )
    return case_id, change


def follow_up(phone: Phone, case_id: str) -> dict:
    return phone.change(
        "follow_ups",
        new_id(),
        {
            "case_id": case_id,
            "visit_date": "2026-11-29",
            "method": "phone",
            "temperature_c": 37.4,
            "mood": "okay",
            "note": "家长说精神好些了",
        },
    )


def counseling(school: School, counselor: Phone) -> tuple[str, list[dict]]:
    case_id = new_id()
    student = school.student_ids[school.class_ids[0]][1]
    return case_id, [
        counselor.change(
            "counseling_cases",
            case_id,
            {"student_id": student, "risk_level": "high", "note": "家庭变故, 失眠两周"},
        ),
        counselor.change(
            "interventions",
            new_id(),
            {
                "case_id": case_id,
                "held_on": "2026-11-29",
                "kind": "individual_talk",
                "note": "谈话40分钟, 约定周五再谈",
                "risk_level": "high",
            },
        ),
    ]


def test_what_each_role_receives(client: TestClient, app: FastAPI) -> None:
    school = small_school(app)
    teacher1, teacher2 = Phone(client, "teacher1"), Phone(client, "teacher2")
    counselor, lead, cleaner = (
        Phone(client, "counselor1"),
        Phone(client, "lead"),
        Phone(client, "cleaner1"),
    )
    case_id, case = sick_case(school, teacher1)
    referral_id = new_id()
    student = school.student_ids[school.class_ids[0]][1]
    results = teacher1.push(
        case,
        follow_up(teacher1, case_id),
        teacher1.change("referrals", referral_id, {"student_id": student, "reason": "情绪低落"}),
    )
    assert [r["status"] for r in results] == ["applied"] * 3
    counseling_id, counseling_changes = counseling(school, counselor)
    assert [r["status"] for r in counselor.push(*counseling_changes)] == ["applied"] * 2
    cleaner.push(
        cleaner.change(
            "disinfection_rounds",
            new_id(),
            {
                "area_id": school.area_ids[0],
                "round_date": "2026-11-29",
                "cleaner_id": cleaner.user_id,
            },
        )
    )

    got_cleaner, _ = cleaner.pull_all()
    assert set(collections(got_cleaner)) == {"areas", "checklist_templates", "disinfection_rounds"}

    got_t1, _ = teacher1.pull_all()
    assert collections(got_t1) == {
        "classes": 1,
        "students": 3,
        "sick_cases": 1,
        "follow_ups": 1,
        "referrals": 1,
    }
    assert {c["record_id"] for c in got_t1 if c["collection"] == "classes"} == {school.class_ids[0]}
    got_t2, _ = teacher2.pull_all()
    assert collections(got_t2) == {"classes": 1, "students": 3}
    assert not ids(got_t2) & ids(got_t1)

    got_counselor, _ = counselor.pull_all()
    assert collections(got_counselor) == {
        "students": 6,
        "referrals": 1,
        "counseling_cases": 1,
        "interventions": 1,
    }
    notes = [c["fields"].get("note") for c in got_counselor if c["collection"] != "students"]
    assert "家庭变故, 失眠两周" in notes

    got_lead, _ = lead.pull_all()
    assert set(collections(got_lead)) >= {
        "areas",
        "classes",
        "students",
        "sick_cases",
        "follow_ups",
        "referrals",
        "counseling_cases",
        "interventions",
        "disinfection_rounds",
    }
    for change in got_lead:
        if change["collection"] in ("counseling_cases", "interventions"):
            assert "note" not in change["fields"] and "note" not in change["field_hlc"]
            assert change["fields"]["risk_level"] == "high"
    assert "失眠" not in str(got_lead) and "谈话40分钟" not in str(got_lead)
    assert counseling_id in ids(got_lead)


def test_pushes_outside_ones_scope_are_forbidden(client: TestClient, app: FastAPI) -> None:
    school = small_school(app)
    teacher1, teacher2 = Phone(client, "teacher1"), Phone(client, "teacher2")
    counselor, cleaner = Phone(client, "counselor1"), Phone(client, "cleaner1")
    case_id, case = sick_case(school, teacher1)
    assert teacher1.push(case)[0]["status"] == "applied"
    other_student = school.student_ids[school.class_ids[1]][0]
    _, wrong_class = sick_case(school, teacher1, class_index=1)
    counseling_id, counseling_changes = counseling(school, counselor)
    counselor.push(*counseling_changes)
    results = teacher1.push(
        wrong_class,  # a case in a class that is not theirs
        teacher1.change("referrals", new_id(), {"student_id": other_student, "reason": "x"}),
        teacher1.change(
            "counseling_cases", new_id(), {"student_id": other_student, "risk_level": "low"}
        ),
        teacher1.change(
            "interventions",
            new_id(),
            {"case_id": counseling_id, "held_on": "2026-11-29", "kind": "group_session"},
        ),
    )
    assert [r["error"]["code"] for r in results] == ["forbidden"] * 4
    results = teacher2.push(
        teacher2.change("sick_cases", case_id, {"status": "closed"}),  # teacher1's case
        follow_up(teacher2, case_id),
    )
    assert [r["error"]["code"] for r in results] == ["forbidden"] * 2
    results = cleaner.push(
        cleaner.change("students", new_id(), {"name": "x", "class_id": school.class_ids[0]}),
        cleaner.change("sick_cases", case_id, {"status": "closed"}),
    )
    assert [r["error"]["code"] for r in results] == ["forbidden"] * 2


def test_class_handed_to_another_teacher(client: TestClient, app: FastAPI) -> None:
    school = small_school(app)
    teacher1, teacher2 = Phone(client, "teacher1"), Phone(client, "teacher2")
    lead = auth(login(client, "lead")["token"])
    case_id, case = sick_case(school, teacher1)
    teacher1.push(case, follow_up(teacher1, case_id))
    had, _ = teacher1.pull_all()
    teacher2.pull_all()
    class_1 = school.class_ids[0]
    handed = client.patch(
        f"/api/v1/admin/classes/{class_1}",
        headers=lead,
        json={"teacher_ids": [str(school.teachers[1].id)]},
    )
    assert handed.status_code == 200
    _, removed = teacher1.pull_all()
    assert ids(removed) == ids(had) - {
        c["record_id"] for c in had if c["collection"] == "referrals"
    }
    assert ids(removed) >= {class_1, case_id, *school.student_ids[class_1]}
    gained, _ = teacher2.pull_all()
    assert {class_1, case_id, *school.student_ids[class_1]} <= ids(gained)
    assert collections(gained)["follow_ups"] == 1
    # Nothing is sent twice: the next pull is empty for both.
    assert teacher1.pull_all() == ([], []) and teacher2.pull_all() == ([], [])
    # The new teacher can now write there (having seen the case); the old one cannot.
    [seen] = [c["seq"] for c in gained if c["record_id"] == case_id]
    unclear = teacher2.change(
        "sick_cases", case_id, {"status": "closed", "returned_on": "2026-11-30"}, base_seq=seen
    )
    [refused] = teacher2.push(unclear)  # 复课证明: a return needs its clearance
    assert refused["status"] == "rejected" and refused["error"]["code"] == "invalid_value"
    assert "clearance" in refused["error"]["message"]
    closing = teacher2.change(
        "sick_cases",
        case_id,
        {
            "status": "closed",
            "returned_on": "2026-11-30",
            "clearance_by": "校医 王医生",
            "clearance_on": "2026-11-29",
        },
        base_seq=seen,
    )
    assert teacher2.push(closing)[0]["status"] == "applied"
    assert (
        teacher1.push(teacher1.change("sick_cases", case_id, {"status": "open"}))[0]["error"][
            "code"
        ]
        == "forbidden"
    )


def test_student_moved_and_case_moved(client: TestClient, app: FastAPI) -> None:
    school = small_school(app)
    teacher1, teacher2 = Phone(client, "teacher1"), Phone(client, "teacher2")
    lead = auth(login(client, "lead")["token"])
    class_1, class_2 = school.class_ids
    moving = school.student_ids[class_1][2]
    teacher1.pull_all()
    teacher2.pull_all()
    response = client.patch(
        f"/api/v1/admin/students/{moving}", headers=lead, json={"class_id": class_2}
    )
    assert response.status_code == 200
    _, removed = teacher1.pull_all()
    assert ids(removed) == {moving}
    gained, _ = teacher2.pull_all()
    assert ids(gained) == {moving}

    # A sick case (with its follow-up) moved to the other class goes with its follow-ups.
    case_id, case = sick_case(school, teacher1)
    teacher1.push(case, follow_up(teacher1, case_id))
    teacher1.pull_all()
    student = school.student_ids[class_1][0]
    client.patch(f"/api/v1/admin/students/{student}", headers=lead, json={"class_id": class_2})
    [moved] = teacher1.push(
        teacher1.change("sick_cases", case_id, {"class_id": class_2}, base_seq=None)
    )
    # Teacher 1 may not put a case into a class that is not theirs.
    assert moved["error"]["code"] == "forbidden"
    # The lead hands class 2 to both teachers; then teacher 1 moves the case over.
    client.patch(
        f"/api/v1/admin/classes/{class_2}",
        headers=lead,
        json={"teacher_ids": [str(school.teachers[0].id), str(school.teachers[1].id)]},
    )
    assert (
        teacher1.push(teacher1.change("sick_cases", case_id, {"class_id": class_2}))[0]["status"]
        == "applied"
    )
    got, _ = teacher2.pull_all()
    assert {"sick_cases", "follow_ups"} <= set(collections(got))


def test_disabled_account_and_role_change(client: TestClient, app: FastAPI) -> None:
    school = small_school(app)
    teacher = Phone(client, "teacher1")
    lead = auth(login(client, "lead")["token"])
    had, _ = teacher.pull_all()
    client.patch(f"/api/v1/admin/users/{teacher.user_id}", headers=lead, json={"role": "cleaner"})
    client.patch(
        f"/api/v1/admin/classes/{school.class_ids[0]}", headers=lead, json={"teacher_ids": []}
    )
    gained, removed = teacher.pull_all()
    assert ids(removed) == ids(had)
    assert set(collections(gained)) == {"areas", "checklist_templates"}
    client.patch(f"/api/v1/admin/users/{teacher.user_id}", headers=lead, json={"active": False})
    response = client.post(
        PULL, headers=teacher.headers, json={"device_id": teacher.device_id, "cursor": None}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "account_disabled"


def test_cursors_cannot_be_forged_or_borrowed(client: TestClient, app: FastAPI) -> None:
    small_school(app)
    teacher1, teacher2 = Phone(client, "teacher1"), Phone(client, "teacher2")
    teacher1.pull_all()
    body, _, _ = str(teacher1.cursor).partition(".")
    for cursor in (f"{body}.AAAAAAAAAAAAAAAAAAAAAA==", "garbage", teacher1.cursor):
        response = client.post(
            PULL,
            headers=teacher2.headers,
            json={"device_id": teacher2.device_id, "cursor": cursor},
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_cursor"


def test_pull_pages_respect_the_limit(client: TestClient, app: FastAPI) -> None:
    small_school(app, students_per_class=30)
    lead = Phone(client, "lead")
    pages = []
    cursor = None
    while True:
        response = client.post(
            PULL,
            headers=lead.headers,
            json={"device_id": lead.device_id, "cursor": cursor, "limit": 7},
        )
        page = response.json()
        pages.append(len(page["changes"]))
        cursor = page["cursor"]
        if not page["has_more"]:
            break
    assert max(pages) == 7 and sum(pages) == 1 + 2 + 2 + 60
    huge = client.post(
        PULL,
        headers=lead.headers,
        json={"device_id": lead.device_id, "cursor": None, "limit": 10**9},
    )
    assert huge.status_code == 200 and len(huge.json()["changes"]) == 65


def absence(phone: Phone, school: School, class_index: int = 0, **fields: object) -> dict:
    class_id = school.class_ids[class_index]
    values = {
        "student_id": school.student_ids[class_id][2],
        "class_id": class_id,
        "day": "2026-11-30",
        "kind": "illness",
        "symptom": "fever",
        "saw_doctor": True,
        **fields,
    }
    return phone.change("absences", new_id(), values)


def test_the_absence_register_stays_in_its_class(client: TestClient, app: FastAPI) -> None:
    """Absences live in the class's bucket: its teachers and the lead receive them, nobody
    else; a teacher writes them for their own classes' students only."""
    school = small_school(app)
    teacher1, teacher2 = Phone(client, "teacher1"), Phone(client, "teacher2")
    counselor, lead, cleaner = (
        Phone(client, "counselor1"),
        Phone(client, "lead"),
        Phone(client, "cleaner1"),
    )
    case_id, case = sick_case(school, teacher1)
    sick_student = school.student_ids[school.class_ids[0]][0]
    linked = absence(teacher1, school, case_id=case_id, student_id=sick_student)
    assert [r["status"] for r in teacher1.push(case, linked)] == ["applied"] * 2
    assert teacher2.push(absence(teacher2, school, 1))[0]["status"] == "applied"

    # Another class's absence, or one filed under the wrong class: refused.
    other_student = school.student_ids[school.class_ids[1]][0]
    results = teacher1.push(
        absence(teacher1, school, 1),
        absence(teacher1, school, 0, student_id=other_student),
        teacher1.change(
            "temperature_checks",
            new_id(),
            {
                "class_id": school.class_ids[1],
                "checked_at": "2026-11-30T07:40:00+08:00",
                "students_checked": 3,
                "fever_count": 0,
            },
        ),
    )
    assert [r["error"]["code"] for r in results] == ["forbidden", "invalid_value", "forbidden"]
    # Pointing at nobody, or at a case that does not exist (or is another student's).
    results = teacher1.push(
        absence(teacher1, school, student_id=new_id()),
        absence(teacher1, school, case_id=new_id()),
        absence(teacher1, school, case_id=case_id),  # the case is student 0's, this student 2
    )
    assert [r["error"]["code"] for r in results] == ["invalid_value"] * 3
    assert "no students record" in results[0]["error"]["message"]
    assert "no sick_cases record" in results[1]["error"]["message"]
    # Cleaners, counselors (and the lead, who reads them) do not write absences.
    for phone in (cleaner, counselor, lead):
        [result] = phone.push(absence(phone, school))
        assert result["error"]["code"] == "forbidden", phone

    received = {
        who: collections(phone.pull_all()[0])["absences"]
        for who, phone in (
            ("teacher1", teacher1),
            ("teacher2", teacher2),
            ("counselor", counselor),
            ("cleaner", cleaner),
            ("lead", lead),
        )
    }
    assert received == {"teacher1": 1, "teacher2": 1, "counselor": 0, "cleaner": 0, "lead": 2}


def test_a_counselor_answers_a_referral_and_changes_nothing_else(
    client: TestClient, app: FastAPI
) -> None:
    school = small_school(app)
    teacher, counselor = Phone(client, "teacher1"), Phone(client, "counselor1")
    referral_id = new_id()
    student = school.student_ids[school.class_ids[0]][0]
    [made] = teacher.push(
        teacher.change("referrals", referral_id, {"student_id": student, "reason": "情绪低落"})
    )
    assert made["status"] == "applied"
    answer = {"status": "declined", "declined_reason": "已在校外就诊"}
    [answered] = counselor.push(
        counselor.change("referrals", referral_id, answer, base_seq=made["seq"])
    )
    assert answered["status"] == "applied"
    # The teacher's words, the student named, the referral itself: the teacher's.
    refused = counselor.push(
        counselor.change("referrals", referral_id, {"reason": "无"}),
        counselor.change("referrals", referral_id, {"status": "accepted", "student_id": student}),
        counselor.change("referrals", referral_id, {}, deleted=True),
        counselor.change("referrals", new_id(), {"student_id": student, "reason": "自己发现"}),
    )
    assert [r["error"]["code"] for r in refused] == ["forbidden"] * 4
    # And the answer is the counselor's: the teacher cannot write one.
    self_answered = teacher.push(
        teacher.change("referrals", referral_id, {"status": "accepted"}),
        teacher.change("referrals", referral_id, {"declined_reason": "不需要"}),
        teacher.change(
            "referrals", new_id(), {"student_id": student, "reason": "x", "status": "accepted"}
        ),
    )
    assert [r["error"]["code"] for r in self_answered] == ["forbidden"] * 3
    changes, _ = teacher.pull_all()
    [referral] = [c for c in changes if c["record_id"] == referral_id]
    assert referral["fields"] == {"student_id": student, "reason": "情绪低落", **answer}


def test_the_lead_never_receives_a_counseling_outcome(client: TestClient, app: FastAPI) -> None:
    school = small_school(app)
    counselor, lead = Phone(client, "counselor1"), Phone(client, "lead")
    case_id, changes = counseling(school, counselor)
    closing = {"status": "closed", "outcome": "转介精神科, 家长知情"}
    results = counselor.push(*changes, counselor.change("counseling_cases", case_id, closing))
    assert [r["status"] for r in results] == ["applied"] * 3
    got_lead, _ = lead.pull_all()
    [case] = [c for c in got_lead if c["record_id"] == case_id]
    assert case["fields"]["status"] == "closed"
    assert "outcome" not in case["fields"] and "outcome" not in case["field_hlc"]
    assert "精神科" not in str(got_lead)
    got_counselor, _ = counselor.pull_all()
    [case] = [c for c in got_counselor if c["record_id"] == case_id]
    assert case["fields"]["outcome"] == closing["outcome"]
