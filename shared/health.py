"""The school's daily health chain as pure rules, run alike on phones and the server:
晨午检 (each class checked in each slot of a school day), the absence register and its
cause tracking (病因追查), cluster alerts, and the return clearance (复课证明).

- Every class needs one check per slot of the school's `check_slots` on each open day.
- An illness absence needs its cause (a symptom category and whether a doctor was seen)
  by the end of its day; after that it is flagged.
- A cluster: `day_count` or more students of one class absent for illness with the same
  symptom on one school day, or `window_count` or more within `window_days` consecutive
  school days (the school's settings; 3 on a day or 5 in 3 days by default).
- Closing a sick case needs the day the student was back and a clearance (who issued it
  and when) or the reason none was needed.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from shared.schedule import SchoolCalendar

Fields = Mapping[str, Any]
DEFAULT_SLOTS = ("morning", "noon")
# Where an old check (made before slots) falls: before 11:00 morning, before 14:00 noon…
_SLOT_HOURS = ((11, "morning"), (14, "noon"), (18, "afternoon"), (24, "evening"))


@dataclass(frozen=True)
class ClusterRule:
    day_count: int = 3
    window_count: int = 5
    window_days: int = 3

    @classmethod
    def from_settings(cls, fields: Fields | None) -> "ClusterRule":
        fields = fields or {}
        return cls(
            int(fields.get("cluster_day_count") or 3),
            int(fields.get("cluster_window_count") or 5),
            int(fields.get("cluster_window_days") or 3),
        )


def slots_of(settings: Fields | None) -> tuple[str, ...]:
    return tuple(str(s) for s in ((settings or {}).get("check_slots") or DEFAULT_SLOTS))


def check_day(check: Fields, calendar: SchoolCalendar) -> date:
    """The school day a class check belongs to (old checks: the day of `checked_at`)."""
    if check.get("day"):
        return date.fromisoformat(str(check["day"]))
    return calendar.day_of(check["checked_at"])


def check_slot(check: Fields, calendar: SchoolCalendar) -> str:
    """The slot of a class check (old checks: by the time of day it was made)."""
    if check.get("slot"):
        return str(check["slot"])
    at = datetime.fromisoformat(str(check["checked_at"])).astimezone(calendar.timezone)
    return next(slot for hour, slot in _SLOT_HOURS if at.hour < hour)


def missing_checks(
    class_ids: Iterable[str],
    checks: Iterable[Fields],
    day: date,
    calendar: SchoolCalendar,
    slots: Sequence[str] = DEFAULT_SLOTS,
) -> dict[str, list[str]]:
    """Per class, the slots of `day` without a check (nothing on a closed day)."""
    if not calendar.is_open(day):
        return {}
    done: dict[str, set[str]] = defaultdict(set)
    for check in checks:
        if check_day(check, calendar) == day:
            done[str(check["class_id"])].add(check_slot(check, calendar))
    missing = {}
    for class_id in class_ids:
        left = [s for s in slots if s not in done[str(class_id)]]
        if left:
            missing[str(class_id)] = left
    return missing


def cause_recorded(absence: Fields) -> bool:
    """Whether an absence says what it needs: for illness, the symptom and the doctor."""
    if absence.get("kind") != "illness":
        return True
    return absence.get("symptom") is not None and absence.get("saw_doctor") is not None


def causes_missing(absences: Iterable[tuple[str, Fields]], today: date) -> list[str]:
    """Illness absences of today or before whose cause is not recorded (病因追查): today's
    are still open, earlier ones are overdue. Ids, oldest first."""
    late = [
        (str(a["day"]), absence_id)
        for absence_id, a in absences
        if date.fromisoformat(str(a["day"])) <= today and not cause_recorded(a)
    ]
    return [absence_id for _day, absence_id in sorted(late)]


@dataclass(frozen=True)
class Cluster:
    """Illness absences that together call for the lead's attention."""

    class_id: str
    symptom: str
    first: date
    last: date
    students: int
    rule: str  # "day": on one school day; "window": within the rule's days


def _school_days_back(end: date, count: int, calendar: SchoolCalendar) -> list[date]:
    days: list[date] = []
    day = end
    for _ in range(count * 10 + 30):
        if len(days) == count:
            break
        if calendar.is_open(day):
            days.append(day)
        day -= timedelta(days=1)
    return sorted(days)


def clusters(
    absences: Iterable[Fields],
    start: date,
    end: date,
    calendar: SchoolCalendar,
    rule: ClusterRule,
) -> list[Cluster]:
    """Clusters whose last day falls in start … end, by class and symptom. A window
    cluster is not repeated on the days a same-day cluster already stands for it."""
    students: dict[tuple[str, str, date], set[str]] = defaultdict(set)
    for a in absences:
        if a.get("kind") == "illness" and a.get("symptom"):
            key = (str(a["class_id"]), str(a["symptom"]), date.fromisoformat(str(a["day"])))
            students[key].add(str(a["student_id"]))
    groups = {(c, s) for c, s, _d in students}
    found: list[Cluster] = []
    for class_id, symptom in sorted(groups):
        day = start
        while day <= end:
            if calendar.is_open(day):
                today_ = students.get((class_id, symptom, day), set())
                window = _school_days_back(day, rule.window_days, calendar)
                seen: set[str] = set()
                for d in window:
                    seen |= students.get((class_id, symptom, d), set())
                if len(today_) >= rule.day_count:
                    found.append(Cluster(class_id, symptom, day, day, len(today_), "day"))
                elif today_ and len(seen) >= rule.window_count:
                    found.append(Cluster(class_id, symptom, window[0], day, len(seen), "window"))
            day += timedelta(days=1)
    return found


def close_problem(merged: Fields, changed: Iterable[str]) -> str | None:
    """Why a change that closes a sick case cannot stand (None: it can). Only a change that
    closes the case (or edits a closed case's clearance) is held to it: cases closed before
    clearances existed stay as they were."""
    keys = {key.partition(".")[0] for key in changed}
    if merged.get("status") != "closed" or not keys & {
        "status",
        "clearance_by",
        "clearance_on",
        "clearance_waived",
    }:
        return None
    if not merged.get("returned_on"):
        return "returned_on: a closed case needs the day the student was back"
    waived = str(merged.get("clearance_waived") or "").strip()
    if not waived and not (merged.get("clearance_by") and merged.get("clearance_on")):
        return (
            "clearance_by: a closed case needs the return clearance (who issued it and when)"
            " or clearance_waived, the reason none was needed"
        )
    return None
