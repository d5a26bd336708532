"""The cleaner: today's areas in walking order, an area's checklist, recent rounds."""

from collections.abc import Callable
from typing import Any

import flet as ft

from client.app_state import AppState
from client.screens.widgets import Refresh, big_button, heading, reading

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


def checklist(
    state: AppState, refresh: Refresh, area_id: str, back: Refresh, settle: Refresh | None = None
) -> ft.Control:
    """An area's checklist. A tick that is stored is not followed by a redraw of the page
    (the box shows it already; `settle` updates the sync bar), so quick taps in a row all
    land; a refused tick redraws, showing the reason and the box as it really is."""
    rows: list[ft.Control] = [
        ft.Row(
            [
                ft.IconButton(ft.Icons.ARROW_BACK, on_click=lambda _e: back(), key="back"),
                heading(state.name_of("areas", area_id)),
            ]
        )
    ]
    entries: list[_Entry] = []

    def save_typed(skip: str | None = None) -> None:
        # What was typed after ticking is saved when anything else is tapped, not lost.
        for entry in entries:
            if entry.item_id != skip and entry.changed():
                state.tick(area_id, entry.item_id, entry.done(), entry.note(), entry.dosage())
                if state.error is None:
                    entry.saved()

    for item in state.checklist(area_id):
        entry = _Entry(state, item)

        def toggle(event: object, entry: _Entry = entry) -> None:
            entry.box.value = bool(getattr(getattr(event, "control", None), "value", True))
            shown_error = state.error is not None
            save_typed(skip=entry.item_id)
            state.tick(area_id, entry.item_id, entry.done(), entry.note(), entry.dosage())
            if state.error is None and not shown_error and settle is not None:
                entry.saved()
                settle()
            else:
                refresh()

        entry.box.on_change = toggle
        entries.append(entry)
        rows.append(entry.control())

    def complete(_event: object) -> None:
        save_typed()
        state.complete_round(area_id)
        back()

    rows.append(big_button(state.text("ui.complete_round"), complete, "complete-round"))
    return ft.Column(rows, scroll=ft.ScrollMode.AUTO, key="checklist")


class _Entry:
    """One checklist item on the screen: its tick, its note and, where the item asks for
    it, the disinfectant and concentration used (offered as the school prescribes)."""

    def __init__(self, state: AppState, item: dict[str, Any]) -> None:
        self.item_id: str = item["item_id"]
        self.before = item
        self.box = ft.Checkbox(label=item["label"], value=item["done"], key=f"item-{self.item_id}")
        self.note_field = ft.TextField(
            label=state.text("ui.note"), value=item["note"], dense=True, key=f"note-{self.item_id}"
        )
        self.asked: dict[str, Any] | None = item["dosage_asked"]
        used = item["dosage"] or self.asked or {}
        unit = (self.asked or {}).get("unit", "mg_per_l")
        self.product = ft.TextField(
            label=state.text("ui.disinfectant"),
            value=str(used.get("disinfectant", "")),
            dense=True,
            expand=True,
            key=f"disinfectant-{self.item_id}",
        )
        concentration = used.get("concentration")
        self.strength = ft.TextField(
            label=state.text("ui.concentration"),
            value=f"{concentration:g}" if isinstance(concentration, int | float) else "",
            suffix=state.text(f"unit.{unit}"),
            dense=True,
            width=150,
            keyboard_type=ft.KeyboardType.NUMBER,
            key=f"concentration-{self.item_id}",
        )

    def done(self) -> bool:
        return bool(self.box.value)

    def note(self) -> str:
        return self.note_field.value or ""

    def dosage(self) -> dict[str, Any] | None:
        if self.asked is None:
            return None
        product = (self.product.value or "").strip()
        strength = reading(self.strength.value, float)
        if not product and strength is None:
            return None
        return {"disinfectant": product, "concentration": strength}

    def saved(self) -> None:
        """What is on screen is now what is stored."""
        self.before = {**self.before, "note": self.note(), "dosage": self.dosage()}

    def changed(self) -> bool:
        if self.note() != self.before["note"]:
            return True
        recorded = self.before["dosage"]
        return (
            self.done()
            and self.asked is not None
            and self.dosage()
            != (
                {k: recorded.get(k) for k in ("disinfectant", "concentration")}
                if recorded
                else None
            )
        )

    def control(self) -> ft.Control:
        parts: list[ft.Control] = [self.box, self.note_field]
        if self.asked is not None:
            parts.append(ft.Row([self.product, self.strength], spacing=8))
        return ft.Container(ft.Column(parts, spacing=2), padding=ft.Padding.only(bottom=8))
