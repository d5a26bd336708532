"""The counselor: caseload (crises first), a case's timeline, interventions, referrals inbox."""

from collections.abc import Callable

import flet as ft

from client.app_state import AppState
from client.screens.widgets import (
    Refresh,
    big_button,
    chosen_day,
    day_choice,
    field,
    heading,
    labelled,
)
from shared.schemas.vocabulary import InterventionKind, RiskLevel

RISKS = tuple(reversed([r.value for r in RiskLevel]))  # crisis first
KINDS = tuple(k.value for k in InterventionKind)
RISK_COLOURS = {
    "crisis": ft.Colors.RED_800,
    "high": ft.Colors.ORANGE_800,
    "medium": ft.Colors.AMBER_800,
    "low": ft.Colors.GREEN_700,
}


def caseload(state: AppState, refresh: Refresh, open_case: Callable[[str], None]) -> ft.Control:
    rows: list[ft.Control] = [heading(state.text("ui.caseload"), "counselor-caseload")]
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
    if len(rows) == 1:
        rows.append(ft.Text(state.text("ui.none")))
    rows += [ft.Divider(), heading(state.text("ui.inbox"))]
    waiting = [r for r in state.referrals() if r["status"] == "new"]
    if not waiting:
        rows.append(ft.Text(state.text("ui.none"), key="inbox-empty"))
    for referral in waiting:

        def accept(_event: object, referral_id: str = referral["referral_id"]) -> None:
            state.accept_referral(referral_id)
            refresh()

        rows.append(
            ft.ListTile(
                title=ft.Text(referral["student"]),
                subtitle=ft.Text(referral["reason"], size=12),
                trailing=ft.Button(
                    content=state.text("ui.accept"),
                    on_click=accept,
                    key=f"accept-{referral['referral_id']}",
                ),
                key=f"inbox-{referral['referral_id']}",
            )
        )
    return ft.Column(
        rows,
        scroll=ft.ScrollMode.AUTO,
        key="counselor",
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )


def case_detail(state: AppState, refresh: Refresh, case_id: str, back: Refresh) -> ft.Control:
    kind = ft.Dropdown(
        label=state.text("ui.kind"),
        value="individual_talk",
        options=[ft.DropdownOption(key=k, text=state.text(f"intervention.{k}")) for k in KINDS],
        key="intervention-kind",
    )
    risk = ft.Dropdown(
        label=state.text("ui.risk"),
        options=[ft.DropdownOption(key=r, text=state.text(f"risk.{r}")) for r in RISKS],
        key="intervention-risk",
    )
    note = field(state.text("ui.note"), "intervention-note", multiline=True, min_lines=3)
    next_day = day_choice(
        state, state.text("ui.next_follow_up"), "intervention-next", (1, 3, 7, 14, 30)
    )

    def save(_event: object) -> None:
        state.add_intervention(
            case_id,
            kind.value or "individual_talk",
            note.value or "",
            risk_level=risk.value,
            next_follow_up=chosen_day(next_day),
        )
        refresh()

    now = next((c for c in state.caseload() if c["case_id"] == case_id), None)

    rows: list[ft.Control] = [
        ft.Row(
            [
                ft.IconButton(
                    ft.Icons.ARROW_BACK,
                    tooltip=state.text("ui.back"),
                    on_click=lambda _e: back(),
                    key="back",
                ),
                ft.Container(  # a long name wraps beside the arrow
                    heading(now["student"] if now else state.text("ui.caseload")), expand=True
                ),
            ]
        ),
        ft.Text(
            state.text("ui.current").format(
                risk=state.text(f"risk.{now['risk_level']}"), day=now["due_on"].isoformat()
            )
            if now
            else "",
            color=RISK_COLOURS[now["risk_level"]] if now else None,
            key="case-now",
        ),
        labelled(kind),
        labelled(risk),
        next_day,
        note,
        big_button(state.text("ui.add_intervention"), save, "intervention-save"),
        ft.Divider(),
    ]
    for entry in state.timeline(case_id):
        rows.append(
            ft.ListTile(
                title=ft.Text(
                    f"{entry['held_on']} · {state.text('intervention.' + entry['kind'])}"
                ),
                subtitle=ft.Text(entry.get("note", "")),
            )
        )
    return ft.Column(
        rows,
        scroll=ft.ScrollMode.AUTO,
        key="case-detail",
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )
