"""The school's rules, with fixed days and clocks (no test depends on today's date)."""

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from shared.schedule import (
    SchoolCalendar,
    area_history,
    area_today,
    caseload_order,
    checks_done,
    class_needs_checks,
    counseling_due,
    due_areas,
    follow_up_state,
    round_days,
)

SHANGHAI = SchoolCalendar()
MON, TUE, WED, THU, FRI, SAT, SUN = (date(2026, 11, d) for d in range(23, 30))
NEXT_MON = date(2026, 11, 30)


def completed(area: str, at: str) -> dict[str, str]:
    return {"area_id": area, "round_date": at[:10], "completed_at": at}


def test_daily_area_due_done_and_overdue() -> None:
    assert area_today("a", 1, [], MON, SHANGHAI).status == "due"  # never done: due at once
    assert area_today("a", 1, [MON], MON, SHANGHAI).status == "done"
    assert area_today("a", 1, [MON], TUE, SHANGHAI).status == "due"
    late = area_today("a", 1, [MON], THU, SHANGHAI)
    assert (late.status, late.due_on, late.overdue_days) == ("overdue", TUE, 2)


def test_every_two_days_counts_calendar_days() -> None:
    assert area_today("p", 2, [MON], TUE, SHANGHAI).status == "not_due"
    assert area_today("p", 2, [MON], WED, SHANGHAI).status == "due"
    assert area_today("p", 2, [MON], THU, SHANGHAI).status == "overdue"
    # Done early (Tuesday) counts: next due is Thursday.
    assert area_today("p", 2, [MON, TUE], WED, SHANGHAI).status == "not_due"


def test_a_started_round_does_not_count() -> None:
    rounds = [{"area_id": "a", "round_date": "2026-11-23", "completed_at": None}]
    assert round_days(rounds, SHANGHAI) == {}


def test_late_night_rounds_count_on_the_school_day() -> None:
    # 23:50 in Beijing on Monday is 15:50 UTC Monday; 00:20 Tuesday is 16:20 UTC Monday.
    days = round_days(
        [
            completed("a", "2026-11-23T15:50:00Z"),
            completed("b", "2026-11-23T16:20:00Z"),
            completed("c", "2026-11-23T23:50:00+08:00"),
        ],
        SHANGHAI,
    )
    assert days == {"a": [MON], "b": [TUE], "c": [MON]}
    # The same instant is a different day for a school in another zone.
    london = SchoolCalendar(timezone=ZoneInfo("Europe/London"))
    assert round_days([completed("b", "2026-11-23T16:20:00Z")], london) == {"b": [MON]}


def test_closed_days_are_neither_due_nor_overdue() -> None:
    weekend = SchoolCalendar(closed=frozenset({SAT, SUN}))
    assert area_today("a", 1, [FRI], SAT, weekend).status == "closed"
    monday = area_today("a", 1, [FRI], NEXT_MON, weekend)
    assert (monday.status, monday.due_on) == ("due", NEXT_MON)
    # Every two days from Friday lands on Sunday, which moves to Monday.
    assert area_today("p", 2, [FRI], NEXT_MON, weekend).status == "due"
    tuesday = date(2026, 12, 1)
    overdue = area_today("a", 1, [THU], tuesday, weekend)
    assert (overdue.status, overdue.overdue_days) == ("overdue", 2)  # Fri and Mon, not the weekend


def test_history_done_late_missed() -> None:
    history = area_history(1, [MON, WED], MON, FRI, FRI, SHANGHAI)
    assert [(h.day, h.outcome) for h in history] == [
        (MON, "done"),
        (TUE, "missed"),
        (WED, "late"),
        (THU, "missed"),
        (FRI, "pending"),
    ]
    two_days = area_history(2, [MON, WED], MON, THU, THU, SHANGHAI)
    assert [h.outcome for h in two_days] == ["done", "not_due", "done", "not_due"]


def test_due_areas_in_walking_order_without_inactive_ones() -> None:
    areas = [
        ("stairs", {"name": "楼梯", "frequency_days": 2, "walk_order": 30}),
        ("class", {"name": "教室", "frequency_days": 1, "walk_order": 10}),
        ("old", {"name": "旧仓库", "frequency_days": 1, "walk_order": 5, "active": False}),
        ("dorm", {"name": "宿舍", "frequency_days": 1, "walk_order": 20}),
    ]
    rounds = [completed("class", "2026-11-25T08:00:00+08:00")]
    result = due_areas(areas, rounds, WED, SHANGHAI)
    assert [(r.area_id, r.status) for r in result] == [
        ("class", "done"),
        ("dorm", "due"),
        ("stairs", "due"),
    ]


def case(**fields: str) -> dict[str, str]:
    return {"onset_date": "2026-11-22", "status": "open", **fields}


