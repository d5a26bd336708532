"""The cleaner: today's areas in walking order, an area's checklist, recent rounds."""

from collections.abc import Callable

import flet as ft

from client.app_state import AppState
from client.screens.widgets import Refresh, big_button, heading

STATUS_COLOURS = {
    "overdue": ft.Colors.RED_700,
    "due": ft.Colors.ORANGE_800,
    "done": ft.Colors.GREEN_700,
}


def today(state: AppState, refresh: Refresh, open_area: Callable[[str], None]) -> ft.Control:
    rows: list[ft.Control] = [heading(state.text("ui.today"), "cleaner-today")]
    areas = state.today_areas()
    if not areas:
        rows.append(ft.Text(state.text("ui.nothing_due"), key="nothing-due"))
    for area in areas:
        label = (
            state.text("ui.status.overdue").format(days=area.overdue_days)
            if area.status == "overdue"
            else state.text(f"ui.status.{area.status}")
        )

        def choose(_event: object, area_id: str = area.area_id) -> None:
            open_area(area_id)

        rows.append(
            ft.Card(
                ft.ListTile(
                    title=ft.Text(area.name, size=18),
                    subtitle=ft.Text(
                        f"{state.text('kind.' + area.kind)} · {label}",
                        color=STATUS_COLOURS.get(area.status),
                    ),
                    on_click=choose,
                    min_vertical_padding=14,
                    key=f"area-{area.area_id}",
                ),
            )
        )
    rows.append(ft.Divider())
    rows.append(heading(state.text("ui.recent")))
    for item in state.recent_rounds(10):
        mark = "✓" if item["completed"] else "…"
        rows.append(
            ft.Text(
                f"{item['round_date']} {item['area']} {mark} {item['ticked']}",
                key=f"recent-{item['round_id']}",
            )
        )
    return ft.Column(rows, scroll=ft.ScrollMode.AUTO, key="cleaner")


def checklist(state: AppState, refresh: Refresh, area_id: str, back: Refresh) -> ft.Control:
    rows: list[ft.Control] = [
        ft.Row(
            [
                ft.IconButton(ft.Icons.ARROW_BACK, on_click=lambda _e: back(), key="back"),
                heading(state.name_of("areas", area_id)),
            ]
        )
    ]
    entries: list[tuple[str, ft.Checkbox, ft.TextField, str]] = []

    def save_notes(skip: str | None = None) -> None:
        # A note typed after ticking is saved when anything else is tapped, not lost.
        for item_id, box, typed, before in entries:
            if item_id != skip and (typed.value or "") != before:
                state.tick(area_id, item_id, bool(box.value), typed.value or "")

    for item in state.checklist(area_id):
        note = ft.TextField(
            label=state.text("ui.note"),
            value=item["note"],
            dense=True,
            key=f"note-{item['item_id']}",
        )

        def toggle(
            event: object, item_id: str = item["item_id"], note: ft.TextField = note
        ) -> None:
            done = bool(getattr(getattr(event, "control", None), "value", True))
            save_notes(skip=item_id)
            state.tick(area_id, item_id, done, note.value or "")
            refresh()

        box = ft.Checkbox(
            label=item["label"],
            value=item["done"],
            on_change=toggle,
            key=f"item-{item['item_id']}",
        )
        entries.append((item["item_id"], box, note, item["note"]))
        rows.append(
            ft.Container(
                ft.Column(
                    [
                        box,
                        note,
                    ],
                    spacing=2,
                ),
                padding=ft.Padding.only(bottom=8),
            )
        )

    def complete(_event: object) -> None:
        save_notes()
        state.complete_round(area_id)
        back()

    rows.append(big_button(state.text("ui.complete_round"), complete, "complete-round"))
    return ft.Column(rows, scroll=ft.ScrollMode.AUTO, key="checklist")
