"""Small pieces every screen uses: headings, big tap targets, the error banner."""

import contextlib
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

import flet as ft

from client.app_state import AppState
from client.numbers import reading as reading  # the screens read typed numbers

Refresh = Callable[[], None]


def heading(text: str, key: str | None = None) -> ft.Text:
    return ft.Text(text, size=20, weight=ft.FontWeight.BOLD, key=key)


def big_button(text: str, on_click: Callable[[Any], None], key: str) -> ft.Button:
    """Thumb-sized, for gloved hands in a stairwell."""
    return ft.Button(
        content=text,
        on_click=on_click,
        key=key,
        height=56,
        width=float("inf"),
    )


def shown(*controls: ft.BaseControl) -> None:
    """Send controls changed in place to the page (a no-op before they are on one)."""
    for control in controls:
        with contextlib.suppress(RuntimeError):  # not on a page yet: drawn as they are
            control.update()


def error_banner(state: AppState) -> ft.Control:
    """What went wrong, in red; else what the last action did ("saved"), in green."""
    if state.error is None and state.notice:
        return ft.Container(
            ft.Text(state.text(state.notice), color=ft.Colors.WHITE, key="notice-text"),
            bgcolor=ft.Colors.GREEN_700,
            padding=12,
            border_radius=8,
            key="notice-banner",
        )
    if state.error is None:
        return ft.Container(height=0)
    return ft.Container(
        ft.Text(state.error.message, color=ft.Colors.WHITE, key="error-text"),
        bgcolor=ft.Colors.RED_700,
        padding=12,
        border_radius=8,
        key="error-banner",
    )


def field(label: str, key: str, **options: Any) -> ft.TextField:
    return ft.TextField(label=label, key=key, **options)


def folding(**options: Any) -> ft.ExpansionTile:
    """A row that opens to show more (an editor, a list): what it holds starts at the left
    and spans the width, like the rest of the screen, instead of Flutter's centring."""
    return ft.ExpansionTile(
        expanded_cross_axis_alignment=ft.CrossAxisAlignment.STRETCH,
        controls_padding=ft.Padding.symmetric(horizontal=16, vertical=8),
        **options,
    )


def searchable(state: AppState, **options: Any) -> ft.Dropdown:
    """A menu one can type into to filter it (a class of 40 students). Its arrow button is
    named for screen readers (Flutter's own is not)."""
    named = state.text("ui.show_choices")
    return ft.Dropdown(
        editable=True,
        enable_filter=True,
        trailing_icon=ft.Icon(ft.Icons.ARROW_DROP_DOWN, semantics_label=named),
        selected_trailing_icon=ft.Icon(ft.Icons.ARROW_DROP_UP, semantics_label=named),
        **options,
    )


def labelled(control: ft.Dropdown) -> ft.Control:
    """A dropdown as screen readers (and the browser tests) find it: by its label. Flutter's
    dropdown menu does not put its label in the accessibility tree by itself."""
    return ft.Semantics(content=control, label=str(control.label or ""))


def day_choice(
    state: AppState, label: str, key: str, offsets: tuple[int, ...], value: int | None = None
) -> ft.Control:
    """A date as people pick one on a phone: a few named days around today, each shown with
    its date (the value is the ISO date). Wrapped for screen readers; `.content` is the menu."""
    today = state.today()
    options = [
        ft.DropdownOption(key=_day(today, n).isoformat(), text=_day_name(state, today, n))
        for n in offsets
    ]
    menu = ft.Dropdown(
        label=label,
        options=options,
        value=_day(today, value).isoformat() if value is not None else None,
        key=key,
    )
    return labelled(menu)


def _day(today: date, offset: int) -> date:
    return today + timedelta(days=offset)


def _day_name(state: AppState, today: date, offset: int) -> str:
    names = {0: "ui.day.today", -1: "ui.day.yesterday", 1: "ui.day.tomorrow"}
    name = (
        state.text(names[offset])
        if offset in names
        else state.counted("ui.day.later" if offset > 0 else "ui.day.ago", abs(offset)).format(
            days=abs(offset)
        )
    )
    return f"{name} ({_day(today, offset).strftime('%m-%d')})"


def date_field(
    state: AppState, label: str, key: str, value: date | None = None, *, past_only: bool = True
) -> ft.Control:
    """Any date: typed (YYYY-MM-DD) or picked from a calendar (the button beside it). The
    text field (key `key`) holds the ISO date the action reads."""
    box = ft.TextField(
        label=label,
        value=value.isoformat() if value else "",
        hint_text="2026-12-01",
        key=key,
        expand=True,
    )
    today = state.today()

    def picked(event: Any) -> None:
        chosen = getattr(event.control, "value", None)
        if chosen is not None:
            box.value = chosen.date().isoformat() if hasattr(chosen, "date") else str(chosen)
            shown(box)

    def pick(event: Any) -> None:
        picker = ft.DatePicker(
            value=datetime.combine(value or today, datetime.min.time()),
            first_date=datetime(today.year - 2, 1, 1),
            last_date=datetime.combine(
                today if past_only else today + timedelta(days=366), datetime.min.time()
            ),
            on_change=picked,
        )
        event.control.page.show_dialog(picker)

    return ft.Row(
        [
            box,
            ft.IconButton(
                ft.Icons.CALENDAR_MONTH,
                tooltip=state.text("ui.pick_date"),
                on_click=pick,
                key=f"{key}-pick",
            ),
        ],
        vertical_alignment=ft.CrossAxisAlignment.CENTER,
    )


def value_of(control: ft.Control) -> str:
    """What a `date_field` (or any control holding one text field) holds as typed."""
    for inner in walk(control):
        if isinstance(inner, ft.TextField):
            return str(inner.value or "")
    return ""


def chosen_day(control: ft.Control) -> date | None:
    menu = control.content if isinstance(control, ft.Semantics) else control
    value = getattr(menu, "value", None)
    return date.fromisoformat(value) if value else None


_CHILDREN = ("controls", "content", "title", "subtitle", "leading", "trailing")


def walk(control: Any) -> Iterator[Any]:
    """Every control under `control` (itself first)."""
    yield control
    for name in _CHILDREN:
        child = getattr(control, name, None)
        for item in child if isinstance(child, list) else [child]:
            if isinstance(item, ft.BaseControl):
                yield from walk(item)


def inputs(root: Any) -> dict[str, object]:
    """What each keyed text field and menu under `root` holds now."""
    return {
        str(c.key): c.value
        for c in walk(root)
        if isinstance(c, ft.TextField | ft.Dropdown) and c.key is not None
    }
