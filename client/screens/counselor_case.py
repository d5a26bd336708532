"""A counseling case: how it came (the referral's reason), where it stands, an
intervention, the timeline, and closing it with its outcome after a confirmation."""

import flet as ft

from client.app_state import AppState
from client.screens.counselor_words import KINDS, RISK_COLOURS, risk_menu, said
from client.screens.widgets import (
    Refresh,
    big_button,
    chosen_day,
    day_choice,
    field,
    heading,
    labelled,
)


def case_detail(
    state: AppState, refresh: Refresh, draft: dict[str, str], case_id: str, back: Refresh
) -> ft.Control:
    kind = ft.Dropdown(
        label=state.text("ui.kind"),
        value="individual_talk",
        options=[ft.DropdownOption(key=k, text=state.text(f"intervention.{k}")) for k in KINDS],
        key="intervention-kind",
    )
    risk = risk_menu(state, "intervention-risk")
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
        said(state, draft, "notice.intervention_saved")
        refresh()

    def leave(_event: object) -> None:
        draft.pop("notice", None)
        back()

    info = state.case_info(case_id)
    now = next((c for c in state.caseload() if c["case_id"] == case_id), None)
    rows: list[ft.Control] = [
        ft.Row(
            [
                ft.IconButton(
                    ft.Icons.ARROW_BACK,
                    tooltip=state.text("ui.back"),
                    on_click=leave,
                    key="back",
                ),
                ft.Container(  # a long name wraps beside the arrow
                    heading(info["student"] or state.text("ui.caseload")), expand=True
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
        *_how_it_came(state, info),
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
    if info["status"] == "open":
        rows += [ft.Divider(), *_closing(state, refresh, draft, case_id, back)]
    rows += [ft.Divider(), *_openings(state, case_id)]
    return ft.Column(
        rows,
        scroll=ft.ScrollMode.AUTO,
        key="case-detail",
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )


def _how_it_came(state: AppState, info: dict[str, str]) -> list[ft.Control]:
    """Opened when and how; a teacher's reason for referring, or what was noted then."""
    rows: list[ft.Control] = [
        ft.Text(
            state.text("ui.opened_on").format(
                day=info["opened_on"], origin=state.text(f"origin.{info['origin']}")
            ),
            size=13,
            key="case-origin",
        )
    ]
    if info["referral_reason"]:
        reason = state.text("ui.referral_reason").format(reason=info["referral_reason"])
        rows.append(ft.Text(reason, key="case-referral-reason"))
    if info["note"]:
        rows.append(ft.Text(info["note"], key="case-note"))
    return rows


def _closing(
    state: AppState, refresh: Refresh, draft: dict[str, str], case_id: str, back: Refresh
) -> list[ft.Control]:
    """Closing asks once more: a closed case leaves the caseload and its next contacts."""
    outcome = field(
        state.text("ui.outcome"),
        "close-outcome",
        value=draft.get(f"outcome.{case_id}", ""),
        multiline=True,
    )

    def ask(_event: object) -> None:
        draft[f"outcome.{case_id}"] = outcome.value or ""
        draft["confirm_close"] = case_id
        refresh()

    def cancel(_event: object) -> None:
        draft[f"outcome.{case_id}"] = outcome.value or ""
        draft.pop("confirm_close", None)
        refresh()

    def close(_event: object) -> None:
        draft.pop("confirm_close", None)
        state.close_counseling_case(case_id, outcome.value or "")
        if state.error is None:
            draft.pop(f"outcome.{case_id}", None)
            back()  # to the caseload, which then says the case was closed
            said(state, draft, "notice.case_closed")
            refresh()
        else:
            draft[f"outcome.{case_id}"] = outcome.value or ""
            refresh()

    rows: list[ft.Control] = [heading(state.text("ui.close_counseling_case")), outcome]
    if draft.get("confirm_close") != case_id:
        rows.append(
            ft.OutlinedButton(
                content=state.text("ui.close_counseling_case"), on_click=ask, key="close-case"
            )
        )
        return rows
    rows += [
        ft.Text(state.text("ui.close_confirm"), color=ft.Colors.RED_800, key="close-confirm"),
        ft.Text(
            state.counted("ui.closed_leaves_phones", state.closed_cases_days()).format(
                days=state.closed_cases_days()
            ),
            size=12,
            key="close-leaves",
        ),
        ft.Row(
            [
                ft.Button(
                    content=state.text("ui.confirm_close"),
                    on_click=close,
                    key="close-case-yes",
                    bgcolor=ft.Colors.RED_700,
                    color=ft.Colors.WHITE,
                ),
                ft.TextButton(content=state.text("ui.cancel"), on_click=cancel, key="close-no"),
            ],
            wrap=True,
        ),
    ]
    return rows


def _openings(state: AppState, case_id: str) -> list[ft.Control]:
    """Who opened this case (the audit trail): counselors see it for their cases."""
    seen = state.openings_of(case_id)
    shown = [
        f"{row['when']} · "
        + (state.text("ui.opened_by_me") if row["mine"] else state.text("ui.opened_by_colleague"))
        + f" · {row['device']}"
        for row in seen[:10]
    ]
    return [
        ft.Text(state.counted("ui.case_openings", len(seen)).format(count=len(seen)), size=13),
        *[ft.Text(line, size=12, color=ft.Colors.GREY_700) for line in shown],
    ]
