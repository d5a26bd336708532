"""The lead's reports: JSON for screens, CSV/XLSX for spreadsheets, PDF for the files."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from server.deps import LeadUser, SessionDep, SettingsDep
from server.errors import ApiError
from server.reports import compute, export
from server.reports.snapshot import SchoolSnapshot, load
from shared.schedule import checks_done, class_needs_checks
from shared.schemas.wire import ErrorBody

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
_errors: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (401, 403, 422)}
MAX_RANGE_DAYS = 366
Format = Literal["json", "csv", "xlsx"]
Lang = Literal["zh", "en"]

DAY_COLUMNS = [
    ("day", "report.date"),
    ("area", "report.area"),
    ("kind", "report.kind"),
    ("outcome", "report.outcome"),
    ("cleaner", "report.by"),
    ("completed_at", "report.time"),
]
TALLY = [("done", "report.done"), ("late", "report.late"), ("missed", "report.missed")]
FOLLOW_UP_COLUMNS = [
    ("class", "report.class"),
    ("teacher", "report.teacher"),
    ("cases", "report.cases"),
    ("required", "report.required"),
    ("done", "report.done"),
    ("missed", "report.missed"),
    ("checks_needed", "report.checks_needed"),
    ("checks_done", "report.checks_done"),
]
COUNSELING_COLUMNS = [
    ("risk_level", "report.risk"),
    ("open_cases", "report.open_cases"),
    ("overdue", "report.overdue"),
]


def _today(school: SchoolSnapshot, as_of: date | None) -> date:
    return as_of or school.calendar.today(datetime.now(UTC))


@dataclass
class Reading:
    """The school as a report reads it, and the day it is read as of."""

    school: SchoolSnapshot
    today: date


def _reading(
    _lead: LeadUser, session: SessionDep, settings: SettingsDep, as_of: date | None = None
) -> Reading:
    school = load(session, settings)
    return Reading(school, _today(school, as_of))


@dataclass
class Span:
    """A report's days, start to end (each today when not given), and what it reads."""

    reading: Reading
    start: date
    end: date


def _span(
    reading: Annotated[Reading, Depends(_reading)],
    start: date | None = None,
    end: date | None = None,
) -> Span:
    start, end = start or reading.today, end or reading.today
    if end < start:
        raise ApiError(422, "invalid_value", "end: must not be before start")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise ApiError(422, "invalid_value", f"A report covers at most {MAX_RANGE_DAYS} days.")
    return Span(reading, start, end)


ReadingDep = Annotated[Reading, Depends(_reading)]
SpanDep = Annotated[Span, Depends(_span)]
Sheet = tuple[str, list[dict[str, Any]], list[tuple[str, str]]]


def _reply(format: Format, lang: Lang, name: str, sheets: list[Sheet], body: dict[str, Any]) -> Any:
    """The report as asked: its JSON body, its first sheet as CSV, or every sheet as XLSX."""
    if format == "csv":
        _title, rows, columns = sheets[0]
        return _file(export.to_csv(rows, columns, lang), "text/csv", f"{name}.csv")
    if format == "xlsx":
        return _file(export.to_xlsx(sheets, lang), XLSX, f"{name}.xlsx")
    return body


