"""The lead's school as a school lives with it: the walking order, who is responsible for
each area, the calendar (weekly closed days, holidays, make-up days) and lost phones."""

from datetime import timedelta

from fastapi import FastAPI

from client.app_state import AppState
from client.shell import Shell
from tests.client.ui_support import (
    SERVER_URL,
    TODAY,
    Event,
    Phones,
    check,
    click,
    find,
    finish_round,
    lead_on,
    server_record,
    synced,
    text_of,
    type_into,
)
from tests.sync_support import School


def _order(state: AppState) -> list[str]:
    return [
        r.fields["name"]
        for r in sorted(
            state.records_of("areas"),
            key=lambda r: (r.fields.get("walk_order", 0), r.fields["name"]),
        )
    ]


def _name(state: AppState, area_id: str) -> str:
    return state.name_of("areas", area_id)


def test_a_new_area_goes_last_and_the_order_can_be_changed(
    phones: Phones, school: School, app: FastAPI
) -> None:
    lead, shell = lead_on(phones, "areas")
    first, second = sorted(school.area_ids, key=lambda a: _order(lead).index(_name(lead, a)))
    tree = shell.build()
    type_into(tree, "area-name", "操场看台")
    kind = find(tree, "area-kind")
    kind.value = "public_area"
    kind.on_select(Event(kind))  # the defaults follow the kind: every two days
    assert find(tree, "area-frequency").value == "2"
    assert find(tree, "area-template").value == school.template_id
    click(tree, "area-save")
    assert lead.error is None
    names = [_name(lead, first), _name(lead, second)]
    assert _order(lead) == [*names, "操场看台"]

    new = next(r.record_id for r in lead.records_of("areas") if r.fields["name"] == "操场看台")
    assert text_of(find(shell.build(), f"area-row-{new}").title) == "3. 操场看台"
    click(shell.build(), f"area-up-{new}")
    click(shell.build(), f"area-up-{new}")
    click(shell.build(), f"area-up-{new}")  # already first: stays
    assert _order(lead) == ["操场看台", *names]
    click(shell.build(), f"area-down-{first}")
    assert _order(lead) == ["操场看台", names[1], names[0]]
    synced(lead)
    cleaner = phones.sign_in("cleaner1")
    assert [r.name for r in cleaner.today_areas()] == ["操场看台", names[1], names[0]]


def test_the_lead_makes_a_cleaner_responsible_and_the_dashboard_names_them(
    phones: Phones, school: School, app: FastAPI
) -> None:
    lead, shell = lead_on(phones, "areas")
    area = school.area_ids[0]
    cleaner_id = str(school.cleaners[1].id)
    names = dict(lead.cleaners())
    assert cleaner_id in names  # read from the server at sign-in
    index = [c for c, _n in lead.cleaners()].index(cleaner_id)
    tree = shell.build()
    find(tree, f"area-cleaner-{area}-{index}").value = True
    click(tree, f"area-update-{area}")
    assert lead.error is None
    assert "负责人" in text_of(find(shell.build(), f"area-row-{area}").subtitle)
    synced(lead)
    stored = server_record(app, "areas", area)
    assert stored is not None and stored.fields["cleaner_ids"] == [cleaner_id]

    cleaner2 = phones.sign_in("cleaner2")
    assert [r.area_id for r in cleaner2.today_areas(only_mine=True)] == [area]
    finish_round(cleaner2, area)
    synced(cleaner2, lead)
    # Two days later nobody has done it again: overdue, and the dashboard says whose it is.
    phones.clock.on_day(TODAY + timedelta(days=2))
    assert lead.dashboard()["overdue"] == [("一楼教室", names[cleaner_id])]
    tree = Shell(lead, SERVER_URL).build()
    assert text_of(find(tree, "overdue-0")) == f"一楼教室 · 负责人: {names[cleaner_id]}"


