"""The referrals inbox: each new referral with its reason, accepted at a risk level the
counselor picks, or declined with a reason the referring teacher reads."""

import flet as ft

from client.app_state import AppState
from client.screens.counselor_words import risk_menu, said
from client.screens.widgets import Refresh, field, folding, labelled


def inbox(state: AppState, refresh: Refresh, draft: dict[str, str]) -> list[ft.Control]:
    waiting = [r for r in state.referrals() if r["status"] == "new"]
    if not waiting:
        return [ft.Text(state.text("ui.none"), key="inbox-empty")]
    return [_card(state, refresh, draft, referral) for referral in waiting]


def _card(
    state: AppState, refresh: Refresh, draft: dict[str, str], referral: dict[str, str]
) -> ft.Control:
    rid = referral["referral_id"]
    risk = risk_menu(state, f"risk-{rid}", draft.get(f"risk.{rid}"))
    reason = field(
        state.text("ui.decline_reason"),
        f"decline-reason-{rid}",
        value=draft.get(f"decline.{rid}", ""),
        multiline=True,
    )

    def keep() -> None:  # what was chosen or typed stays through a refusal's redraw
        draft[f"risk.{rid}"] = risk.value or ""
        draft[f"decline.{rid}"] = reason.value or ""

    def done() -> None:
        draft.pop(f"risk.{rid}", None)
        draft.pop(f"decline.{rid}", None)

    def accept(_event: object) -> None:
        keep()
        state.accept_referral(rid, risk.value)
        if said(state, draft, "notice.referral_accepted"):
            done()
        refresh()

    def decline(_event: object) -> None:
        keep()
        state.decline_referral(rid, reason.value or "")
        if said(state, draft, "notice.referral_declined"):
            done()
        refresh()

    declining = folding(
        title=ft.Text(state.text("ui.decline")),
        controls=[
            reason,
            ft.OutlinedButton(
                content=state.text("ui.decline"), on_click=decline, key=f"decline-{rid}"
            ),
        ],
        expanded=bool(draft.get(f"decline.{rid}")),  # open again after a refusal
        key=f"declining-{rid}",
    )
    return ft.Card(
        ft.Container(
            ft.Column(
                [
                    ft.Text(referral["student"], weight=ft.FontWeight.BOLD),
                    ft.Text(referral["reason"], size=13),
                    labelled(risk),
                    ft.Button(
                        content=state.text("ui.accept"), on_click=accept, key=f"accept-{rid}"
                    ),
                    declining,
                ],
                horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
            ),
            padding=8,
        ),
        key=f"inbox-{rid}",
    )