def _file(content: bytes, media_type: str, name: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/disinfection", responses=_errors)
def disinfection(span: SpanDep, format: Format = "json", lang: Lang = "zh") -> Any:
    """Rounds done, late and missed per day, area, area kind and cleaner."""
    school, today, start, end = span.reading.school, span.reading.today, span.start, span.end
    rows = compute.disinfection_days(school, start, end, today)
    days = [vars(row) for row in rows]
    tallies = {by: compute.tally(rows, by) for by in ("area", "kind", "cleaner", "day", "week")}
    sheets: list[Sheet] = [
        ("days", days, DAY_COLUMNS),
        ("areas", tallies["area"], [("area", "report.area"), *TALLY]),
        ("kinds", tallies["kind"], [("kind", "report.kind"), *TALLY]),
        ("cleaners", tallies["cleaner"], [("cleaner", "report.cleaner"), *TALLY]),
        ("per day", tallies["day"], [("day", "report.date"), *TALLY]),
        ("per week", tallies["week"], [("week", "report.week"), *TALLY]),
    ]
    body = {"start": start, "end": end, "as_of": today, "days": days}
    body.update({f"by_{by}": rows_by for by, rows_by in tallies.items()})
    return _reply(format, lang, f"disinfection-{start}-{end}", sheets, body)


@router.get("/follow-ups", responses=_errors)
def follow_ups(span: SpanDep, format: Format = "json", lang: Lang = "zh") -> Any:
    """Sick-student follow-up coverage and temperature checks, per class and teacher."""
    today, start, end = span.reading.today, span.start, span.end
    rows = compute.follow_up_coverage(span.reading.school, start, end, today)
    body = {"start": start, "end": end, "as_of": today, "classes": rows}
    sheets: list[Sheet] = [("classes", rows, FOLLOW_UP_COLUMNS)]
    return _reply(format, lang, f"follow-ups-{start}-{end}", sheets, body)


@router.get("/counseling", responses=_errors)
def counseling(reading: ReadingDep, format: Format = "json", lang: Lang = "zh") -> Any:
    """Open counseling cases and overdue contacts by risk level: counts, never notes."""
    rows = compute.counseling_counts(reading.school, reading.today)
    body = {"as_of": reading.today, "risk_levels": rows}
    sheets: list[Sheet] = [("counseling", rows, COUNSELING_COLUMNS)]
    return _reply(format, lang, f"counseling-{reading.today}", sheets, body)


@router.get("/today", responses=_errors)
def today_dashboard(reading: ReadingDep) -> dict[str, Any]:
    """The lead's dashboard: areas as the cleaners' phones see them, sick cases, counseling."""
    school, today = reading.school, reading.today
    return {
        "day": today,
        "areas": compute.areas_today(school, today),
        "classes": compute.follow_up_coverage(school, today, today, today),
        "counseling": compute.counseling_counts(school, today),
    }


@router.get("/compliance", responses=_errors)
def compliance(
    reading: ReadingDep, days: Annotated[int, Query(ge=1, le=MAX_RANGE_DAYS)] = 30
) -> dict[str, Any]:
    """Daily disinfection compliance, for a chart."""
    series = compute.compliance_series(reading.school, days, reading.today)
    return {"as_of": reading.today, "series": series}


@router.get("/daily-record", responses=_errors)
def daily_record(
    lead: LeadUser,
    session: SessionDep,
    settings: SettingsDep,
    day: date | None = None,
    lang: Lang = "zh",
) -> Response:
    """The printable daily record (防控记录) with who did each item."""
    school = load(session, settings)
    today = _today(school, None)
    day = day or today
    if day > today:
        raise ApiError(422, "invalid_value", "day: the record of a day that has not come yet")
    sections = [
        (
            "report.disinfection",
            _disinfection_rows(school, day, today),
            [
                ("area", "report.area"),
                ("kind", "report.kind"),
                ("outcome", "report.outcome"),
                ("by", "report.by"),
                ("time", "report.time"),
                ("items", "report.items"),
            ],
        ),
        (
            "report.sick_students",
            _sick_rows(school, day),
            [
                ("class", "report.class"),
                ("student", "report.student"),
                ("follow_up", "report.follow_up"),
                ("temperature", "report.temperature"),
                ("by", "report.by"),
            ],
        ),
        (
            "report.temperature_checks",
            _check_rows(school, day),
            [
                ("class", "report.class"),
                ("checks_needed", "report.checks_needed"),
                ("checks_done", "report.checks_done"),
            ],
        ),
        ("report.counseling", compute.counseling_counts(school, day), COUNSELING_COLUMNS),
    ]
    series = compute.compliance_series(school, 30, day)
    pdf = export.daily_record_pdf(
        day, lang, sections, series, lead.user.display_name, school.calendar.timezone
    )
    return _file(pdf, "application/pdf", f"daily-record-{day}-{lang}.pdf")


def _disinfection_rows(school: SchoolSnapshot, day: date, today: date) -> list[dict[str, Any]]:
    rounds = school.records.get("disinfection_rounds", {})
    rows = []
    for row in compute.disinfection_days(school, day, day, today):
        if row.outcome == "not_due":
            continue
        record = next(
            (
                r
                for r in rounds.values()
                if str(r.fields.get("area_id")) == row.area_id
                and r.fields.get("completed_at")
                and school.calendar.day_of(r.fields["completed_at"]) == day
            ),
            None,
        )
        people, items = "", ""
        time = ""
        if record is not None:
            ticked = {k: v for k, v in record.fields.get("items", {}).items() if v.get("done")}
            authors = {
                school.name(meta.get("by"))
                for key, meta in record.field_meta.items()
                if key.startswith("items.") and key[6:] in ticked
            }
            authors.add(school.name(record.fields.get("cleaner_id")))
            people = "、".join(sorted(a for a in authors if a))
            items = f"{len(ticked)}/{len(record.fields.get('items', {}))}"
            completed = datetime.fromisoformat(record.fields["completed_at"])
            time = completed.astimezone(school.calendar.timezone).strftime("%H:%M")
        rows.append(
            {
                "area": row.area,
                "kind": row.kind,
                "outcome": row.outcome,
                "by": people,
                "time": time,
                "items": items,
            }
        )
    return rows


def _sick_rows(school: SchoolSnapshot, day: date) -> list[dict[str, Any]]:
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
                "class": classes.get(str(case["class_id"]), {}).get("name", ""),
                "student": students.get(str(case["student_id"]), {}).get("name", ""),
                "follow_up": f"method.{visit.fields['method']}" if visit else "outcome.missed",
                "temperature": f"{temperature:.1f}" if temperature is not None else "",
                "by": school.name(visit.created_by) if visit else "",
            }
        )
    return sorted(rows, key=lambda r: (r["class"], r["student"]))


def _check_rows(school: SchoolSnapshot, day: date) -> list[dict[str, Any]]:
    rows = []
    for class_id, school_class in sorted(
        school.live("classes").items(), key=lambda c: c[1]["name"]
    ):
        cases = [c for _, c in school.by("class_id", "sick_cases", class_id)]
        if not class_needs_checks(cases, day):
            continue
        checks = [c for _, c in school.by("class_id", "temperature_checks", class_id)]
        rows.append(
            {
                "class": school_class["name"],
                "checks_needed": school.calendar.checks_per_day,
                "checks_done": checks_done(checks, day, school.calendar),
            }
        )
    return rows
