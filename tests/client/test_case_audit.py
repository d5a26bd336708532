"""The audit trail of counseling: every opening of a case on a phone is an entry (who,
which case, when, which device) synced like any record, seen by counselors for their
cases and by the lead as counts, and never changed or removed by anyone."""

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from client.shell import Shell
from tests.client.ui_support import (
    SERVER_URL,
    TODAY,
    Phones,
    click,
    find,
    server_records,
    synced,
    text_of,
    type_into,
)
from tests.sync_support import School


def test_every_opening_of_a_case_is_kept_and_never_changed(
    phones: Phones, school: School, app: FastAPI
) -> None:
    counselor = phones.sign_in("counselor1")
    student = school.student_ids[school.class_ids[0]][0]
    case_id = counselor.open_counseling_case(student, "self", "high", TODAY, "考试焦虑")
    assert case_id is not None
    shell = Shell(counselor, SERVER_URL)
    shell._open_case(case_id)  # as a tap on the caseload does
    shell._back()
    shell._open_case(case_id)
    [me, again] = counselor.openings_of(case_id)
    assert me["mine"] and again["mine"]
    synced(counselor)
    on_server = server_records(app, "case_views")
    assert len(on_server) == 2
    assert {r.fields["viewer_id"] for r in on_server} == {counselor.user_id}
    assert {r.fields["case_id"] for r in on_server} == {case_id}

    # Nobody changes or removes an entry: the server refuses, and keeps it as it was.
    entry = on_server[0]
    assert counselor.session is not None
    counselor.session.store.edit(
        "case_views", str(entry.record_id), {"viewed_at": "2020-01-01T00:00:00Z"}
    )
    counselor.session.store.edit("case_views", str(on_server[1].record_id), {}, deleted=True)
    counselor.sync_now()
    refused = counselor.rejected()
    assert {r.code for r in refused} == {"forbidden"}
    assert len(refused) == 2
    kept = {str(r.record_id): r for r in server_records(app, "case_views")}
    assert kept[str(entry.record_id)].fields["viewed_at"] == entry.fields["viewed_at"]
    assert not kept[str(on_server[1].record_id)].deleted

    # The lead sees how many, by whom, never which case says what.
    lead = phones.sign_in("lead")
    openings = lead.case_openings_today()
    assert sum(openings.values()) == 2
    assert all(r.fields.get("note") is None for r in lead.records_of("counseling_cases"))
    tree = Shell(lead, SERVER_URL).build()
    assert text_of(find(tree, "case-openings")).startswith("今日查看心理个案 2 次")
    # A teacher's phone never receives the trail.
    teacher = phones.sign_in("teacher1")
    assert teacher.records_of("case_views") == []


def test_the_lead_browses_the_write_history_from_the_app(phones: Phones, school: School) -> None:
    cleaner = phones.sign_in("cleaner1")
    cleaner.tick(school.area_ids[0], "windows", True, "窗户坏了")
    synced(cleaner)
    lead = phones.sign_in("lead")
    shell = Shell(lead, SERVER_URL)
    # The server stamps changes with its own clock (today), not the phones' test clock.
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    tree = shell.build()
    type_into(tree, "report-first", today)
    type_into(tree, "report-last", today)
    click(tree, "history-load")
    assert lead.error is None and lead.known_history
    line = text_of(find(shell.build(), "history-0"))
    assert "消毒记录" in line and "一楼教室" in line
    got = lead.report_file("history", today, today)
    assert got is not None and got[0].endswith(".csv") and "窗户坏了".encode() in got[1]
