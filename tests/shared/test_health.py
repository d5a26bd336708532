"""The health chain's rules: 晨午检 slots, causes to follow up, clusters, clearance."""

from datetime import date

from shared.health import (
    ClusterRule,
    causes_missing,
    check_day,
    check_slot,
    close_problem,
    clusters,
    missing_checks,
)
from shared.schedule import SchoolCalendar

SHANGHAI = SchoolCalendar()
WEEKENDS = SchoolCalendar(closed_weekdays=frozenset({5, 6}))
MON, TUE, WED = date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25)
FRI, SAT, NEXT_MON = date(2026, 11, 27), date(2026, 11, 28), date(2026, 11, 30)


def test_an_old_check_reads_its_day_and_slot_from_when_it_was_made() -> None:
    old = {"class_id": "c", "checked_at": "2026-11-23T23:40:00Z"}  # 07:40 on the 24th
    assert check_day(old, SHANGHAI) == TUE and check_slot(old, SHANGHAI) == "morning"
    noon = {"class_id": "c", "checked_at": "2026-11-24T04:30:00Z"}  # 12:30 local
    assert check_slot(noon, SHANGHAI) == "noon"
    new = {
        "class_id": "c",
        "checked_at": "2026-11-24T04:30:00Z",
        "day": "2026-11-24",
        "slot": "evening",
    }
    assert check_slot(new, SHANGHAI) == "evening"


def test_every_class_needs_each_slot_on_an_open_day_only() -> None:
    checks = [
        {
            "class_id": "a",
            "checked_at": "2026-11-23T00:00:00Z",
            "day": "2026-11-23",
            "slot": "morning",
        }
    ]
    assert missing_checks(["a", "b"], checks, MON, SHANGHAI) == {
        "a": ["noon"],
        "b": ["morning", "noon"],
    }
    assert missing_checks(["a", "b"], checks, SAT, WEEKENDS) == {}


def test_an_illness_absence_needs_its_symptom_and_doctor() -> None:
    absences = [
        ("late", {"day": "2026-11-23", "kind": "illness", "symptom": "fever"}),
        ("known", {"day": "2026-11-24", "kind": "illness", "symptom": "rash", "saw_doctor": False}),
        ("personal", {"day": "2026-11-24", "kind": "personal"}),
        ("today", {"day": "2026-11-25", "kind": "illness"}),
        ("tomorrow", {"day": "2026-11-26", "kind": "illness"}),
    ]
    assert causes_missing(absences, WED) == ["late", "today"]


def _ill(student: str, day: date, symptom: str = "fever", class_id: str = "c") -> dict[str, str]:
    return {
        "student_id": student,
        "class_id": class_id,
        "day": day.isoformat(),
        "kind": "illness",
        "symptom": symptom,
    }


def test_three_with_the_same_symptom_on_one_day_is_a_cluster() -> None:
    absences = [_ill("s1", TUE), _ill("s2", TUE), _ill("s3", TUE, "rash"), _ill("s1", TUE)]
    assert clusters(absences, MON, WED, SHANGHAI, ClusterRule()) == []
    absences.append(_ill("s4", TUE))
    [found] = clusters(absences, MON, WED, SHANGHAI, ClusterRule())
    assert (found.class_id, found.symptom, found.first, found.students, found.rule) == (
        "c",
        "fever",
        TUE,
        3,
        "day",
    )
    other_class = [_ill(s, TUE, class_id=s) for s in ("x", "y", "z")]
    assert clusters(other_class, MON, WED, SHANGHAI, ClusterRule()) == []


def test_five_within_three_school_days_across_a_weekend_is_a_cluster() -> None:
    absences = [
        _ill("s1", FRI, "respiratory"),
        _ill("s2", FRI, "respiratory"),
        _ill("s3", NEXT_MON, "respiratory"),
        _ill("s4", NEXT_MON, "respiratory"),
        _ill("s5", date(2026, 12, 1), "respiratory"),
    ]
    [found] = clusters(absences, FRI, date(2026, 12, 1), WEEKENDS, ClusterRule())
    assert (found.first, found.last, found.students, found.rule) == (
        FRI,
        date(2026, 12, 1),
        5,
        "window",
    )
    # Counted over calendar days instead (no closed weekend), Friday falls out.
    assert clusters(absences, FRI, date(2026, 12, 1), SHANGHAI, ClusterRule()) == []
    # The school's thresholds decide.
    strict = ClusterRule(day_count=2, window_count=3, window_days=2)
    assert {c.rule for c in clusters(absences, FRI, date(2026, 12, 1), WEEKENDS, strict)} == {
        "day",
        "window",
    }


def test_closing_a_case_needs_the_day_back_and_a_clearance_or_a_reason() -> None:
    opened = {"status": "open", "returned_on": None}
    assert close_problem(opened, ["symptoms"]) is None
    closing = {"status": "closed", "returned_on": "2026-11-25"}
    assert "clearance" in str(close_problem(closing, ["status"]))
    assert "returned_on" in str(close_problem({"status": "closed"}, ["status"]))
    assert (
        close_problem({**closing, "clearance_by": "校医", "clearance_on": "2026-11-25"}, ["status"])
        is None
    )
    assert close_problem({**closing, "clearance_waived": "未就医, 轻微感冒"}, ["status"]) is None
    assert close_problem({**closing, "clearance_waived": "  "}, ["status"]) is not None
    # A case closed before clearances existed is left as it was when edited otherwise.
    assert close_problem(closing, ["medical_care"]) is None
