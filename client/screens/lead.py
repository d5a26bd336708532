"""The prevention lead: today at a glance and conflicts side by side (setting things up is
in `lead_setup`).

Counseling shows as counts by risk level only: the lead's store never holds a note.
"""

import flet as ft

from client.app_state import AppState
from client.screens.widgets import Refresh, heading


def dashboard(state: AppState, refresh: Refresh) -> ft.Control:
    data = state.dashboard()
    rows: list[ft.Control] = [heading(state.text("ui.dashboard"), "lead-dashboard")]
    for kind, counts in sorted(data["by_kind"].items()):
        parts = [
            f"{state.text('ui.status.' + s)} {counts[s]}" for s in ("done", "due") if counts.get(s)
        ]
        if counts.get("overdue"):
            parts.append(f"{state.text('ui.overdue')} {counts['overdue']}")
        rows.append(
            ft.Text(f"{state.text('kind.' + kind)}: {' · '.join(parts) or '-'}", key=f"kind-{kind}")
        )
    rows += [ft.Divider(), heading(state.text("ui.rounds_by_cleaner"))]
    rows += [
        ft.Text(f"{who} ({len(done)}): {', '.join(done)}", key=f"cleaner-done-{n}")
        for n, (who, done) in enumerate(data["rounds_by_cleaner"].items())
    ] or [ft.Text(state.text("ui.no_rounds_yet"))]
    rows += [ft.Divider(), heading(state.text("ui.overdue_areas"))]
    rows += [ft.Text(name, color=ft.Colors.RED_700) for name in data["overdue"]] or [
        ft.Text(state.text("ui.none"))
    ]
    rows += [ft.Divider(), heading(state.text("ui.open_cases_by_class"))]
    rows += [
        ft.Text(f"{name}: {count}") for name, count in data["open_cases_by_class"].items()
    ] or [ft.Text(state.text("ui.none"))]
    rows += [ft.Divider(), heading(state.text("ui.counseling_by_risk"))]
    rows.append(
        ft.Text(
            " · ".join(
                f"{state.text('risk.' + r)} {n}" for r, n in data["counseling_by_risk"].items()
            ),
            key="counseling-counts",
        )
    )
    rows += [ft.Divider(), conflicts(state, refresh)]
    return ft.Column(
        rows,
        scroll=ft.ScrollMode.AUTO,
        key="lead",
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )


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
