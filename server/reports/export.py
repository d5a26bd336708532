"""Reports as files the school keeps: CSV, XLSX, and the printable daily record (PDF)."""

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, tzinfo
from functools import cache
from importlib import resources
from typing import Any

from fpdf import FPDF
from fpdf.fonts import FontFace
from openpyxl import Workbook

from shared.i18n import CATALOGUE, t

Column = tuple[str, str]  # (row key, catalogue key of the header)

# Headers whose column holds instants: they are written in the school's time zone, and the
# header names the zone, so that a spreadsheet never shows a bare UTC time as local.
ZONED = frozenset({"report.time", "report.check_time"})
# Row keys whose values are words of the protocol's vocabularies (a slot, a symptom…): the
# catalogue prefix each is said by. An absence's kind is `absence_kind`, apart from an
# area's `kind`, because both are written in one workbook.
VOCABULARY = {
    "slot": "report.slot.",
    "check": "report.check.",
    "absence_kind": "report.absence.",
    "symptom": "report.symptom.",
    "cause": "report.cause.",
    "rule": "report.cluster.",
}
TIME_FORMAT = "%Y-%m-%d %H:%M"


def _header(key: str, lang: str, timezone: tzinfo) -> str:
    return f"{t(key, lang)} ({timezone})" if key in ZONED else t(key, lang)


# What no cell may hold: C0 and C1 controls but tab and newline (openpyxl refuses the C0
# ones, and a PDF would draw boxes), and lone surrogates (not encodable). The schemas refuse
# them on the way in; a value stored before they did is cleaned here, never refused, so
# that one old name cannot break every report naming it.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def printable(text: str) -> str:
    return _UNPRINTABLE.sub("", text)


def _cell(row: dict[str, Any], key: str, lang: str, timezone: tzinfo) -> Any:
    value = _raw_cell(row, key, lang, timezone)
    return printable(value) if isinstance(value, str) else value


def _raw_cell(row: dict[str, Any], key: str, lang: str, timezone: tzinfo) -> Any:
    value = row.get(key, "")
    if key == "outcome":
        return t(f"outcome.{value}", lang)
    if key == "kind":
        return t(f"kind.{value}", lang)
    if key == "risk_level":
        return t(f"risk.{value}", lang)
    if key == "follow_up":  # a catalogue key: how the student was followed, or "missed"
        return t(str(value), lang)
    if key == "flag":  # what a flag is about: a dose or a reading
        return t(f"report.flag.{value}", lang)
    if key == "unit":
        return unit_text(str(value), lang)
    if key in VOCABULARY:
        return t(f"{VOCABULARY[key]}{value}", lang) if value else ""
    if isinstance(value, bool):  # a yes-or-no answer (saw a doctor); None: not said
        return t("report.yes" if value else "report.no", lang)
    if isinstance(value, datetime):
        return value.astimezone(timezone).strftime(TIME_FORMAT)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):  # people's names
        return ("、" if lang == "zh" else ", ").join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return "" if value is None else value


def unit_text(unit: str, lang: str) -> str:
    """A unit as people write it: "mg/L", "%", or the reading's own unit ("°C")."""
    key = f"report.unit.{unit}"
    return t(key, lang) if key in CATALOGUE["en"] else unit


def flag_value(flag: dict[str, Any], lang: str) -> str:
    """A flagged value with its unit, as the bottle or the meter shows it: "250 mg/L"."""
    return f"{flag['value']:g} {unit_text(str(flag['unit']), lang)}".strip()


def flag_summary(flag: dict[str, Any], lang: str) -> str:
    """One flag in a cell: the item, what was recorded, and what was asked."""
    return t("report.flag_summary", lang).format(
        item=flag["item"], value=flag_value(flag, lang), expected=flag["expected"]
    )


