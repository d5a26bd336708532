"""The school's daily health chain as the lead reads it: 晨午检 by class, day and slot, the
absence register with its causes (病因追查), and cluster alerts. Every judgement is
shared.health's, the same rule the phones run; this module only lays it out in rows."""

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any

from server.reports.snapshot import SchoolSnapshot
from shared.health import (
    ClusterRule,
    cause_recorded,
    causes_missing,
    check_day,
    check_slot,
    clusters,
    missing_checks,
    slots_of,
)
from shared.schemas.collections import SCHOOL_SETTINGS_ID
from shared.schemas.vocabulary import CheckSlot

Row = dict[str, Any]
Column = tuple[str, str]
_SLOT_ORDER = {slot.value: n for n, slot in enumerate(CheckSlot)}

# The tables of the files (CSV, XLSX, the daily record): one row per class, day and slot;
# one per absence; one per cluster.
CHECK_COLUMNS: list[Column] = [
    ("day", "report.date"),
    ("class", "report.class"),
    ("slot", "report.slot"),
    ("check", "report.check"),
    ("present", "report.present"),
    ("absent", "report.absent"),
    ("fever_count", "report.fever_count"),
    ("fever_students", "report.fever_students"),
    ("checked_by", "report.checked_by"),
    ("checked_at", "report.check_time"),
]
ABSENCE_COLUMNS: list[Column] = [
    ("day", "report.date"),
    ("class", "report.class"),
    ("student", "report.student"),
    ("absence_kind", "report.absence_kind"),
    ("symptom", "report.symptom"),
    ("saw_doctor", "report.saw_doctor"),
    ("diagnosis", "report.diagnosis"),
    ("infectious", "report.infectious"),
    ("cause", "report.cause"),
    ("note", "report.note"),
]
CLUSTER_COLUMNS: list[Column] = [
    ("class", "report.class"),
    ("symptom", "report.symptom"),
    ("first", "report.first_day"),
    ("last", "report.last_day"),
    ("students", "report.students"),
    ("rule", "report.cluster_rule"),
]


def slot_rows(days: list[Row]) -> list[Row]:
    """The per class and day rows of `SchoolHealth.check_days`, one row per slot."""
    return [
        {"day": row["day"], "class": row["class"], **slot} for row in days for slot in row["slots"]
    ]


