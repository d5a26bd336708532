"""The rows of the printable daily record (防控记录): one table per section, in `lang`."""

from datetime import date
from typing import Any

from server.reports import compute, export, health
from server.reports.rounds import SchoolRounds
from server.reports.snapshot import SchoolSnapshot
from shared.i18n import t
from shared.schedule import class_needs_checks

Column = tuple[str, str]
Section = tuple[str, list[dict[str, Any]], list[Column]]

DISINFECTION_COLUMNS: list[Column] = [
    ("area", "report.area"),
    ("kind", "report.kind"),
    ("outcome", "report.outcome"),
    ("responsible", "report.responsible"),
    ("by", "report.by"),
    ("time", "report.time"),
    ("items", "report.items"),
]
FLAG_COLUMNS: list[Column] = [
    ("area", "report.area"),
    ("item", "report.item"),
    ("flag", "report.flag"),
    ("value", "report.value"),
    ("expected", "report.expected"),
    ("cleaner", "report.by"),
    ("time", "report.time"),
]
SICK_COLUMNS: list[Column] = [
    ("class", "report.class"),
    ("student", "report.student"),
    ("follow_up", "report.follow_up"),
    ("temperature", "report.temperature"),
    ("by", "report.by"),
]
# The day's 晨午检, absences and cluster alerts: the health report's tables, less the day.
CHECK_COLUMNS: list[Column] = [c for c in health.CHECK_COLUMNS if c[0] != "day"]
ABSENCE_COLUMNS: list[Column] = [c for c in health.ABSENCE_COLUMNS if c[0] != "day"]
CLUSTER_COLUMNS = health.CLUSTER_COLUMNS
COUNSELING_COLUMNS: list[Column] = [
    ("risk_level", "report.risk"),
    ("open_cases", "report.open_cases"),
    ("overdue", "report.overdue"),
]


def sections(school: SchoolSnapshot, day: date, today: date, lang: str) -> list[Section]:
    rounds = SchoolRounds(school)
    chain = health.SchoolHealth(school)
    return [
        (
            "report.disinfection",
            disinfection_rows(school, rounds, day, today, lang),
            DISINFECTION_COLUMNS,
        ),
        ("report.flags", flag_rows(rounds, day, lang), FLAG_COLUMNS),
        ("report.sick_students", sick_rows(school, day, lang), SICK_COLUMNS),
        ("report.checks", check_rows(chain, day, today, lang), CHECK_COLUMNS),
        ("report.absences", chain.register(day, day, today, lang), ABSENCE_COLUMNS),
        ("report.clusters", chain.clusters(day, day, lang), CLUSTER_COLUMNS),
        ("report.counseling", compute.counseling_counts(school, day), COUNSELING_COLUMNS),
    ]


def items_text(done: int, total: int, excused: int, lang: str) -> str:
    """Items done out of the checklist's items in use ("2/9"), and how many were excused."""
    key = "report.items_cell_excused" if excused else "report.items_cell"
    return t(key, lang).format(done=done, total=total, excused=excused)


def disinfection_rows(
    school: SchoolSnapshot, rounds: SchoolRounds, day: date, today: date, lang: str
) -> list[dict[str, Any]]:
    rows = []
    for row in compute.disinfection_days(school, day, day, today, lang, rounds):
        if row.outcome == "not_due":
            continue
        people, items, time = "", "", ""
        record = school.records.get("disinfection_rounds", {}).get(row.round_id or "")
        if record is not None and row.completed_at is not None:
            ticked = {k for k, v in (record.fields.get("items") or {}).items() if v.get("done")}
            authors = {
                school.name(meta.get("by"))
                for key, meta in record.field_meta.items()
                if key.startswith("items.") and key[6:] in ticked
            }
            authors.add(row.cleaner)
            people = "、".join(sorted(a for a in authors if a))
            items = items_text(row.items_done, row.items_total, row.items_excused, lang)
            time = row.completed_at.strftime("%H:%M")
        rows.append(
            {
                "area": row.area,
                "kind": row.kind,
                "outcome": row.outcome,
                "responsible": row.responsible,
                "by": people,
                "time": time,
                "items": items,
            }
        )
    return rows


def flag_rows(rounds: SchoolRounds, day: date, lang: str) -> list[dict[str, Any]]:
    return [
        {
            **flag,
            "flag": flag["kind"],
            "value": export.flag_value(flag, lang),
            "time": flag["completed_at"].strftime("%H:%M"),
        }
        for flag in rounds.flags(day, day, lang)
    ]


def sick_rows(school: SchoolSnapshot, day: date, lang: str) -> list[dict[str, Any]]:
    classes = school.live("classes")
    students = school.live("students")
    follow_ups = school.records.get("follow_ups", {})
    rows = []
    for case_id, case in school.live("sick_cases").items():
        if not class_needs_checks([case], day):
            continue
        visit = next(
            (
                r
                for r in follow_ups.values()
                if str(r.fields.get("case_id")) == case_id
                and r.fields.get("visit_date") == str(day)
            ),
            None,
        )
        temperature = visit.fields.get("temperature_c") if visit else None
        rows.append(
            {
                "class": school.label(classes.get(str(case["class_id"]), {}), lang),
                "student": students.get(str(case["student_id"]), {}).get("name", ""),
                "follow_up": f"method.{visit.fields['method']}" if visit else "outcome.missed",
                "temperature": f"{temperature:.1f}" if temperature is not None else "",
                "by": school.name(visit.created_by) if visit else "",
            }
        )
    return sorted(rows, key=lambda r: (r["class"], r["student"]))


def check_rows(
    chain: health.SchoolHealth, day: date, today: date, lang: str
) -> list[dict[str, Any]]:
    """The day's checks by class and slot, each at its time of day in the school's zone."""
    return [
        {**row, "checked_at": row["checked_at"].strftime("%H:%M") if row.get("checked_at") else ""}
        for row in health.slot_rows(chain.check_days(day, day, today, lang))
    ]
