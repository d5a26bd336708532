"""The lead's reports: JSON for screens, CSV/XLSX for spreadsheets, PDF for the files."""

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from server.deps import LeadUser, SessionDep, SettingsDep
from server.errors import ApiError
from server.reports import compute, export, health
from server.reports import daily_record as record_sections
from server.reports.history import write_history
from server.reports.rounds import SchoolRounds
from server.reports.snapshot import SchoolSnapshot, load
from shared.schemas.types import FIRST_DAY, LAST_DAY
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
    ("responsible", "report.responsible"),
    ("cleaner", "report.by"),
    ("completed_at", "report.time"),
    ("items_done", "report.items_done"),
    ("items_excused", "report.items_excused"),
    ("items_total", "report.items_total"),
    ("flags", "report.flags"),
]
FLAG_COLUMNS = [
    ("day", "report.date"),
    ("area", "report.area"),
    ("item", "report.item"),
    ("flag", "report.flag"),
    ("value", "report.value"),
    ("unit", "report.unit"),
    ("expected", "report.expected"),
    ("cleaner", "report.by"),
    ("completed_at", "report.time"),
]
TALLY = [
    ("done", "report.done"),
    ("late", "report.late"),
    ("incomplete", "report.incomplete"),
    ("missed", "report.missed"),
]
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
COUNSELING_COLUMNS = record_sections.COUNSELING_COLUMNS


def _within(name: str, day: date | None) -> date | None:
    if day is not None and not FIRST_DAY <= day <= LAST_DAY:
        raise ApiError(422, "invalid_value", f"{name}: a day from {FIRST_DAY} to {LAST_DAY}")
    return day


def _today(school: SchoolSnapshot, as_of: date | None) -> date:
    return _within("as_of", as_of) or school.calendar.today(datetime.now(UTC))


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
    start = _within("start", start) or reading.today
    end = _within("end", end) or reading.today
    if end < start:
        raise ApiError(422, "invalid_value", "end: must not be before start")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise ApiError(422, "invalid_value", f"A report covers at most {MAX_RANGE_DAYS} days.")
    return Span(reading, start, end)


ReadingDep = Annotated[Reading, Depends(_reading)]
SpanDep = Annotated[Span, Depends(_span)]
Sheet = tuple[str, list[dict[str, Any]], list[tuple[str, str]]]


def _reply(
    school: SchoolSnapshot,
    format: Format,
    lang: Lang,
    name: str,
    sheets: list[Sheet],
    body: dict[str, Any],
) -> Any:
    """The report as asked: its JSON body, its first sheet as CSV, or every sheet as XLSX
    (times in the school's time zone, which the files name)."""
    zone = school.calendar.timezone
    if format == "csv":
        _title, rows, columns = sheets[0]
        return _file(export.to_csv(rows, columns, lang, zone), "text/csv", f"{name}.csv")
    if format == "xlsx":
        return _file(export.to_xlsx(sheets, lang, zone), XLSX, f"{name}.xlsx")
    return body


def _file(content: bytes, media_type: str, name: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


HISTORY_COLUMNS = [
    ("received_at", "report.time"),
    ("who", "report.by"),
    ("device", "report.device"),
    ("collection", "report.what"),
    ("record", "report.record"),
    ("fields", "report.fields"),
    ("values", "report.values"),
]


@router.get("/history", responses=_errors)
def history(span: SpanDep, session: SessionDep, format: Format = "json", lang: Lang = "zh") -> Any:
    """The write history: who changed what, on which device, when (newest first; at most
    5,000 changes, `more` says there were more). A counseling note or outcome is named as
    changed, never shown."""
    school, start, end = span.reading.school, span.start, span.end
    rows, more = write_history(session, school, start, end, lang)
    sheets: list[Sheet] = [("history", rows, HISTORY_COLUMNS)]
    body = {"start": start, "end": end, "changes": rows, "more": more}
    return _reply(school, format, lang, f"history-{start}-{end}", sheets, body)


@router.get("/disinfection", responses=_errors)
def disinfection(span: SpanDep, format: Format = "json", lang: Lang = "zh") -> Any:
    """Rounds done, late, incomplete and missed per day, area, area kind and cleaner, each
    day's items against the checklist, who is responsible, and flagged doses and readings."""
    school, today, start, end = span.reading.school, span.reading.today, span.start, span.end
    rounds = SchoolRounds(school)
    rows = compute.disinfection_days(school, start, end, today, lang, rounds)
    flags = rounds.flags(start, end, lang)
    days = [dict(vars(row)) for row in rows]
    tallies = {by: compute.tally(rows, by) for by in ("area", "kind", "cleaner", "day", "week")}
    sheets: list[Sheet] = [
        ("days", _with_flags(days, flags, lang), DAY_COLUMNS),
        ("areas", tallies["area"], [("area", "report.area"), *TALLY]),
        ("kinds", tallies["kind"], [("kind", "report.kind"), *TALLY]),
        ("cleaners", tallies["cleaner"], [("cleaner", "report.cleaner"), *TALLY]),
        ("per day", tallies["day"], [("day", "report.date"), *TALLY]),
        ("per week", tallies["week"], [("week", "report.week"), *TALLY]),
        ("flags", [{**f, "flag": f["kind"]} for f in flags], FLAG_COLUMNS),
    ]
    body = {"start": start, "end": end, "as_of": today, "days": days, "flags": flags}
    body.update({f"by_{by}": rows_by for by, rows_by in tallies.items()})
    return _reply(school, format, lang, f"disinfection-{start}-{end}", sheets, body)


def _with_flags(
    days: list[dict[str, Any]], flags: list[dict[str, Any]], lang: str
) -> list[dict[str, Any]]:
    """Day rows for a file, each with its flags in one cell (a CSV holds one table)."""
    by_day: dict[tuple[str, date], list[str]] = {}
    for flag in flags:
        by_day.setdefault((flag["area_id"], flag["day"]), []).append(
            export.flag_summary(flag, lang)
        )
    return [{**d, "flags": "; ".join(by_day.get((d["area_id"], d["day"]), []))} for d in days]


@router.get("/follow-ups", responses=_errors)
def follow_ups(span: SpanDep, format: Format = "json", lang: Lang = "zh") -> Any:
    """Sick-student follow-up coverage and temperature checks, per class and teacher."""
    today, start, end = span.reading.today, span.start, span.end
    school = span.reading.school
    rows = compute.follow_up_coverage(school, start, end, today, lang)
    body = {"start": start, "end": end, "as_of": today, "classes": rows}
    sheets: list[Sheet] = [("classes", rows, FOLLOW_UP_COLUMNS)]
    return _reply(school, format, lang, f"follow-ups-{start}-{end}", sheets, body)


@router.get("/health", responses=_errors)
def health_chain(span: SpanDep, format: Format = "json", lang: Lang = "zh") -> Any:
    """晨午检 per class, day and slot (up to today); the absence register with where each
    illness absence's cause stands (病因追查); cluster alerts by the school's thresholds."""
    school, today, start, end = span.reading.school, span.reading.today, span.start, span.end
    chain = health.SchoolHealth(school)
    days = chain.check_days(start, end, today, lang)
    absences = chain.register(start, end, today, lang)
    clusters = chain.clusters(start, end, lang)
    sheets: list[Sheet] = [
        ("checks", health.slot_rows(days), health.CHECK_COLUMNS),
        ("absences", absences, health.ABSENCE_COLUMNS),
        ("clusters", clusters, health.CLUSTER_COLUMNS),
    ]
    body = {
        "start": start,
        "end": end,
        "as_of": today,
        "slots": list(chain.slots),
        "rule": asdict(chain.rule),
        "days": days,
        "absences": absences,
        "causes_missing": [a for a in absences if a["cause"] in ("open", "overdue")],
        "clusters": clusters,
    }
    return _reply(school, format, lang, f"health-{start}-{end}", sheets, body)


@router.get("/counseling", responses=_errors)
def counseling(reading: ReadingDep, format: Format = "json", lang: Lang = "zh") -> Any:
    """Open counseling cases and overdue contacts by risk level: counts, never notes."""
    rows = compute.counseling_counts(reading.school, reading.today)
    body = {"as_of": reading.today, "risk_levels": rows}
    sheets: list[Sheet] = [("counseling", rows, COUNSELING_COLUMNS)]
    return _reply(reading.school, format, lang, f"counseling-{reading.today}", sheets, body)


@router.get("/today", responses=_errors)
def today_dashboard(reading: ReadingDep, lang: Lang = "zh") -> dict[str, Any]:
    """The lead's dashboard: areas as the cleaners' phones see them (with who is responsible
    for each), sick cases, counseling."""
    school, today = reading.school, reading.today
    return {
        "day": today,
        "areas": compute.areas_today(school, today, lang),
        "classes": compute.follow_up_coverage(school, today, today, today, lang),
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
    format: Literal["pdf", "xlsx"] = "pdf",
) -> Response:
    """The printable daily record (防控记录) with who did each item; `format=xlsx` gives
    its sections as sheets, for reporting upward."""
    school = load(session, settings)
    today = _today(school, None)
    day = _within("day", day) or today
    if day > today:
        raise ApiError(422, "invalid_value", "day: the record of a day that has not come yet")
    sections = record_sections.sections(school, day, today, lang)
    if format == "xlsx":
        sheets = [(key.removeprefix("report."), rows, cols) for key, rows, cols in sections]
        content = export.to_xlsx(sheets, lang, school.calendar.timezone)
        return _file(content, XLSX, f"daily-record-{day}-{lang}.xlsx")
    series = compute.compliance_series(school, 30, today, end=day)
    pdf = export.daily_record_pdf(
        day, lang, sections, series, lead.user.display_name, school.calendar.timezone
    )
    return _file(pdf, "application/pdf", f"daily-record-{day}-{lang}.pdf")
