"""The counselor: what is due today, the caseload (crises first), the referrals inbox, and
the crisis banner on every counselor screen. A case's detail is in `counselor_case`, a
case opened without a referral in `counselor_new`, the inbox's cards in `counselor_inbox`.

`draft` is the shell's `Navigation.extra`: what was chosen or typed in a form survives the
redraw after a refusal, and `draft["notice"]` says what was just saved (`said`).
"""

from collections.abc import Callable

import flet as ft

from client.app_state import AppState
from client.screens import counselor_case, counselor_inbox, counselor_new
from client.screens.counselor_words import RISK_COLOURS
from client.screens.widgets import Refresh, big_button, heading

OpenCase = Callable[[str], None]


def screen(
    state: AppState,
    refresh: Refresh,
    draft: dict[str, str],
    case_id: str | None,
    open_case: OpenCase,
    back: Refresh,
) -> ft.Control:
    """The counselor's body: a case, the form for a new one, or the caseload."""
    if case_id:
        return counselor_case.case_detail(state, refresh, draft, case_id, back)
    if draft.get("new_case"):
        return counselor_new.new_case(state, refresh, draft, open_case)
    return caseload(state, refresh, draft, open_case)


def caseload(
    state: AppState, refresh: Refresh, draft: dict[str, str], open_case: OpenCase
) -> ft.Control:
    def start_new(_event: object) -> None:
        draft.pop("notice", None)
        draft["new_case"] = "1"
        refresh()

    rows: list[ft.Control] = [
        heading(state.text("ui.caseload"), "counselor-caseload"),
        today_line(state),
    ]
    for case in state.caseload():
        due = state.text("ui.due_on").format(day=case["due_on"].isoformat())
        if case["overdue"]:
            due += " · " + state.text("ui.overdue")

        def choose(_event: object, case_id: str = case["case_id"]) -> None:
            open_case(case_id)

        rows.append(
            ft.Card(
                ft.ListTile(
                    leading=ft.Container(
                        width=10, height=40, bgcolor=RISK_COLOURS[case["risk_level"]]
                    ),
                    title=ft.Text(
                        f"{case['student']} · {state.text('risk.' + case['risk_level'])}"
                    ),
                    subtitle=ft.Text(due, color=ft.Colors.RED_700 if case["overdue"] else None),
                    on_click=choose,
                    key=f"case-{case['case_id']}",
                )
            )
        )
    if len(rows) == 2:
        rows.append(ft.Text(state.text("ui.none")))
    rows.append(big_button(state.text("ui.new_counseling_case"), start_new, "new-case"))
    rows += [ft.Divider(), heading(state.text("ui.inbox"))]
    rows += counselor_inbox.inbox(state, refresh, draft)
    return ft.Column(
        rows,
        scroll=ft.ScrollMode.AUTO,
        key="counselor",
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )


def today_line(state: AppState) -> ft.Control:
    """Nothing missed: contacts due or overdue today and referrals waiting, in one line."""
    due = state.due_today()
    parts = []
    if due["due"]:
        parts.append(state.text("ui.due_today").format(count=due["due"]))
        if due["overdue"]:
            parts.append(state.text("ui.due_overdue").format(count=due["overdue"]))
    if due["new_referrals"]:
        parts.append(state.text("ui.new_referrals").format(count=due["new_referrals"]))
    return ft.Text(
        " · ".join(parts) or state.text("ui.nothing_due_counselor"),
        color=ft.Colors.RED_700 if due["overdue"] else None,
        weight=ft.FontWeight.BOLD if parts else None,
        key="counselor-today",
    )


SHOWN_CRISES = 3  # more than this and the banner would push the screen off the phone


def crisis_banner(state: AppState, open_case: OpenCase) -> ft.Control:
    """Every open crisis case, above every counselor screen; a tap opens the case. The
    shell draws it for counselors only (`crisis_cases` is empty for anyone else too)."""
    crises = state.crisis_cases()
    if not crises:
        return ft.Container(height=0)
    rows: list[ft.Control] = []
    for crisis in crises[:SHOWN_CRISES]:

        def go(_event: object, case_id: str = crisis["case_id"]) -> None:
            open_case(case_id)

        rows.append(
            ft.TextButton(
                content=state.text("ui.crisis_banner").format(student=crisis["student"]),
                icon=ft.Icons.WARNING,
                icon_color=ft.Colors.WHITE,
                style=ft.ButtonStyle(color=ft.Colors.WHITE),
                on_click=go,
                key=f"crisis-{crisis['case_id']}",
            )
        )
    if len(crises) > SHOWN_CRISES:
        left = len(crises) - SHOWN_CRISES
        more = state.counted("ui.crisis_more", left).format(count=left)
        rows.append(ft.Text(more, color=ft.Colors.WHITE))
    return ft.Container(
        ft.Column(rows, spacing=0),
        bgcolor=ft.Colors.RED_800,
        padding=ft.Padding.symmetric(horizontal=8, vertical=4),
        border_radius=8,
        key="crisis-banner",
    )
