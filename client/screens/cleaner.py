"""The cleaner: today's areas in walking order, an area's checklist, recent rounds."""

from collections.abc import Callable
from typing import Any

import flet as ft

from client.app_state import AppState
from client.screens.widgets import Refresh, big_button, heading, labelled, reading
from shared.rounds import item_flags
from shared.schemas.vocabulary import SkipReason

STATUS_COLOURS = {
    "overdue": ft.Colors.RED_700,
    "due": ft.Colors.ORANGE_800,
    "done": ft.Colors.GREEN_700,
}


def today(
    state: AppState,
    refresh: Refresh,
    open_area: Callable[[str], None],
    view: dict[str, str] | None = None,
) -> ft.Control:
    """The day at a glance ("done 3 of 12"), the cleaner's own areas first, overdue first;
    "all areas" and "remaining only" one tap away (kept in `view` while the app runs)."""
    view = view if view is not None else {}
    show_all = view.get("areas") == "all"
    only_remaining = view.get("remaining") == "yes"
    glance = state.day_at_glance(only_mine=not show_all)
    rows: list[ft.Control] = [
        heading(state.text("ui.today"), "cleaner-today"),
        ft.Text(
            f"{state.text('ui.day_at_glance').format(done=glance.done, total=glance.total)}"
            f" · {state.text('ui.day_remaining').format(count=glance.remaining)}",
            size=16,
            key="day-at-glance",
        ),
    ]

    def switch(name: str, on: str) -> Callable[[Any], None]:
        def flip(event: Any) -> None:
            view[name] = on if bool(getattr(event.control, "value", False)) else ""
            refresh()

        return flip

    rows.append(
        ft.Row(
            [
                ft.Switch(
                    label=state.text("ui.all_areas"),
                    value=show_all,
                    on_change=switch("areas", "all"),
                    key="show-all-areas",
                ),
                ft.Switch(
                    label=state.text("ui.filter_remaining"),
                    value=only_remaining,
                    on_change=switch("remaining", "yes"),
                    key="only-remaining",
                ),
            ],
            wrap=True,
        )
    )
    areas = state.today_areas(only_mine=not show_all, remaining=only_remaining)
    if not areas:
        rows.append(ft.Text(state.text("ui.nothing_due"), key="nothing-due"))
    for area in areas:
        label = (
            state.counted("ui.status.overdue", area.overdue_days).format(days=area.overdue_days)
            if area.status == "overdue"
            else state.text(f"ui.status.{area.status}")
        )
        parts = [state.text("kind." + area.kind), label]
        if area.round_id and area.status != "done":
            parts.append(
                state.text("ui.items_progress").format(done=area.items_done, total=area.items_total)
            )
        if not area.mine:
            parts.append(
                state.text("ui.responsible").format(names="、".join(area.responsible))
                if area.responsible
                else state.text("ui.not_mine")
            )

        def choose(_event: object, area_id: str = area.area_id) -> None:
            open_area(area_id)

        rows.append(
            ft.Card(
                ft.ListTile(
                    title=ft.Text(area.name, size=18),
                    subtitle=ft.Text(" · ".join(parts), color=STATUS_COLOURS.get(area.status)),
                    on_click=choose,
                    min_vertical_padding=14,
                    key=f"area-{area.area_id}",
                ),
            )
        )
    rows.append(ft.Divider())
    rows.append(heading(state.text("ui.recent")))
    for item in state.recent_rounds(10):
        if item["completed"] and item["complete"]:
            mark = f"✓ {item['done']}/{item['total']}"
        elif item["completed"]:
            mark = state.text("ui.round_incomplete").format(done=item["done"], total=item["total"])
        else:
            mark = f"… {item['done']}/{item['total']}"
        if item["excused"]:
            mark += f" (+{item['excused']})"
        if item["flags"]:
            mark += " · " + state.text("ui.round_flags").format(count=item["flags"])
        rows.append(
            ft.Text(f"{item['round_date']} {item['area']} {mark}", key=f"recent-{item['round_id']}")
        )
    return ft.Column(
        rows,
        scroll=ft.ScrollMode.AUTO,
        key="cleaner",
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )


def checklist(
    state: AppState, refresh: Refresh, area_id: str, back: Refresh, settle: Refresh | None = None
) -> ft.Control:
    """An area's checklist. A tick that is stored is not followed by a redraw of the page
    (the box shows it already; `settle` updates the sync bar), so quick taps in a row all
    land; a refused tick, a reason and a flagged value redraw, showing what is stored."""
    rows: list[ft.Control] = [
        ft.Row(
            [
                ft.IconButton(
                    ft.Icons.ARROW_BACK,
                    on_click=lambda _e: back(),
                    tooltip=state.text("ui.back"),
                    key="back",
                ),
                ft.Text(
                    state.name_of("areas", area_id),
                    size=20,
                    weight=ft.FontWeight.BOLD,
                    expand=True,
                ),
            ]
        )
    ]
    entries: list[_Entry] = []

    def save_typed(skip: str | None = None) -> None:
        # What was typed after ticking is saved when anything else is tapped, not lost.
        for entry in entries:
            if entry.item_id != skip and entry.changed():
                entry.save(area_id)

    for item in state.checklist(area_id):
        entry = _Entry(state, item)

        def toggle(event: object, entry: _Entry = entry) -> None:
            entry.box.value = bool(getattr(getattr(event, "control", None), "value", True))
            shown_error = state.error is not None
            save_typed(skip=entry.item_id)
            entry.save(area_id)
            if state.error is None and not shown_error and settle is not None and entry.quiet():
                settle()
            else:
                refresh()

        def give_reason(event: object, entry: _Entry = entry) -> None:
            save_typed(skip=entry.item_id)
            reason = getattr(getattr(event, "control", None), "value", None) or None
            state.skip(
                area_id, entry.item_id, None if reason == NO_REASON else reason, entry.note()
            )
            refresh()

        entry.box.on_change = toggle
        entry.reason.on_select = give_reason
        entries.append(entry)
        rows.append(entry.control())

    def complete(_event: object) -> None:
        save_typed()
        state.complete_round(area_id)
        if state.error is None:
            back()
        else:
            refresh()  # the banner says which items remain

    rows.append(big_button(state.text("ui.complete_round"), complete, "complete-round"))
    return ft.Column(
        rows,
        scroll=ft.ScrollMode.AUTO,
        key="checklist",
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )


