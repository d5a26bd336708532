"""The counselor's actions against the real server in-process: cases opened without a
referral, a referral accepted at a chosen risk or declined with a reason the teacher reads,
a case closed with its outcome, what is due today, and what the lead is told of crises."""

from datetime import timedelta

from fastapi import FastAPI

from shared.i18n import CATALOGUE
from shared.schemas.vocabulary import Role
from tests.client.ui_support import (
    TODAY,
    Phones,
    fields_of,
    server_record,
    synced,
)
from tests.factories import create_user
from tests.sync_support import School

ONE_DAY = timedelta(days=1)


def _referred(phones: Phones, school: School, reason: str = "情绪低落") -> tuple[str, str]:
    """teacher1 refers their class's second student: (referral id, student id)."""
    student = school.student_ids[school.class_ids[0]][1]
    teacher = phones.sign_in("teacher1")
    teacher.refer(student, reason)
    synced(teacher)
    [referral] = teacher.referrals()
    return referral["referral_id"], student


def test_a_case_opened_without_a_referral(phones: Phones, school: School, app: FastAPI) -> None:
    counselor = phones.sign_in("counselor1")
    # Every class's students are found by what is typed, a few at a time.
    found, more = counselor.find_students("学生1")
    assert [name for _sid, name in found] == ["学生10", "学生11", "学生12"] and more == 0
    assert counselor.find_students("  ") == ([], 0)
    assert counselor.find_students("nobody") == ([], 0)
    student = found[0][0]

    refusals = [
        ((None, "self", "high", TODAY), "student_needed"),
        ((student, "referral", "high", TODAY), "origin_needed"),  # a referral is accepted
        ((student, "parent", None, TODAY), "risk_needed"),  # never assumed
        ((student, "parent", "high", None), "next_contact_needed"),
    ]
    for args, code in refusals:
        assert counselor.open_counseling_case(*args) is None
        assert counselor.error is not None and counselor.error.code == code
    assert counselor.records_of("counseling_cases") == []

    first = TODAY + 2 * ONE_DAY
    case_id = counselor.open_counseling_case(
        student, "self", "high", first, "  考试焦虑, 自己来的 "
    )
    assert counselor.error is None and case_id is not None
    case = fields_of(counselor, "counseling_cases", case_id)
    assert case["origin"] == "self" and case["counselor_id"] == counselor.user_id
    assert case["next_follow_up"] == first.isoformat() and case["note"] == "考试焦虑, 自己来的"
    [row] = counselor.caseload()
    assert (row["case_id"], row["due_on"], row["student"]) == (case_id, first, "学生10")
    info = counselor.case_info(case_id)
    assert (info["origin"], info["opened_on"], info["referral_reason"]) == (
        "self",
        TODAY.isoformat(),
        "",
    )
    # One open case a student: the second is refused, the first is there to open.
    assert counselor.open_counseling_case(student, "walk_in", "low", TODAY) is None
    assert counselor.error is not None and counselor.error.code == "case_already_open"

    synced(counselor)
    on_server = server_record(app, "counseling_cases", case_id)
    assert on_server is not None
    assert on_server.fields["origin"] == "self"
    assert on_server.fields["counselor_id"] == counselor.user_id
    assert on_server.fields["risk_level"] == "high"


def test_accepting_a_referral_needs_a_risk_and_names_the_holder(
    phones: Phones, school: School, app: FastAPI
) -> None:
    referral_id, student = _referred(phones, school, "上课注意力难以集中")
    counselor = phones.sign_in("counselor1")
    assert counselor.accept_referral(referral_id, None) is None
    assert counselor.error is not None and counselor.error.code == "risk_needed"
    assert counselor.records_of("counseling_cases") == []
    assert counselor.due_today() == {"due": 0, "overdue": 0, "new_referrals": 1}

    case_id = counselor.accept_referral(referral_id, "low")
    assert counselor.error is None and case_id is not None
    case = fields_of(counselor, "counseling_cases", case_id)
    assert case["origin"] == "referral" and case["counselor_id"] == counselor.user_id
    assert counselor.case_info(case_id)["referral_reason"] == "上课注意力难以集中"
    # Taken already (here, or by another counselor): said, not a second case.
    assert counselor.accept_referral(referral_id, "low") is None
    assert counselor.error is not None and counselor.error.code == "referral_not_waiting"
    assert len(counselor.records_of("counseling_cases")) == 1
    assert counselor.due_today() == {"due": 0, "overdue": 0, "new_referrals": 0}

    synced(counselor)
    on_server = server_record(app, "counseling_cases", case_id)
    assert on_server is not None and on_server.fields["counselor_id"] == counselor.user_id
    assert on_server.fields["student_id"] == student


