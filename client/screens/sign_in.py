"""Sign in (first time, online) or unlock (offline), and pick a user on a shared phone."""

from collections.abc import Callable

import flet as ft

from client.accounts import PhoneUser
from client.app_state import AppState
from client.screens.widgets import Refresh, big_button, error_banner, field, heading


def build(state: AppState, refresh: Refresh, default_server: str) -> ft.Control:
    server = field(state.text("ui.server"), "sign-in-server", value=default_server)
    username = field(state.text("ui.username"), "sign-in-username")
    password = field(state.text("ui.password"), "sign-in-password", password=True)
    password.suffix_icon = _reveal_button(state, password)
    asks_old = state.error is not None and state.error.code == "old_secret_needed"
    old_secret = field(
        state.text("ui.old_secret"), "sign-in-old-secret", password=True, visible=asks_old
    )

    def sign_in(_event: object) -> None:
        state.sign_in(
            server.value or "", username.value or "", password.value or "", old_secret.value
        )
        refresh()

    controls: list[ft.Control] = [
        heading(state.text("app.title"), "sign-in-title"),
        error_banner(state),
    ]
    known = [_known_user(state, refresh, user) for user in state.phone_users()]
    if known:
        controls += [ft.Text(state.text("ui.on_this_phone"), size=16), *known, ft.Divider()]
    controls += [
        ft.Text(state.text("ui.new_sign_in"), size=16),
        server,
        username,
        password,
        old_secret,
        big_button(state.text("ui.sign_in"), sign_in, "sign-in-submit"),
    ]
    # Fields and buttons span the phone's width, as on the signed-in screens.
    return ft.Column(
        controls,
        scroll=ft.ScrollMode.AUTO,
        key="sign-in",
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )


def _reveal_button(state: AppState, password: ft.TextField) -> ft.IconButton:
    """The eye that shows the password typed, named for screen readers (Flutter's own
    reveal icon, `can_reveal_password`, has no label)."""
    eye = ft.IconButton(
        ft.Icons.VISIBILITY, tooltip=state.text("ui.show_password"), key="sign-in-reveal"
    )

    def toggle(_event: object) -> None:
        hidden = not password.password
        password.password = hidden
        eye.icon = ft.Icons.VISIBILITY if hidden else ft.Icons.VISIBILITY_OFF
        eye.tooltip = state.text("ui.show_password" if hidden else "ui.hide_password")
        password.update()

    eye.on_click = toggle
    return eye


def _known_user(state: AppState, refresh: Refresh, user: PhoneUser) -> ft.Control:
    name = user.profile.username
    secret = field(
        f"{state.text('ui.password')} / {state.text('ui.pin')}",
        f"unlock-secret-{name}",
        password=True,
    )

    def unlock(kind: str) -> Callable[[object], None]:
        def run(_event: object) -> None:
            state.unlock(user, secret.value or "", kind)
            refresh()

        return run

    return ft.Card(
        ft.Container(
            ft.Column(
                [
                    ft.Text(f"{name} · {state.text('role.' + user.profile.role)}", size=16),
                    secret,
                    ft.Row(
                        [
                            ft.Button(
                                content=state.text("ui.unlock"),
                                on_click=unlock("password"),
                                key=f"unlock-{name}",
                            ),
                            ft.TextButton(
                                content=state.text("ui.unlock_with_pin"),
                                on_click=unlock("pin"),
                                key=f"unlock-pin-{name}",
                            ),
                        ],
                        wrap=True,
                    ),
                ],
                horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
            ),
            padding=12,
        )
    )