NO_REASON = "-"


class _Entry:
    """One checklist item on the screen: its tick, its note, where the item asks for it the
    disinfectant and concentration used (offered as the school prescribes) or the reading,
    and, while it is not ticked, why it was not done."""

    def __init__(self, state: AppState, item: dict[str, Any]) -> None:
        self.state = state
        self.item_id: str = item["item_id"]
        self.before = item
        self.flags = item["flags"]
        # The label wraps beside the box (a Checkbox's own label is one line, cut off on a
        # narrow phone); the box carries it for screen readers.
        self.label: str = item["label"]
        self.box = ft.Checkbox(
            value=item["done"], semantics_label=self.label, key=f"item-{self.item_id}"
        )
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
            expand=True,
            keyboard_type=ft.KeyboardType.NUMBER,
            key=f"concentration-{self.item_id}",
        )
        self.reading_asked: dict[str, Any] | None = item["reading_asked"]
        recorded = item["reading"]
        self.reading = ft.TextField(
            label=state.text("ui.reading"),
            value=f"{recorded:g}" if isinstance(recorded, int | float) else "",
            suffix=(self.reading_asked or {}).get("unit", ""),
            helper=_allowed(state, self.reading_asked),
            dense=True,
            keyboard_type=ft.KeyboardType.NUMBER,
            key=f"reading-{self.item_id}",
        )
        self.reason = ft.Dropdown(
            label=state.text("ui.not_done_reason"),
            options=[ft.DropdownOption(key=NO_REASON, text=state.text("ui.no_reason"))]
            + [
                ft.DropdownOption(key=r.value, text=state.text(f"skip.{r.value}"))
                for r in SkipReason
            ],
            value=item["skipped"] or NO_REASON,
            dense=True,
            key=f"reason-{self.item_id}",
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

    def measured(self) -> Any:
        return reading(self.reading.value, float) if self.reading_asked is not None else None

    def save(self, area_id: str) -> None:
        self.state.tick(
            area_id, self.item_id, self.done(), self.note(), self.dosage(), self.measured()
        )
        if self.state.error is None:
            self.before = {
                **self.before,
                "note": self.note(),
                "dosage": self.dosage(),
                "reading": self.measured(),
            }

    def quiet(self) -> bool:
        """Whether the stored tick needs no redraw: nothing flagged now or before, and no
        reason shown that a tick has just replaced."""
        if self.flags or self.before.get("skipped"):
            return False
        if not self.done():
            return True
        entry = {"done": True, "dosage": self.dosage(), "reading": self.measured()}
        return not item_flags(
            self.item_id, {"dosage": self.asked, "reading": self.reading_asked}, entry
        )

    def changed(self) -> bool:
        if self.note() != self.before["note"]:
            return True
        if not self.done():
            return False
        recorded = self.before["dosage"]
        if self.asked is not None and self.dosage() != (
            {k: recorded.get(k) for k in ("disinfectant", "concentration")} if recorded else None
        ):
            return True
        return self.reading_asked is not None and self.measured() != self.before["reading"]

    def control(self) -> ft.Control:
        parts: list[ft.Control] = [
            ft.Row(
                [self.box, ft.Text(self.label, size=16, expand=True)],
                vertical_alignment=ft.CrossAxisAlignment.START,
                spacing=4,
            )
        ]
        if self.asked is not None:
            parts.append(ft.Row([self.product, self.strength], spacing=8))
        if self.reading_asked is not None:
            parts.append(self.reading)
        for flag in self.flags:
            parts.append(
                ft.Text(
                    self.state.text(f"ui.flag.{flag.kind}").format(
                        value=f"{flag.value:g}",
                        unit=self.state.text(f"unit.{flag.unit}")
                        if flag.kind == "dose"
                        else flag.unit,
                        expected=flag.expected,
                    ),
                    color=ft.Colors.ORANGE_900,
                    key=f"flag-{self.item_id}",
                )
            )
        parts.append(self.note_field)
        if not self.done():
            parts.append(labelled(self.reason))
        return ft.Container(
            ft.Column(parts, spacing=4, horizontal_alignment=ft.CrossAxisAlignment.STRETCH),
            padding=ft.Padding.only(bottom=12),
        )


def _allowed(state: AppState, asked: dict[str, Any] | None) -> str | None:
    if not asked or (asked.get("low") is None and asked.get("high") is None):
        return None
    low, high = asked.get("low"), asked.get("high")
    span = f"{'' if low is None else f'{low:g}'} ~ {'' if high is None else f'{high:g}'}"
    return state.text("ui.allowed_range").format(range=span.strip(), unit=asked.get("unit", ""))