def test_a_declined_referral_tells_the_teacher_why(
    phones: Phones, school: School, app: FastAPI
) -> None:
    referral_id, _student = _referred(phones, school)
    counselor = phones.sign_in("counselor1")
    counselor.decline_referral(referral_id, "   ")
    assert counselor.error is not None and counselor.error.code == "decline_reason_needed"
    reason = "已由校外心理医生跟进, 请与家长保持联系"
    counselor.decline_referral(referral_id, reason)
    assert counselor.error is None
    synced(counselor)
    on_server = server_record(app, "referrals", referral_id)
    assert on_server is not None
    assert (on_server.fields["status"], on_server.fields["declined_reason"]) == ("declined", reason)

    teacher = phones.started[0]  # the teacher's phone, synced after
    synced(teacher)
    [seen] = teacher.referrals()
    assert (seen["status"], seen["declined_reason"]) == ("declined", reason)
    assert teacher.records_of("counseling_cases") == []


def test_closing_a_case_keeps_its_outcome(phones: Phones, school: School, app: FastAPI) -> None:
    referral_id, _student = _referred(phones, school)
    counselor = phones.sign_in("counselor1")
    case_id = counselor.accept_referral(referral_id, "medium")
    assert case_id is not None
    counselor.close_counseling_case(case_id, " ")
    assert counselor.error is not None and counselor.error.code == "outcome_needed"
    assert counselor.caseload() != []

    counselor.close_counseling_case(case_id, "情绪平稳, 学期末再回访")
    assert counselor.error is None
    assert counselor.caseload() == [] and counselor.crisis_cases() == []
    synced(counselor)
    on_server = server_record(app, "counseling_cases", case_id)
    assert on_server is not None
    assert on_server.fields["status"] == "closed"
    assert on_server.fields["outcome"] == "情绪平稳, 学期末再回访"
    teacher = phones.started[0]
    synced(teacher)
    assert [r["status"] for r in teacher.referrals()] == ["closed"]  # the teacher's word


def test_what_is_due_today(phones: Phones, school: School) -> None:
    students = school.student_ids[school.class_ids[1]]
    counselor = phones.sign_in("counselor1")
    counselor.open_counseling_case(students[0], "self", "medium", TODAY + ONE_DAY)
    counselor.open_counseling_case(students[1], "parent", "low", TODAY)
    assert counselor.due_today() == {"due": 1, "overdue": 0, "new_referrals": 0}
    phones.clock.on_day(TODAY + 2 * ONE_DAY)
    assert counselor.due_today() == {"due": 2, "overdue": 2, "new_referrals": 0}


def test_the_lead_is_told_who_holds_a_crisis_never_the_note(
    phones: Phones, school: School, app: FastAPI
) -> None:
    create_user(app, Role.COUNSELOR, "counselor2", display_name="李老师")
    secret = "有自伤念头, 已联系家长"
    students = school.student_ids[school.class_ids[0]]
    li = phones.sign_in("counselor2")
    crisis = li.open_counseling_case(students[0], "walk_in", "crisis", TODAY, secret)
    assert crisis is not None
    li.add_intervention(crisis, "crisis_response", secret)
    other = phones.sign_in("counselor1")
    other.open_counseling_case(students[1], "self", "high", TODAY)
    synced(li, other)
    # Counselors see every crisis (to step in); the banner names the student.
    assert [c["case_id"] for c in other.crisis_cases()] == [crisis]

    lead = phones.sign_in("lead")
    assert lead.crisis_holders() == [("李老师", 1)]
    assert lead.crisis_cases() == []  # the banner is the counselors' alone
    for collection in ("counseling_cases", "interventions"):
        for record in lead.records_of(collection):
            assert "note" not in record.fields
            assert secret not in str(record.fields)
    # A case closed is no longer held; one from before holders were named still counts.
    li.close_counseling_case(crisis, "已转介医院")
    other_case = other.open_counseling_case(students[2], "other", "crisis", TODAY)
    assert other_case is not None
    assert other.session is not None
    other.session.store.edit("counseling_cases", other_case, {"counselor_id": None})
    synced(li, other, lead)
    assert lead.crisis_holders() == [("未记录心理老师", 1)]


def test_next_contact_is_one_term_in_each_language() -> None:
    keys = ("ui.due_on", "ui.current", "ui.next_follow_up", "field.counseling_cases.next_follow_up")
    for lang, term in (("zh", "下次联系"), ("en", "next contact")):
        for key in keys:
            assert term in CATALOGUE[lang][key].lower(), (lang, key)
    counseling = [
        v
        for k, v in CATALOGUE["zh"].items()
        if k.startswith(("ui.", "field.counseling_cases", "field.interventions"))
    ]
    assert not [v for v in counseling if "下次随访" in v or "下次跟进" in v]
