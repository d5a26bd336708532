"""Reports as files the school keeps: CSV, XLSX, and the printable daily record (PDF)."""

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime, tzinfo
from functools import cache
from importlib import resources
from typing import Any

from fpdf import FPDF
from fpdf.fonts import FontFace
from openpyxl import Workbook

from shared.i18n import t

Column = tuple[str, str]  # (row key, catalogue key of the header)


def _cell(row: dict[str, Any], key: str, lang: str) -> Any:
    value = row.get(key, "")
    if key == "outcome":
        return t(f"outcome.{value}", lang)
    if key == "kind":
        return t(f"kind.{value}", lang)
    if key == "risk_level":
        return t(f"risk.{value}", lang)
    if key == "follow_up":  # a catalogue key: how the student was followed, or "missed"
        return t(str(value), lang)
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else value


def to_csv(rows: Iterable[dict[str, Any]], columns: Sequence[Column], lang: str) -> bytes:
    """UTF-8 with a BOM, so that Excel on a Chinese Windows opens it right."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([t(header, lang) for _, header in columns])
    for row in rows:
        writer.writerow([_cell(row, key, lang) for key, _ in columns])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(
    sheets: Sequence[tuple[str, Sequence[dict[str, Any]], Sequence[Column]]], lang: str
) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows, columns in sheets:
        sheet = workbook.create_sheet(title[:31])
        sheet.append([t(header, lang) for _, header in columns])
        for row in rows:
            sheet.append([_cell(row, key, lang) for key, _ in columns])
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
        f"{t('report.generated', lang)}: {stamp} {generated_by}",
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
                header.cell(t(key, lang))
            for row in rows:
                cells = table.row()
                for key, _ in columns:
                    cells.cell(str(_cell(row, key, lang)))
    _chart(pdf, compliance, lang)
    return bytes(pdf.output())


def _chart(pdf: FPDF, series: Sequence[dict[str, Any]], lang: str) -> None:
    """Bars of the daily compliance rate (grey where nothing was due)."""
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
        pdf.cell(0, 4, f"{series[0]['day']} … {series[-1]['day']}  (0–100%)")
    pdf.set_y(top + height + 8)
