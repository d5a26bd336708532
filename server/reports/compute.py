"""The reports' numbers, as plain rows: the exports and the API format them."""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from server.reports.snapshot import SchoolSnapshot
from shared.schedule import (
    area_history,
    area_today,
    caseload_order,
    checks_done,
    class_needs_checks,
    counseling_due,
    follow_up_state,
    round_days,
)
from shared.schemas.vocabulary import RiskLevel

COUNTED = ("done", "late", "missed")


@dataclass(frozen=True)
class AreaDayRow:
    day: date
    area_id: str
    area: str
    kind: str
    outcome: str
    cleaner: str
    completed_at: str

    @property
    def week(self) -> str:
        year, week, _ = self.day.isocalendar()
        return f"{year}-W{week:02d}"


def _round_by_day(school: SchoolSnapshot) -> dict[tuple[str, date], dict[str, Any]]:
    """The completed round of each (area, day), the latest if several."""
    found: dict[tuple[str, date], dict[str, Any]] = {}
    for fields in school.live("disinfection_rounds").values():
        if fields.get("completed_at"):
            key = (str(fields["area_id"]), school.calendar.day_of(fields["completed_at"]))
            if key not in found or fields["completed_at"] > found[key]["completed_at"]:
                found[key] = fields
    return found


def disinfection_days(
    school: SchoolSnapshot, start: date, end: date, today: date
) -> list[AreaDayRow]:
    """Every active area on every day of the range: done, late, missed, or nothing due."""
    done = round_days(school.live("disinfection_rounds").values(), school.calendar)
    rounds = _round_by_day(school)
    rows = []
    areas = sorted(
        school.live("areas").items(), key=lambda a: (a[1].get("walk_order", 0), a[1]["name"])
    )
    for area_id, area in areas:
        if not area.get("active", True):
            continue
        set_up = school.calendar.day_of(school.records["areas"][area_id].created_at)
        history = area_history(
            int(area["frequency_days"]),
            done.get(area_id, []),
            start,
            end,
            today,
            school.calendar,
            since=set_up,
        )
        for entry in history:
            round_ = rounds.get((area_id, entry.day), {})
            rows.append(
                AreaDayRow(
                    entry.day,
                    area_id,
                    area["name"],
                    area["kind"],
                    entry.outcome,
                    school.name(round_.get("cleaner_id")),
                    round_.get("completed_at", ""),
                )
            )
    return rows


def tally(rows: list[AreaDayRow], key: str) -> list[dict[str, Any]]:
    """Rounds done, late and missed, per `key` (area, kind, cleaner or day)."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        if row.outcome not in COUNTED:
            continue
        group = str(getattr(row, key))
        if key == "cleaner" and row.outcome == "missed":
            continue  # a missed round has nobody to count it against
        counts[group][row.outcome] += 1
    return [{key: group, **{o: counts[group][o] for o in COUNTED}} for group in sorted(counts)]


def compliance_series(school: SchoolSnapshot, days: int, today: date) -> list[dict[str, Any]]:
    """Per day of the last `days`: share of required rounds that were done (on time or late)."""
    start = today - timedelta(days=days - 1)
    by_day = {
        entry["day"]: entry
        for entry in tally(disinfection_days(school, start, today, today), "day")
    }
    series = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        counts = by_day.get(str(day), {"done": 0, "late": 0, "missed": 0})
        required = counts["done"] + counts["late"] + counts["missed"]
        rate = (counts["done"] + counts["late"]) / required if required else None
        series.append({"day": str(day), **{o: counts[o] for o in COUNTED}, "rate": rate})
    return series


def areas_today(school: SchoolSnapshot, today: date) -> list[dict[str, Any]]:
    """The same states a cleaner's phone shows for today, for every active area."""
    done = round_days(school.live("disinfection_rounds").values(), school.calendar)
    result = []
    for area_id, area in school.live("areas").items():
        if area.get("active", True):
            state = area_today(
                area_id, int(area["frequency_days"]), done.get(area_id, []), today, school.calendar
            )
            result.append(
                {
                    "area_id": area_id,
                    "area": area["name"],
                    "kind": area["kind"],
                    "status": state.status,
                    "due_on": str(state.due_on) if state.due_on else None,
                    "overdue_days": state.overdue_days,
                }
            )
    return result


def follow_up_coverage(
    school: SchoolSnapshot, start: date, end: date, today: date
) -> list[dict[str, Any]]:
    """Per class: sick cases, follow-ups needed, done and missed, temperature checks."""
    visits = school.visit_days()
    classes = school.live("classes")
    rows = []
    for class_id, school_class in sorted(classes.items(), key=lambda c: c[1]["name"]):
        cases = school.by("class_id", "sick_cases", class_id)
        required = done = missed = 0
        for case_id, case in cases:
            state = follow_up_state(case_id, case, visits.get(case_id, []), today)
            in_range = [d for d in state.required if start <= d <= end]
            required += len(in_range)
            done += sum(1 for d in state.done if start <= d <= end)
            missed += sum(1 for d in state.missed if start <= d <= end)
        checks = [f for _, f in school.by("class_id", "temperature_checks", class_id)]
        needed = checks_made = 0
        day = start
        while day <= min(end, today):
            if class_needs_checks([c for _, c in cases], day):
                needed += school.calendar.checks_per_day
                checks_made += min(
                    checks_done(checks, day, school.calendar), school.calendar.checks_per_day
                )
            day += timedelta(days=1)
        rows.append(
            {
                "class_id": class_id,
                "class": school_class["name"],
                "teacher": "、".join(school.name(t) for t in school_class.get("teacher_ids", [])),
                "cases": len(cases),
                "open_cases": sum(1 for _, c in cases if c.get("status") == "open"),
                "required": required,
                "done": done,
                "missed": missed,
                "checks_needed": needed,
                "checks_done": checks_made,
            }
        )
    return rows


def counseling_counts(school: SchoolSnapshot, today: date) -> list[dict[str, Any]]:
    """Open cases and overdue contacts per risk level: counts only, never a note or a name."""
    contacts = school.contact_days()
    states = caseload_order(
        counseling_due(case_id, case, contacts.get(case_id, []), today, school.calendar)
        for case_id, case in school.live("counseling_cases").items()
        if case.get("status", "open") == "open"
    )
    rows = []
    for risk in (RiskLevel.CRISIS, RiskLevel.HIGH, RiskLevel.MEDIUM, RiskLevel.LOW):
        of_risk = [s for s in states if s.risk_level == risk]
        rows.append(
            {
                "risk_level": risk.value,
                "open_cases": len(of_risk),
                "overdue": sum(1 for s in of_risk if s.overdue),
            }
        )
    return rows
