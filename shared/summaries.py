"""The lead's charts as numbers, computed alike from a phone's records (offline) and the
server's: completion by day and by area kind, open sick cases by day, counseling cases by
risk level (counts only). The rules are shared.schedule's and shared.rounds'."""

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from shared.rounds import completeness
from shared.schedule import (
    SchoolCalendar,
    area_history,
    case_closed,
    case_opened,
    round_days,
)

Fields = Mapping[str, Any]
# Outcomes that count against what was due; of them, done and late are done.
DUE = ("done", "late", "incomplete", "missed", "pending")
DONE = ("done", "late")


@dataclass(frozen=True)
class Completion:
    label: str  # a day (ISO) or an area kind
    due: int
    done: int

    @property
    def rate(self) -> float | None:
        return self.done / self.due if self.due else None


def _histories(
    areas: Mapping[str, Fields],
    templates: Mapping[str, Fields],
    rounds: Sequence[Fields],
    calendar: SchoolCalendar,
    start: date,
    today: date,
    since: Callable[[str], date | None],
) -> list[tuple[str, str, date]]:
    """(area kind, outcome, day) for every active area and day of start … today."""
    whole = completeness(areas, templates)
    done = round_days(rounds, calendar, whole)
    partial = round_days(rounds, calendar, whole, incomplete=True)
    found = []
    for area_id, area in areas.items():
        if not area.get("active", True):
            continue
        for entry in area_history(
            int(area["frequency_days"]),
            done.get(area_id, []),
            start,
            today,
            today,
            calendar,
            since=since(area_id),
            incomplete_days=partial.get(area_id, []),
        ):
            found.append((str(area.get("kind", "")), entry.outcome, entry.day))
    return found


def completion(
    areas: Mapping[str, Fields],
    templates: Mapping[str, Fields],
    rounds: Sequence[Fields],
    calendar: SchoolCalendar,
    today: date,
    days: int = 30,
    since: Callable[[str], date | None] = lambda _area: None,
) -> tuple[list[Completion], list[Completion]]:
    """Areas done against due, per day over the last `days` (today's pending ones count
    as due, not done) and per area kind today."""
    start = today - timedelta(days=days - 1)
    rows = _histories(areas, templates, rounds, calendar, start, today, since)
    due: Counter[Any] = Counter()
    done: Counter[Any] = Counter()
    for kind, outcome, day in rows:
        for key in (day, ("kind", kind) if day == today else None):
            if key is not None and outcome in DUE:
                due[key] += 1
                done[key] += outcome in DONE
    by_day = [
        Completion(
            str(start + timedelta(days=n)),
            due[start + timedelta(days=n)],
            done[start + timedelta(days=n)],
        )
        for n in range(days)
    ]
    kinds = sorted({kind for kind, _o, _d in rows})
    by_kind = [
        Completion(k, due[("kind", k)], done[("kind", k)]) for k in kinds if due[("kind", k)]
    ]
    return by_day, by_kind


def open_cases_by_day(
    cases: Sequence[Fields], today: date, days: int = 30
) -> list[tuple[str, int]]:
    """How many sick cases were open on each of the last `days`."""
    start = today - timedelta(days=days - 1)
    counts = []
    for n in range(days):
        day = start + timedelta(days=n)
        open_ = 0
        for case in cases:
            closed = case_closed(case)
            if case_opened(case) <= day and (closed is None or day < closed):
                open_ += case.get("status") != "closed" or closed is not None
        counts.append((str(day), open_))
    return counts


def counseling_by_risk(cases: Sequence[Fields]) -> dict[str, int]:
    """Open counseling cases per risk level: counts, never a name or a note."""
    risks = Counter(str(c["risk_level"]) for c in cases if c.get("status", "open") == "open")
    return {r: risks.get(r, 0) for r in ("crisis", "high", "medium", "low")}
