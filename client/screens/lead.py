"""The prevention lead: today at a glance and conflicts side by side (setting things up is
in `lead_setup`).

Counseling shows as counts by risk level only: the lead's store never holds a note.
"""

from typing import Any

import flet as ft

from client.app_state import AppState
from client.screens.charts import bars, columns
from client.screens.widgets import Refresh, field, heading


def dashboard(state: AppState, refresh: Refresh) -> ft.Control:
    data = state.dashboard()
    charts = state.charts()
    rows: list[ft.Control] = [
        *_alerts(state),
        heading(state.text("ui.dashboard"), "lead-dashboard"),
    ]
    for kind, counts in sorted(data["by_kind"].items()):
        parts = [
            f"{state.text('ui.status.' + s)} {counts[s]}" for s in ("done", "due") if counts.get(s)
        ]
        if counts.get("overdue"):
            parts.append(f"{state.text('ui.overdue')} {counts['overdue']}")
        rows.append(
            ft.Text(f"{state.text('kind.' + kind)}: {' · '.join(parts) or '-'}", key=f"kind-{kind}")
        )
    rows.append(
        bars(
            [
                (state.text("kind." + c.label), c.done, c.due, f"{c.done}/{c.due}")
                for c in charts["by_kind"]
            ],
            "chart-by-kind",
        )
    )
    rows += [ft.Divider(), heading(state.text("ui.overdue_areas"))]
    rows += [
        ft.Text(
            f"{name} · "
            + (
                state.text("ui.responsible").format(names=who)
                if who
                else state.text("ui.nobody_responsible")
            ),
            color=ft.Colors.RED_700,
            key=f"overdue-{n}",
        )
        for n, (name, who) in enumerate(data["overdue"])
    ] or [ft.Text(state.text("ui.none"))]
    rows += [ft.Divider(), heading(state.text("ui.flagged"))]
    rows += [
        ft.Text(
            state.text("ui.flagged_row").format(**flag),
            color=ft.Colors.ORANGE_900,
            key=f"flagged-{n}",
        )
        for n, flag in enumerate(state.flagged())
    ] or [ft.Text(state.text("ui.none"))]
    rows += [ft.Divider(), heading(state.text("ui.rounds_by_cleaner"))]
    rows += [
        ft.Text(f"{who} ({len(done)}): {', '.join(done)}", key=f"cleaner-done-{n}")
        for n, (who, done) in enumerate(data["rounds_by_cleaner"].items())
    ] or [ft.Text(state.text("ui.no_rounds_yet"))]
    by_day = charts["by_day"]
    rated = [c for c in by_day if c.due]
    rows += [
        ft.Divider(),
        heading(state.text("ui.chart.completion")),
        ft.Text(
            state.text("ui.chart.completion_help").format(
                done=sum(c.done for c in rated), due=sum(c.due for c in rated)
            ),
            size=12,
        ),
        columns([(f"{c.label} {c.done}/{c.due}", c.rate) for c in by_day], "chart-by-day"),
        ft.Row(
            [ft.Text(by_day[0].label[5:], size=11), ft.Text(by_day[-1].label[5:], size=11)],
            alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
        ),
    ]
    rows += [ft.Divider(), heading(state.text("ui.open_cases_by_class"))]
    rows += [
        ft.Text(f"{name}: {count}") for name, count in data["open_cases_by_class"].items()
    ] or [ft.Text(state.text("ui.none"))]
    peak = max((n for _d, n in charts["open_cases"]), default=0)
    rows += [
        ft.Text(state.text("ui.chart.open_cases").format(peak=peak), size=12),
        columns(
            [(f"{d} {n}", n / peak if peak else 0.0) for d, n in charts["open_cases"]],
            "chart-open-cases",
            height=48,
        ),
    ]
    rows += [ft.Divider(), heading(state.text("ui.counseling_by_risk"))]
    risks = data["counseling_by_risk"]
    rows.append(
        ft.Text(
            " · ".join(f"{state.text('risk.' + r)} {n}" for r, n in risks.items()),
            key="counseling-counts",
        )
    )
    total = sum(risks.values())
    rows.append(
        bars(
            [(state.text("risk." + r), n, total, str(n)) for r, n in risks.items()],
            "chart-counseling",
        )
    )
    # Who holds a crisis, to back them up: names and counts, never a student or a note.
    rows += [heading(state.text("ui.crisis_holders"))]
    rows += [
        ft.Text(state.text("ui.crisis_holder").format(name=name, count=n), key=f"crisis-holder-{i}")
        for i, (name, n) in enumerate(state.crisis_holders())
    ] or [ft.Text(state.text("ui.none"), key="crisis-holders-none")]
    openings = state.case_openings_today()
    rows.append(
        ft.Text(
            state.text("ui.case_openings_today").format(
                count=sum(openings.values()),
                who="、".join(f"{name} {n}" for name, n in openings.items()) or "-",
            ),
            size=13,
            key="case-openings",
        )
    )
    rows += [ft.Divider(), *reports(state, refresh), ft.Divider(), conflicts(state, refresh)]
    return ft.Column(
        rows,
        scroll=ft.ScrollMode.AUTO,
        key="lead",
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )


def _alerts(state: AppState) -> list[ft.Control]:
    """First on the screen: cluster alerts, then what is missing today by class and who
    teaches it (nothing missed)."""
    rows: list[ft.Control] = []
    for n, alert in enumerate(state.cluster_alerts()):
        when = (
            alert["last"].strftime("%m-%d")
            if alert["rule"] == "day"
            else f"{alert['first']:%m-%d}~{alert['last']:%m-%d}"
        )
        rows.append(
            ft.Container(
                ft.Text(
                    state.text("ui.cluster_alert").format(
                        **{**alert, "symptom": state.text(f"symptom.{alert['symptom']}")},
                        when=when,
                    ),
                    color=ft.Colors.WHITE,
                ),
                bgcolor=ft.Colors.RED_800,
                padding=10,
                border_radius=8,
                key=f"cluster-{n}",
            )
        )
    missing = state.missing_by_class()
    if not missing:
        rows.append(
            ft.Text(state.text("ui.nothing_missing"), color=ft.Colors.GREEN_700, key="missing")
        )
        return rows
    lines: list[ft.Control] = [
        ft.Text(state.text("ui.missing_by_class"), weight=ft.FontWeight.BOLD)
    ]
    for n, row in enumerate(missing):
        parts = []
        if row["checks"]:
            slots = "、".join(state.text(f"slot.{s}") for s in row["checks"])
            parts.append(state.text("ui.missing.slots").format(slots=slots))
        if row["follow_ups"]:
            parts.append(state.text("ui.missing.follow_ups").format(count=row["follow_ups"]))
        if row["causes"]:
            parts.append(state.text("ui.missing.causes").format(count=row["causes"]))
        who = f" ({row['teachers']})" if row["teachers"] else ""
        lines.append(ft.Text(f"{row['class']}{who}: {'; '.join(parts)}", key=f"missing-{n}"))
    rows.append(
        ft.Container(
            ft.Column(lines, spacing=2),
            bgcolor=ft.Colors.ORANGE_50,
            padding=10,
            border_radius=8,
            key="missing",
        )
    )
    return rows


def reports(state: AppState, refresh: Refresh) -> list[ft.Control]:
    """The day's record as PDF and the rounds of a date range as CSV/XLSX, fetched from
    the server (online) and saved or shared the way the device does it."""
    today = state.today().isoformat()
    first = field(state.text("ui.first_day"), "report-first", value=today)
    last = field(state.text("ui.last_day"), "report-last", value=today)

    def fetch(kind: str) -> Any:
        async def save(_event: object) -> None:
            got = state.report_file(kind, first.value or "", last.value or "")
            if got is None:
                refresh()  # the banner says why (offline, a wrong date)
                return
            name, body = got
            await ft.FilePicker().save_file(file_name=name, src_bytes=body)

        return save

    return [
        heading(state.text("ui.reports")),
        ft.Text(state.text("ui.reports_help"), size=12),
        first,
        last,
        ft.Row(
            [
                ft.Button(
                    content=state.text("ui.report.pdf"), on_click=fetch("pdf"), key="report-pdf"
                ),
                ft.Button(content="CSV", on_click=fetch("csv"), key="report-csv"),
                ft.Button(content="XLSX", on_click=fetch("xlsx"), key="report-xlsx"),
            ],
            wrap=True,
        ),
        *_history(state, refresh, first, last, fetch("history")),
    ]


