"""The app around the screens: who sees which tabs, the bars, re-drawing on every change."""

from dataclasses import dataclass, field
from typing import Any

import flet as ft

from client.app_state import AppState
from client.screens import (
    class_day,
    cleaner,
    counselor,
    lead,
    lead_setup,
    pin,
    sign_in,
    sync_bar,
    teacher,
)
from client.screens.widgets import error_banner, inputs, walk
from shared.schemas.vocabulary import Role

# Each role's tabs: (catalogue key, icon). A role never gets another role's screens.
TABS: dict[Role, list[tuple[str, ft.IconData]]] = {
    Role.CLEANER: [("ui.today", ft.Icons.CLEANING_SERVICES)],
    Role.CLASS_TEACHER: [
        ("ui.sick_students", ft.Icons.SICK),
        ("ui.class_day_tab", ft.Icons.FACT_CHECK),
    ],
    Role.COUNSELOR: [("ui.caseload", ft.Icons.PSYCHOLOGY)],
    Role.LEAD: [("ui.dashboard", ft.Icons.DASHBOARD), ("ui.manage", ft.Icons.SETTINGS)],
}


@dataclass
class Navigation:
    tab: int = 0
    area_id: str | None = None
    case_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


class Shell:
    """Builds the whole page from the state; `render` is called after every action."""

    def __init__(self, state: AppState, default_server: str) -> None:
        self.state = state
        self.default_server = default_server
        self.nav = Navigation()
        self._built: dict[str, object] = {}  # each input's value as last drawn

    def build(self) -> ft.Control:
        state = self.state
        if not state.signed_in or state.role is None:
            self.nav = Navigation()
            return ft.Column(
                [
                    self._language_toggle(),
                    # Off the screen's edge, as the signed-in screens' bodies are.
                    ft.Container(
                        sign_in.build(state, self.refresh, self.default_server),
                        padding=ft.Padding.symmetric(horizontal=8),
                        expand=True,
                    ),
                ],
                expand=True,
                key="screen-sign-in",
            )
        role = state.role
        body = self._kept_scroll(self._body(role))
        self._sync_bar = sync_bar.build(state, self.refresh)
        tabs = TABS[role]
        bar = (
            ft.NavigationBar(
                destinations=[
                    ft.NavigationBarDestination(icon=icon, label=state.text(key))
                    for key, icon in tabs
                ],
                selected_index=self.nav.tab,
                on_change=self._tab_changed,
                key="tabs",
            )
            if len(tabs) > 1
            else ft.Container(height=0)
        )
        return ft.Column(
            [
                self._top_bar(),
                self._sync_bar,
                error_banner(state),
                # A crisis is in sight on every counselor screen (no other role's).
                counselor.crisis_banner(state, self._open_case)
                if role is Role.COUNSELOR
                else ft.Container(height=0),
                sync_bar.rejected_list(state, self.refresh),
                pin.pin_panel(state, self.refresh, lambda: self._show_pin(False))
                if self.nav.extra.get("pin")
                else ft.Container(height=0),
                ft.Container(body, expand=True, padding=8, key="body"),  # patched in place
                bar,
            ],
            expand=True,
            spacing=4,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,  # bars span the screen
            key=f"screen-{role.value}",
        )

    def _body(self, role: Role) -> ft.Control:
        state, nav = self.state, self.nav
        if role is Role.CLEANER:
            if nav.area_id:
                return cleaner.checklist(
                    state, self.refresh, nav.area_id, self._back, self.refresh_sync_bar
                )
            return cleaner.today(state, self.refresh, self._open_area, nav.extra)
        if role is Role.CLASS_TEACHER:
            if nav.tab == 1:
                return class_day.class_day(state, self.refresh, nav.extra)
            return teacher.sick_students(state, self.refresh, self._class_day)
        if role is Role.COUNSELOR:
            return counselor.screen(
                state, self.refresh, nav.extra, nav.case_id, self._open_case, self._back
            )
        if nav.tab == 1:
            return lead_setup.manage(
                state, self.refresh, nav.extra.get("section", ""), self._choose_section
            )
        return lead.dashboard(state, self.refresh)

    def _top_bar(self) -> ft.Control:
        state = self.state
        role = state.role
        row = ft.Row(
            [
                ft.Text(
                    f"{state.text('app.title')} · {state.display_name()}"
                    f" · {state.text('role.' + role.value) if role else ''}",
                    size=16,
                    weight=ft.FontWeight.BOLD,
                    expand=True,
                    key="who",
                ),
                self._language_toggle(),
                ft.IconButton(
                    ft.Icons.PIN,
                    tooltip=state.text("ui.set_pin"),
                    on_click=lambda _e: self._show_pin(True),
                    key="set-pin",
                ),
                ft.IconButton(
                    ft.Icons.LOCK,
                    tooltip=state.text("ui.switch_user"),
                    on_click=lambda _e: self._switch_user(),
                    key="switch-user",
                ),
            ]
        )
        return ft.Container(row, padding=ft.Padding.only(left=8))  # off the screen's edge

    def _language_toggle(self) -> ft.Control:
        def toggle(_event: object) -> None:
            self.state.set_language("en" if self.state.lang == "zh" else "zh")
            self.refresh()

        return ft.TextButton(
            content=self.state.text("ui.language"), on_click=toggle, key="language"
        )

    def _switch_user(self) -> None:
        self.state.lock()
        self.refresh()

    def _tab_changed(self, event: object) -> None:
        self._moved()
        self.nav.tab = int(getattr(getattr(event, "control", None), "selected_index", 0) or 0)
        self.refresh()

    def _choose_section(self, section: str) -> None:
        self._moved()
        self.nav.extra["section"] = section
        self.refresh()

    def _show_pin(self, shown: bool) -> None:
        self.state.person_acted()
        if shown:
            self.nav.extra["pin"] = "1"
        else:
            self.nav.extra.pop("pin", None)
        self.refresh()

    def _class_day(self) -> None:
        self._moved()
        self.nav.tab = 1
        self.refresh()

    def _open_area(self, area_id: str) -> None:
        self._moved()
        self.nav.area_id = area_id
        self.refresh()

    def _open_case(self, case_id: str) -> None:
        self._moved()
        self.nav.case_id = case_id
        self.state.note_case_opened(case_id)  # the audit trail of who read a case
        self.refresh()

    def _back(self) -> None:
        self._moved()
        self.nav.area_id = None
        self.nav.case_id = None
        self.refresh()

    # Drawing ----------------------------------------------------------------------------

    _offsets: dict[str, float] | None = None
    _scrolled: tuple[ft.Column, float] | None = None

    def _place(self) -> str:
        nav = self.nav
        return f"{self.state.role}|{nav.tab}|{nav.area_id}|{nav.case_id}|{nav.extra.get('section')}"

    def _kept_scroll(self, body: ft.Control) -> ft.Control:
        """A redraw after a save keeps the screen where the person was, instead of jumping
        back to the top: the body's offset is remembered per screen and restored."""
        if not isinstance(body, ft.Column) or body.scroll is None:
            return body
        offsets = self._offsets if self._offsets is not None else {}
        self._offsets = offsets
        place = self._place()

        def moved(event: Any) -> None:
            offsets[place] = float(getattr(event, "pixels", 0.0) or 0.0)

        body.on_scroll = moved
        body.scroll_interval = 250
        self._scrolled = (body, offsets.get(place, 0.0))
        return body

    page: ft.Page | None = None
    _sync_bar: ft.Control | None = None

    def attach(self, page: ft.Page) -> None:
        self.page = page
        self.refresh()

    def _moved(self) -> None:
        """Another screen: a person's input (the idle lock counts again), and a notice
        ("saved") is said of the screen it was said on, not the next one."""
        self.state.notice = None
        self.state.person_acted()

    def refresh(self, keep_typed: bool = False) -> None:
        """Redraw the page from the state. After a background sync (`keep_typed`), what
        someone was typing stays in its field, unless the data under that field changed."""
        if self.page is None:
            return
        typed: dict[str, object] = {}
        if keep_typed and self.page.controls:
            now = inputs(self.page.controls[0])
            typed = {k: v for k, v in now.items() if k in self._built and v != self._built[k]}
        tree = self.build()
        built = inputs(tree)
        for control in walk(tree):
            key = str(control.key)
            if key in typed and built.get(key) == self._built.get(key):
                control.value = typed[key]
        self._built = built
        # Keyed, Flet patches the page in place (the new tree adopts the drawn one's
        # controls): a list scrolled down stays where it was after a save, instead of a new
        # tree drawn from the top. The counselor's screens for now: the other roles' browser
        # walks have yet to run against it.
        in_place = "page" if self.state.role is Role.COUNSELOR else None
        self.page.controls = [ft.SafeArea(tree, expand=True, key=in_place)]
        self.page.update()
        scrolled, self._scrolled = self._scrolled, None
        run_task = getattr(self.page, "run_task", None)
        if scrolled is not None and scrolled[1] > 0 and run_task is not None:
            run_task(scrolled[0].scroll_to, offset=scrolled[1])

    def refresh_sync_bar(self) -> None:
        """Redraw only the sync bar: after a background sync that changed nothing else, so
        what someone is typing on the screen is not wiped by a redraw of the whole page."""
        bar = self._sync_bar
        if self.page is None or not isinstance(bar, ft.Container) or not self.state.signed_in:
            self.refresh()
            return
        fresh = sync_bar.build(self.state, self.refresh)
        bar.content = fresh.content if isinstance(fresh, ft.Container) else fresh
        self.page.update()  # sends only what changed: the other controls stay as they are