def test_sick_case_needs_a_follow_up_every_day() -> None:
    state = follow_up_state("c", case(opened_on="2026-11-23"), [MON, WED], THU)
    assert state.required == [MON, TUE, WED, THU]
    assert state.missed == [TUE] and state.needed_today
    done_today = follow_up_state("c", case(opened_on="2026-11-23"), [MON, TUE, WED, THU], THU)
    assert done_today.missed == [] and not done_today.needed_today
    # Without opened_on the case counts from its onset.
    assert follow_up_state("c", case(), [], MON).missed == [date(2026, 11, 22)]


def test_cases_closed_when_the_student_is_back() -> None:
    same_day = case(opened_on="2026-11-24", status="closed", returned_on="2026-11-24")
    state = follow_up_state("c", same_day, [], FRI)
    assert state.required == [] and state.missed == [] and not state.needed_today
    closed = case(opened_on="2026-11-23", status="closed", returned_on="2026-11-25")
    later = follow_up_state("c", closed, [MON], FRI)
    assert later.required == [MON, TUE] and later.missed == [TUE]


def test_temperature_checks_while_a_class_has_a_sick_student() -> None:
    cases = [case(opened_on="2026-11-24", status="closed", returned_on="2026-11-26")]
    assert [class_needs_checks(cases, d) for d in (MON, TUE, WED, THU)] == [
        False,
        True,
        True,
        False,
    ]
    checks = [
        {"checked_at": "2026-11-24T07:30:00+08:00"},
        {"checked_at": "2026-11-24T13:30:00+08:00"},
        {"checked_at": "2026-11-24T17:30:00Z"},  # 01:30 on Wednesday in Beijing
    ]
    assert checks_done(checks, TUE, SHANGHAI) == 2
    assert checks_done(checks, WED, SHANGHAI) == 1


def test_counseling_intervals_follow_the_current_risk_level() -> None:
    high = {"risk_level": "high", "opened_on": "2026-11-23"}
    assert counseling_due("c", high, [MON], TUE, SHANGHAI).due_on == THU
    assert not counseling_due("c", high, [MON], THU, SHANGHAI).overdue
    assert counseling_due("c", high, [MON], FRI, SHANGHAI).overdue
    # Raised to crisis mid-interval: a day is the limit from the last contact, so Wednesday
    # is already overdue.
    crisis = {**high, "risk_level": "crisis"}
    state = counseling_due("c", crisis, [MON], WED, SHANGHAI)
    assert (state.due_on, state.overdue) == (TUE, True)
    # The counselor's own next follow-up wins when sooner.
    low = {"risk_level": "low", "opened_on": "2026-11-23", "next_follow_up": "2026-11-26"}
    assert counseling_due("c", low, [MON], WED, SHANGHAI).due_on == THU
    # Met by a contact on the day (or after): the next contact set then is spent, and the
    # risk level's interval counts from that contact (not overdue ever after).
    met = counseling_due("c", low, [MON, THU], SAT, SHANGHAI)
    assert (met.due_on, met.overdue) == (THU + timedelta(days=30), False)
    # The lead's intervals replace the defaults.
    strict = SchoolCalendar(contact_intervals={"crisis": 1, "high": 1, "medium": 2, "low": 7})
    assert counseling_due("c", high, [MON], WED, strict).overdue


def test_caseload_puts_crises_first() -> None:
    cases = [
        counseling_due("low", {"risk_level": "low"}, [MON], WED, SHANGHAI),
        counseling_due("crisis", {"risk_level": "crisis"}, [WED], WED, SHANGHAI),
        counseling_due("high-later", {"risk_level": "high"}, [WED], WED, SHANGHAI),
        counseling_due("high-sooner", {"risk_level": "high"}, [MON], WED, SHANGHAI),
    ]
    assert [c.case_id for c in caseload_order(cases)] == [
        "crisis",
        "high-sooner",
        "high-later",
        "low",
    ]


def test_calendar_from_the_settings_record() -> None:
    calendar = SchoolCalendar.from_settings(
        {
            "timezone": "Asia/Urumqi",
            "closed_days": {"2026-10-01": "国庆节"},
            "temperature_checks_per_day": 3,
            "contact_interval_days": {"crisis": 2},
        },
        "Asia/Shanghai",
    )
    assert calendar.timezone == ZoneInfo("Asia/Urumqi")
    assert not calendar.is_open(date(2026, 10, 1))
    assert calendar.checks_per_day == 3
    assert calendar.contact_intervals["crisis"] == 2 and calendar.contact_intervals["low"] == 30
    assert SchoolCalendar.from_settings(None, "Europe/Paris").timezone == ZoneInfo("Europe/Paris")
