"""Opening a case without a referral: the student found by a search that filters as one
types (a school has too many for a menu), how they came, the risk level and the first
next contact, and optionally why they came (counselors only)."""

from collections.abc import Callable

import flet as ft

from client.app_state import AppState
from client.screens.counselor_words import origin_menu, risk_menu, said
from client.screens.widgets import (
    Refresh,
    big_button,
    chosen_day,
    day_choice,
    field,
    heading,
    labelled,
    shown,
)

FIRST_CONTACT = (0, 1, 2, 3, 7, 14)  # days from today the first contact can be set to
FIELDS = ("search", "student", "origin", "risk", "next", "note")


def new_case(
    state: AppState, refresh: Refresh, draft: dict[str, str], open_case: Callable[[str], None]
) -> ft.Control:
    search = field(
        state.text("ui.find_student"), "new-case-search", value=draft.get("new.search", "")
    )
    found = ft.Column(spacing=0, key="new-case-found")
    chosen = ft.Text(_chosen(state, draft), key="new-case-chosen")
    origin = origin_menu(state, "new-case-origin", draft.get("new.origin"))
    risk = risk_menu(state, "new-case-risk", draft.get("new.risk"))
    next_day = day_choice(state, state.text("ui.next_follow_up"), "new-case-next", FIRST_CONTACT)
    menu = next_day.content if isinstance(next_day, ft.Semantics) else next_day
    if isinstance(menu, ft.Dropdown) and draft.get("new.next"):
        menu.value = draft["new.next"]
    note = field(
        state.text("ui.why_opened"),
        "new-case-note",
        value=draft.get("new.note", ""),
        multiline=True,
    )

    def pick(_event: object, student_id: str) -> None:
        draft["new.student"] = student_id
        chosen.value = _chosen(state, draft)
        found.controls = []
        shown(chosen, found)

    def filter_students(_event: object = None) -> None:
        """Redrawn in place as one types: the field keeps its focus and what was typed."""
        draft["new.search"] = search.value or ""
        students, more = state.find_students(search.value or "")
        rows: list[ft.Control] = [
            ft.ListTile(
                title=ft.Text(name),
                on_click=lambda e, sid=sid: pick(e, sid),
                dense=True,
                key=f"pick-{sid}",
            )
            for sid, name in students
        ]
        if more:
            rows.append(
                ft.Text(state.counted("ui.more_students", more).format(count=more), size=12)
            )
        if (search.value or "").strip() and not students:
            rows.append(ft.Text(state.text("ui.no_student_found"), key="new-case-nobody"))
        found.controls = rows
        shown(found)

    search.on_change = filter_students
    if draft.get("new.search") and not draft.get("new.student"):
        filter_students()

    def leave(_event: object) -> None:
        for name in ("new_case", "notice", *(f"new.{f}" for f in FIELDS)):
            draft.pop(name, None)
        refresh()

    def save(_event: object) -> None:
        day = chosen_day(next_day)
        draft.update(
            {
                "new.origin": origin.value or "",
                "new.risk": risk.value or "",
                "new.next": day.isoformat() if day else "",
                "new.note": note.value or "",
            }
        )
        case_id = state.open_counseling_case(
            draft.get("new.student"), origin.value, risk.value, day, note.value or ""
        )
        if case_id is None:
            refresh()  # the error banner says what is missing; the form keeps its values
            return
        for name in ("new_case", *(f"new.{f}" for f in FIELDS)):
            draft.pop(name, None)
        open_case(case_id)  # the new case, with the word that it was opened
        said(state, draft, "notice.case_opened")
        refresh()

    return ft.Column(
        [
            ft.Row(
                [
                    ft.IconButton(
                        ft.Icons.ARROW_BACK,
                        tooltip=state.text("ui.back"),
                        on_click=leave,
                        key="back",
                    ),
                    ft.Container(heading(state.text("ui.new_counseling_case")), expand=True),
                ]
            ),
            search,
            found,
            chosen,
            labelled(origin),
            labelled(risk),
            next_day,
            note,
            big_button(state.text("ui.open_counseling_case"), save, "new-case-save"),
        ],
        scroll=ft.ScrollMode.AUTO,
        key="counselor-new-case",
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )


def _chosen(state: AppState, draft: dict[str, str]) -> str:
    student = draft.get("new.student")
    if not student:
        return ""
    return state.text("ui.student_chosen").format(name=state.name_of("students", student))