def to_csv(
    rows: Iterable[dict[str, Any]], columns: Sequence[Column], lang: str, timezone: tzinfo
) -> bytes:
    """UTF-8 with a BOM, so that Excel on a Chinese Windows opens it right."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_header(header, lang, timezone) for _, header in columns])
    for row in rows:
        writer.writerow([_cell(row, key, lang, timezone) for key, _ in columns])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(
    sheets: Sequence[tuple[str, Sequence[dict[str, Any]], Sequence[Column]]],
    lang: str,
    timezone: tzinfo,
) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows, columns in sheets:
        sheet = workbook.create_sheet(title[:31])
        sheet.append([_header(header, lang, timezone) for _, header in columns])
        for row in rows:
            sheet.append([_cell(row, key, lang, timezone) for key, _ in columns])
        for index, _ in enumerate(columns, start=1):
            sheet.column_dimensions[sheet.cell(1, index).column_letter].width = 18
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@cache
def cjk_font_path() -> str:
    """Noto Sans SC (OFL), shipped by a PyPI package, so the PDF shows Chinese."""
    font = resources.files("justmytype_intl_cjk") / "fonts/ofl/notosanssc/NotoSansSC[wght].ttf"
    return str(font)


class _RecordPdf(FPDF):
    def __init__(self, title: str, lang: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.title_text = title
        self.lang = lang
        self.add_font("noto", "", cjk_font_path())
        self.set_font("noto", size=10)
        self.set_auto_page_break(auto=True, margin=15)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("noto", size=8)
        self.cell(0, 8, f"{self.title_text} · {self.page_no()}", align="C")


def daily_record_pdf(
    day: date,
    lang: str,
    sections: Sequence[tuple[str, Sequence[dict[str, Any]], Sequence[Column]]],
    compliance: Sequence[dict[str, Any]],
    generated_by: str,
    timezone: tzinfo,
) -> bytes:
    """The 防控记录: each section a table with who did what, and a 30-day chart."""
    title = t("report.daily_record", lang)
    pdf = _RecordPdf(title, lang)
    pdf.add_page()
    pdf.set_font("noto", size=16)
    pdf.cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("noto", size=10)
    stamp = datetime.now(timezone).strftime("%Y-%m-%d %H:%M")
    pdf.cell(
        0,
        6,
        f"{t('report.date', lang)}: {day.isoformat()}    "
        f"{t('report.generated', lang)}: {stamp} {printable(generated_by)}",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    for heading, rows, columns in sections:
        pdf.ln(3)
        pdf.set_font("noto", size=12)
        pdf.cell(0, 8, t(heading, lang), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("noto", size=8)
        if not rows:
            pdf.cell(0, 6, t("report.none", lang), new_x="LMARGIN", new_y="NEXT")
            continue
        headings = FontFace(emphasis="", fill_color=(232, 240, 233))
        with pdf.table(first_row_as_headings=True, line_height=5, headings_style=headings) as table:
            header = table.row()
            for _, key in columns:
                header.cell(_header(key, lang, timezone))
            for row in rows:
                cells = table.row()
                for key, _ in columns:
                    cells.cell(str(_cell(row, key, lang, timezone)))
    _chart(pdf, compliance, lang)
    return bytes(pdf.output())


def _chart(pdf: FPDF, series: Sequence[dict[str, Any]], lang: str) -> None:
    """Bars of the daily compliance rate, done against due (grey where nothing was due)."""
    if pdf.get_y() > 200:
        pdf.add_page()
    pdf.ln(4)
    pdf.set_font("noto", size=12)
    pdf.cell(0, 8, t("report.compliance", lang), new_x="LMARGIN", new_y="NEXT")
    left, top, height = pdf.l_margin, pdf.get_y() + 2, 40.0
    width = (pdf.w - pdf.l_margin - pdf.r_margin) / max(1, len(series))
    pdf.set_draw_color(180, 180, 180)
    pdf.line(left, top + height, left + width * len(series), top + height)
    for index, point in enumerate(series):
        x = left + index * width
        rate = point.get("rate")
        if rate is None:
            pdf.set_fill_color(220, 220, 220)
            pdf.rect(x + 0.5, top + height - 1, width - 1, 1, style="F")
            continue
        good = rate >= 0.999
        pdf.set_fill_color(46, 125, 50) if good else pdf.set_fill_color(230, 81, 0)
        bar = height * float(rate)
        pdf.rect(x + 0.5, top + height - bar, width - 1, bar, style="F")
    pdf.set_font("noto", size=7)
    pdf.set_xy(left, top + height + 1)
    if series:
        last = series[-1]
        pdf.cell(
            0,
            4,
            f"{series[0]['day']} … {last['day']}  (0–100%)    "
            f"{last['day']}: {last['done'] + last['late']}/{last['due']}",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.multi_cell(0, 4, t("report.compliance_note", lang))
    pdf.set_y(pdf.get_y() + 2)
