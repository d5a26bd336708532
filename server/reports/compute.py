"""The reports' numbers, as plain rows: the exports and the API format them."""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from server.reports.health import SchoolHealth
from server.reports.rounds import SchoolRounds
from server.reports.snapshot import SchoolSnapshot
from shared.schedule import (
    area_history,
    area_today,
    caseload_order,
    counseling_due,
    follow_up_state,
)
from shared.schemas.vocabulary import RiskLevel
from shared.summaries import DONE, DUE

# What a report counts against the due: done on time or late, left incomplete, or missed.
COUNTED = ("done", "late", "incomplete", "missed")


@dataclass(frozen=True)
class AreaDayRow:
    day: date
    area_id: str
    area: str
    kind: str
    outcome: str
    cleaner: str
    completed_at: datetime | None  # in the school's time zone
    round_id: str | None
    items_total: int  # items in use on the area's checklist
    items_done: int
    items_excused: int
    responsible: list[str]  # the area's cleaners (Area.cleaner_ids), by display name

    @property
    def week(self) -> str:
        year, week, _ = self.day.isocalendar()
        return f"{year}-W{week:02d}"


def disinfection_days(
    school: SchoolSnapshot,
    start: date,
    end: date,
    today: date,
    lang: str = "zh",
    rounds: SchoolRounds | None = None,
) -> list[AreaDayRow]:
    """Every active area on every day of the range: done, late, incomplete, missed, or
    nothing due; each day's items counted against the area's checklist."""
    rounds = rounds or SchoolRounds(school)
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
            rounds.done_days.get(area_id, []),
            start,
            end,
            today,
            school.calendar,
            since=set_up,
            incomplete_days=rounds.incomplete_days.get(area_id, []),
        )
        total = rounds.items_in_use(area_id)
        responsible = school.names_of(area.get("cleaner_ids"))
        for entry in history:
            round_id = rounds.standing.get((area_id, entry.day))
            fields = rounds.completed[round_id] if round_id else {}
            tally = rounds.tallies[round_id] if round_id else None
            rows.append(
                AreaDayRow(
                    entry.day,
                    area_id,
                    school.label(area, lang),
                    area["kind"],
                    entry.outcome,
                    school.name(fields.get("cleaner_id")),
                    rounds.local_time(fields) if round_id else None,
                    round_id,
                    total,
                    tally.items_done if tally else 0,
                    tally.items_excused if tally else 0,
                    responsible,
                )
            )
    return rows


def tally(rows: list[AreaDayRow], key: str) -> list[dict[str, Any]]:
    """Rounds done, late, incomplete and missed, per `key` (area, kind, cleaner or day)."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        if row.outcome not in COUNTED:
            continue
        group = str(getattr(row, key))
        if key == "cleaner" and row.outcome == "missed":
            continue  # a missed round has nobody who did it (`responsible` names the cleaners)
        counts[group][row.outcome] += 1
    return [{key: group, **{o: counts[group][o] for o in COUNTED}} for group in sorted(counts)]


def compliance_series(
    school: SchoolSnapshot, days: int, today: date, end: date | None = None
) -> list[dict[str, Any]]:
    """Per day of the `days` up to `end` (today if not given): the share of the rounds due
    that were done, on time or late. An area still to do today counts as due and not yet
    done, so a morning with 3 of 34 areas done reads 3/34, not 3/3."""
    end = end or today
    start = end - timedelta(days=days - 1)
    counts: dict[date, Counter[str]] = defaultdict(Counter)
    for row in disinfection_days(school, start, end, today):
        counts[row.day][row.outcome] += 1
    series = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        of_day = counts[day]
        due = sum(of_day[o] for o in DUE)  # the phones' charts count by the same rule
        rate = sum(of_day[o] for o in DONE) / due if due else None
        outcomes = {o: of_day[o] for o in (*COUNTED, "pending")}
        series.append({"day": str(day), **outcomes, "due": due, "rate": rate})
    return series


def areas_today(school: SchoolSnapshot, today: date, lang: str = "zh") -> list[dict[str, Any]]:
    """The same states a cleaner's phone shows for today, for every active area, with who
    is responsible for it, and whether a round today was completed with items left."""
    rounds = SchoolRounds(school)
    result = []
    for area_id, area in school.live("areas").items():
        if area.get("active", True):
            state = area_today(
                area_id,
                int(area["frequency_days"]),
                rounds.done_days.get(area_id, []),
                today,
                school.calendar,
            )
            result.append(
                {
                    "area_id": area_id,
                    "area": school.label(area, lang),
                    "kind": area["kind"],
                    "status": state.status,
                    "due_on": str(state.due_on) if state.due_on else None,
                    "overdue_days": state.overdue_days,
                    "incomplete": state.status != "done"
                    and today in rounds.incomplete_days.get(area_id, []),
                    "responsible": school.names_of(area.get("cleaner_ids")),
                }
            )
    return result


def follow_up_coverage(
    school: SchoolSnapshot, start: date, end: date, today: date, lang: str = "zh"
) -> list[dict[str, Any]]:
    """Per class: sick cases, follow-ups needed, done and missed; and 晨午检, one check per
    slot of every open day for every class (shared.health.missing_checks), sick or not."""
    visits = school.visit_days()
    checks = SchoolHealth(school).coverage(start, end, today)
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
        needed, checks_made = checks.get(class_id, (0, 0))
        rows.append(
            {
                "class_id": class_id,
                "class": school.label(school_class, lang),
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