class SchoolHealth:
    """The school's checks and absences, read once for a report."""

    def __init__(self, school: SchoolSnapshot) -> None:
        self.school = school
        self.calendar = school.calendar
        settings = school.live("school_settings").get(str(SCHOOL_SETTINGS_ID))
        self.slots = slots_of(settings)
        self.rule = ClusterRule.from_settings(settings)
        self.classes = sorted(school.live("classes").items(), key=lambda c: c[1]["name"])
        self.absences = school.live("absences")
        self.students = school.live("students")  # read once: every check and absence names some

    @cached_property
    def checks_by_day(self) -> dict[date, list[tuple[str, dict[str, Any]]]]:
        """Checks by the school day they belong to (old ones by their time: shared.health),
        so that a day's rule reads only that day's checks."""
        days: dict[date, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        for check_id, check in self.school.live("temperature_checks").items():
            days[check_day(check, self.calendar)].append((check_id, check))
        return days

    def days(self, start: date, end: date) -> Iterator[date]:
        day = start
        while day <= end:
            yield day
            day += timedelta(days=1)

    def missing(self, day: date) -> dict[str, list[str]]:
        """Per class, the slots of `day` without a check (shared.health.missing_checks)."""
        checks = [c for _, c in self.checks_by_day.get(day, [])]
        return missing_checks([c for c, _ in self.classes], checks, day, self.calendar, self.slots)

    def coverage(self, start: date, end: date, today: date) -> dict[str, tuple[int, int]]:
        """Per class: the checks due on the open days of start … end up to today (one per
        slot) and how many of them were made."""
        counted: dict[str, tuple[int, int]] = {c: (0, 0) for c, _ in self.classes}
        for day in self.days(start, min(end, today)):
            if not self.calendar.is_open(day):
                continue
            missing = self.missing(day)
            for class_id, (needed, done) in counted.items():
                due = len(self.slots)
                counted[class_id] = (needed + due, done + due - len(missing.get(class_id, [])))
        return counted

    # 晨午检 --------------------------------------------------------------------------

    def check_days(self, start: date, end: date, today: date, lang: str) -> list[Row]:
        """Per day (up to today) and class: each slot's check, or that it is missing. A
        closed day is listed only where a class was checked all the same."""
        rows = []
        for day in self.days(start, min(end, today)):
            is_open = self.calendar.is_open(day)
            missing = self.missing(day)
            made = self._checks_of(day, lang)
            for class_id, school_class in self.classes:
                done = made.get(class_id, {})
                if not is_open and not done:
                    continue
                slots = sorted(
                    set(self.slots if is_open else ()) | set(done),
                    key=lambda s: _SLOT_ORDER.get(s, 99),
                )
                rows.append(
                    {
                        "day": day,
                        "open": is_open,
                        "class_id": class_id,
                        "class": self.school.label(school_class, lang),
                        "teacher": self._teachers(school_class),
                        "slots": [done.get(s) or {"slot": s, "check": "missing"} for s in slots],
                        "missing": missing.get(class_id, []),
                    }
                )
        return rows

    def _checks_of(self, day: date, lang: str) -> dict[str, dict[str, Row]]:
        """Class → slot → the check that stands for it (the latest made, when a teacher
        checked a slot twice)."""
        found: dict[str, dict[str, Row]] = defaultdict(dict)
        ordered = sorted(self.checks_by_day.get(day, []), key=lambda c: str(c[1]["checked_at"]))
        for check_id, check in ordered:
            slot = check_slot(check, self.calendar)
            found[str(check["class_id"])][slot] = self._check_row(check_id, check, slot)
        return found

    def _check_row(self, check_id: str, check: dict[str, Any], slot: str) -> Row:
        students = self.students
        return {
            "slot": slot,
            "check": "done",
            "check_id": check_id,
            "present": check.get("students_checked", 0),
            "absent": check.get("absent", 0),
            "fever_count": check.get("fever_count", 0),
            "fever_students": [
                str(students.get(str(s), {}).get("name", ""))
                for s in check.get("fever_student_ids") or []
            ],
            "checked_by": self.school.name(check.get("checked_by")),
            "checked_at": datetime.fromisoformat(str(check["checked_at"])).astimezone(
                self.calendar.timezone
            ),
        }

    def _teachers(self, school_class: dict[str, Any]) -> list[str]:
        return self.school.names_of(school_class.get("teacher_ids"))

    # The absence register and its causes ----------------------------------------------

    def register(self, start: date, end: date, today: date, lang: str) -> list[Row]:
        """The absences of start … end, each with where its cause stands: recorded, still
        open (today's, or a day not yet come), overdue (病因追查 left past its day)."""
        late = set(
            causes_missing(
                ((a_id, a) for a_id, a in self.absences.items() if self._in(a, start, end)),
                today,
            )
        )
        students = self.students
        classes = dict(self.classes)
        rows = []
        for absence_id, absence in self.absences.items():
            if not self._in(absence, start, end):
                continue
            day = date.fromisoformat(str(absence["day"]))
            cause = None
            if absence.get("kind") == "illness":
                cause = "recorded" if cause_recorded(absence) else "open"
                if absence_id in late and day < today:
                    cause = "overdue"
            rows.append(
                {
                    "absence_id": absence_id,
                    "day": day,
                    "class_id": str(absence.get("class_id")),
                    "class": self.school.label(classes.get(str(absence.get("class_id")), {}), lang),
                    "student_id": str(absence.get("student_id")),
                    "student": str(
                        students.get(str(absence.get("student_id")), {}).get("name", "")
                    ),
                    "absence_kind": absence.get("kind"),
                    "symptom": absence.get("symptom"),
                    "saw_doctor": absence.get("saw_doctor"),
                    "diagnosis": absence.get("diagnosis", ""),
                    "infectious": absence.get("infectious"),
                    "case_id": absence.get("case_id"),
                    "note": absence.get("note", ""),
                    "cause": cause,
                }
            )
        return sorted(rows, key=lambda r: (r["day"], r["class"], r["student"]))

    @staticmethod
    def _in(absence: dict[str, Any], start: date, end: date) -> bool:
        return start <= date.fromisoformat(str(absence["day"])) <= end

    # Cluster alerts -------------------------------------------------------------------

    def clusters(self, start: date, end: date, lang: str) -> list[Row]:
        """Clusters whose last day falls in start … end, by the school's thresholds; the
        absences read reach back before `start`, as a window may."""
        classes = dict(self.classes)
        return [
            {
                "class_id": found.class_id,
                "class": self.school.label(classes.get(found.class_id, {}), lang),
                "symptom": found.symptom,
                "first": found.first,
                "last": found.last,
                "students": found.students,
                "rule": found.rule,
            }
            for found in clusters(self.absences.values(), start, end, self.calendar, self.rule)
        ]