def test_nothing_is_due_on_a_closed_weekday_or_a_holiday(phones: Phones, school: School) -> None:
    lead, shell = lead_on(phones, "calendar", "en")
    weekday = TODAY.weekday()
    check(shell.build(), f"closed-weekday-{weekday}", True)
    assert lead.error is None
    synced(lead)
    cleaner = phones.sign_in("cleaner1")
    assert cleaner.today_areas() == []

    # A make-up day opens it again; a holiday closes tomorrow.
    tree = shell.build()
    type_into(tree, "open-day", TODAY.isoformat())
    type_into(tree, "open-day-label", "make-up day")
    click(tree, "open-day-save")
    tree = shell.build()
    type_into(tree, "holiday-first", "tomorrow")
    type_into(tree, "holiday-label", "Sports day")
    click(tree, "holiday-save")
    assert lead.error is not None and lead.error.code == "date_format"
    assert text_of(find(shell.build(), "error-text")).startswith("Write dates as YYYY-MM-DD")
    tree = shell.build()
    type_into(tree, "holiday-first", (TODAY + timedelta(days=1)).isoformat())
    type_into(tree, "holiday-label", "Sports day")
    click(tree, "holiday-save")
    assert lead.error is None
    synced(lead, cleaner)
    assert len(cleaner.today_areas()) == 2
    phones.clock.on_day(TODAY + timedelta(days=1))
    assert cleaner.today_areas() == []

    # Taken back, the holiday is a school day again.
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    click(shell.build(), f"closed_days-remove-{tomorrow}")
    assert lead.school_calendar()["closed_days"] == {}
    synced(lead, cleaner)
    assert len(cleaner.today_areas()) == 2


def test_the_lead_blocks_a_lost_phone_from_the_staff_screen(phones: Phones, school: School) -> None:
    cleaner = phones.sign_in("cleaner1")
    lead, shell = lead_on(phones, "staff")
    click(shell.build(), "devices-load")
    assert lead.error is None and lead.known_devices
    phone = next(d for d in lead.known_devices if d["user_id"] == cleaner.user_id)
    click(shell.build(), f"device-revoke-{phone['device_id']}")
    assert lead.error is None
    assert find(shell.build(), f"device-revoke-{phone['device_id']}").disabled
    cleaner.sync_now()
    assert cleaner.session is None  # wiped at its next contact
    assert cleaner.error is not None and cleaner.error.code == "device_revoked"


def test_charts_count_done_against_due_on_the_phone_and_reports_come_from_the_server(
    phones: Phones, school: School
) -> None:
    cleaner = phones.sign_in("cleaner1")
    finish_round(cleaner, school.area_ids[0])
    cleaner.tick(school.area_ids[1], "windows", True)  # started, not complete
    synced(cleaner)
    lead = phones.sign_in("lead")
    charts = lead.charts()
    today = charts["by_day"][-1]
    assert (today.label, today.done, today.due) == (TODAY.isoformat(), 1, 2)
    assert [(c.label, c.done, c.due) for c in charts["by_kind"]] == [("classroom", 1, 2)]
    assert charts["counseling"] == {"crisis": 0, "high": 0, "medium": 0, "low": 0}
    tree = Shell(lead, SERVER_URL).build()
    assert find(tree, "chart-by-day") is not None and find(tree, "chart-by-kind") is not None

    got = lead.report_file("pdf", TODAY.isoformat())
    assert got is not None and got[0] == f"carerounds-{TODAY}.pdf"
    assert got[1].startswith(b"%PDF")
    got = lead.report_file("csv", (TODAY - timedelta(days=6)).isoformat(), TODAY.isoformat())
    assert got is not None and "一楼教室" in got[1].decode("utf-8-sig")
    assert lead.report_file("xlsx", TODAY.isoformat(), "2020-01-01") is None
    assert lead.error is not None and lead.error.code == "day_range_invalid"
    # Offline, the charts still come from the phone; files need the server.
    phones.network(lead).up = False
    assert lead.charts()["by_day"][-1].done == 1
    assert lead.report_file("pdf", TODAY.isoformat()) is None
    assert lead.error is not None and lead.error.code == "offline"


def test_the_lead_sees_flagged_doses_and_readings(phones: Phones, school: School) -> None:
    cleaner = phones.sign_in("cleaner1")
    area = school.area_ids[0]
    cleaner.tick(area, "floor", True, dosage={"disinfectant": "84消毒液", "concentration": 250})
    finish_round(cleaner, area)
    synced(cleaner)
    lead = phones.sign_in("lead")
    [flag] = lead.flagged()
    assert flag["area"] == "一楼教室" and flag["item"] == "拖地" and flag["kind"] == "dose"
    assert (flag["value"], flag["expected"]) == ("250 mg/L", "500 mg/L")
    tree = Shell(lead, SERVER_URL).build()
    assert text_of(find(tree, "flagged-0")).startswith(
        f"{TODAY} 一楼教室 · 拖地: 250 mg/L (规定 500 mg/L)"
    )
