"""Setting or changing the PIN that unlocks this phone's data (6 to 12 digits), from the
key button in the top bar. The PIN never leaves the phone: it wraps the data key."""

import flet as ft

from client.app_state import AppState
from client.screens.widgets import Refresh, field, heading


def pin_panel(state: AppState, refresh: Refresh, close: Refresh) -> ft.Control:
    pin = field(
        state.text("ui.new_pin"),
        "pin-new",
        password=True,
        can_reveal_password=True,
        keyboard_type=ft.KeyboardType.NUMBER,
    )
    again = field(
        state.text("ui.pin_again"),
        "pin-again",
        password=True,
        can_reveal_password=True,
        keyboard_type=ft.KeyboardType.NUMBER,
    )

    def save(_event: object) -> None:
        state.set_pin(pin.value or "", again.value or "")
        if state.error is None:
            close()
        else:
            refresh()

    return ft.Container(
        ft.Column(
            [
                heading(state.text("ui.set_pin")),
                ft.Text(state.text("ui.pin_help"), size=12),
                pin,
                again,
                ft.Row(
                    [
                        ft.Button(content=state.text("ui.save"), on_click=save, key="pin-save"),
                        ft.TextButton(
                            content=state.text("ui.cancel"),
                            on_click=lambda _e: close(),
                            key="pin-cancel",
                        ),
                    ],
                    wrap=True,
                ),
            ],
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        ),
        padding=8,
        border=ft.Border.all(1, ft.Colors.GREY_400),
        border_radius=8,
        key="pin-panel",
    )
