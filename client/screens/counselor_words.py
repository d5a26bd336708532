"""What the counselor's screens share: the vocabularies' menus, the risk colours, and
`said`, the short message after a save."""

import flet as ft

from client.app_state import AppState
from client.counselor_state import DIRECT_ORIGINS
from shared.schemas.vocabulary import InterventionKind, RiskLevel

RISKS = tuple(reversed([r.value for r in RiskLevel]))  # crisis first
KINDS = tuple(k.value for k in InterventionKind)
RISK_COLOURS = {
    "crisis": ft.Colors.RED_800,
    "high": ft.Colors.ORANGE_800,
    "medium": ft.Colors.AMBER_800,
    "low": ft.Colors.GREEN_700,
}


def risk_menu(state: AppState, key: str, value: str | None = None) -> ft.Dropdown:
    """The risk level, never chosen for the counselor: empty until they pick one."""
    return ft.Dropdown(
        label=state.text("ui.risk"),
        options=[ft.DropdownOption(key=r, text=state.text(f"risk.{r}")) for r in RISKS],
        value=value or None,
        key=key,
    )


def origin_menu(state: AppState, key: str, value: str | None = None) -> ft.Dropdown:
    return ft.Dropdown(
        label=state.text("ui.origin"),
        options=[ft.DropdownOption(key=o, text=state.text(f"origin.{o}")) for o in DIRECT_ORIGINS],
        value=value or None,
        key=key,
    )


def said(state: AppState, draft: dict[str, str], notice: str) -> bool:
    """After an action: on success the short message `notice` shows above the screen once
    the caller redraws it (as every role's saves do: `state.notice`, until the next
    action); on a refusal the error banner says why instead. True when it went through."""
    draft.pop("notice", None)
    if state.error is None:
        state.notice = notice
    return state.error is None