def _history(
    state: AppState, refresh: Refresh, first: ft.TextField, last: ft.TextField, save: Any
) -> list[ft.Control]:
    """Who changed what, when, on which device (online; a counseling note shows only as
    changed): the latest on screen, the whole range as a file."""

    def load(_event: object) -> None:
        state.load_history(first.value or "", last.value or "")
        refresh()

    rows: list[ft.Control] = [
        heading(state.text("ui.history")),
        ft.Text(state.text("ui.history_help"), size=12),
        ft.Row(
            [
                ft.TextButton(
                    content=state.text("ui.show_history"), on_click=load, key="history-load"
                ),
                ft.TextButton(
                    content=state.text("ui.history_file"), on_click=save, key="history-file"
                ),
            ],
            wrap=True,
        ),
    ]
    for n, change in enumerate((state.known_history or [])[:30]):
        rows.append(
            ft.Text(
                state.text("ui.history_row").format(
                    when=state.clock_time(str(change["received_at"])),
                    who=change["who"],
                    collection=change["collection"],
                    record=change["record"],
                    fields=change["fields"],
                ),
                size=12,
                key=f"history-{n}",
            )
        )
    return rows


def conflicts(state: AppState, refresh: Refresh) -> ft.Control:
    """Each conflict: the record by its name, the field by its label, both values in words
    with who wrote them, on which device and when, the one in use marked; one above the
    other, so a phone's width holds them."""
    rows: list[ft.Control] = [heading(state.text("ui.conflicts"), "conflicts")]
    for conflict in state.conflicts():
        conflict_id = conflict["conflict_id"]
        sides: list[ft.Control] = []
        for side in ("winner", "loser"):
            value = conflict[side]

            def keep(_event: object, side: str = side, conflict_id: str = conflict_id) -> None:
                state.settle(conflict_id, side)
                refresh()

            said: list[ft.Control] = [ft.Text(value["shown"], size=16, key=f"value-{side}")]
            if value["in_use"]:
                said.insert(
                    0,
                    ft.Text(
                        state.text("ui.in_use"),
                        size=12,
                        weight=ft.FontWeight.BOLD,
                        color=ft.Colors.GREEN_800,
                        key=f"in-use-{conflict_id}",
                    ),
                )
            written = state.text("ui.written_by").format(
                who=value["who"], device=value["device"], time=value["when"]
            )
            sides.append(
                ft.Container(
                    ft.Column(
                        [
                            *said,
                            ft.Text(written, size=11),
                            ft.Button(
                                content=state.text("ui.keep_this"),
                                on_click=keep,
                                key=f"keep-{side}-{conflict_id}",
                            ),
                        ],
                        horizontal_alignment=ft.CrossAxisAlignment.START,
                    ),
                    padding=8,
                    border=ft.Border.all(2 if value["in_use"] else 1, ft.Colors.GREY_400),
                    border_radius=8,
                )
            )
        what = f"{state.text('collection.' + conflict['collection'])} · {conflict['record_name']}"
        rows.append(
            ft.Column(
                [
                    ft.Text(what, weight=ft.FontWeight.BOLD, key=f"conflict-record-{conflict_id}"),
                    ft.Text(conflict["field_label"], key=f"conflict-field-{conflict_id}"),
                    *sides,
                ],
                horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
                key=f"conflict-{conflict_id}",
            )
        )
    if len(rows) == 1:
        rows.append(ft.Text(state.text("ui.none")))
    return ft.Column(rows, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)
