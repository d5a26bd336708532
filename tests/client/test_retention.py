"""The lead sets how long closed cases stay on phones; once the server sweeps, a closed
case and its follow-ups leave the teacher's phone and the lead's, and the server keeps them."""

from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from sqlmodel import Session

from client.shell import Shell
from server import retention
from tests.client.ui_support import (
    SERVER_URL,
    Phones,
    click,
    find,
    lead_on,
    server_record,
    synced,
    text_of,
    type_into,
)
from tests.sync_support import School


def test_closed_cases_leave_the_phones_after_the_leads_period(
    phones: Phones, school: School, app: FastAPI
) -> None:
    lead, shell = lead_on(phones, "calendar")
    assert lead.health_rules()["closed_cases_on_phones_days"] == 30
    tree = shell.build()
    type_into(tree, "rule-kept-days", "0")
    click(tree, "rules-save")
    assert lead.error is not None  # at least one day
    tree = shell.build()
    type_into(tree, "rule-kept-days", "7")
    click(tree, "rules-save")
    assert lead.error is None and lead.notice == "ui.saved.rules"
    assert lead.health_rules()["closed_cases_on_phones_days"] == 7

    teacher = phones.sign_in("teacher1")
    synced(lead, teacher)
    student = school.student_ids[school.class_ids[0]][0]
    case_id = teacher.open_case(student, None, "发热 38.5℃")
    follow_up_id = teacher.add_follow_up(case_id, "phone", note="在家休息")
    # Asked to confirm, the teacher is told when the closed case will leave the phones.
    tree = Shell(teacher, SERVER_URL).build()
    click(tree, f"close-case-{case_id}")
    assert find(tree, f"close-confirm-row-{case_id}").visible
    assert "结案满7天后" in text_of(find(tree, f"close-leaves-{case_id}"))
    teacher.close_case(case_id, waived="校医已确认")
    assert teacher.error is None, teacher.error
    synced(lead, teacher, lead)
    assert {r.record_id for r in lead.records_of("sick_cases")} == {case_id}

    # A week and a day later the server's sweep moves it off the phones.
    with Session(app.state.engine) as session:
        later = datetime.now(UTC) + timedelta(days=8)
        assert retention.sweep(session, app.state.clock, None, later).archived == 1
    synced(teacher, lead)
    for phone in (teacher, lead):
        assert phone.records_of("sick_cases") == []
        assert phone.records_of("follow_ups") == []
    stored = server_record(app, "follow_ups", follow_up_id)
    assert stored is not None and stored.fields["note"] == "在家休息"
