"""On every screen: online or not, changes waiting, last sync, last error, "Sync now"."""

from datetime import datetime

import flet as ft

from client.app_state import AppState
from client.screens.widgets import Refresh


def build(state: AppState, refresh: Refresh) -> ft.Control:
    sync = state.sync_state()
    online = state.online is not False
    last = sync["last_success"]
    when = (
        state.text("ui.last_sync").format(
            time=datetime.fromisoformat(last).astimezone().strftime("%m-%d %H:%M")
        )
        if last
        else state.text("ui.never_synced")
    )

    def sync_now(_event: object) -> None:
        state.sync_now()
        refresh()

    return ft.Container(
        ft.Row(
            [
                ft.Icon(
                    ft.Icons.CLOUD_DONE if online else ft.Icons.CLOUD_OFF,
                    color=ft.Colors.GREEN_700 if online else ft.Colors.GREY_600,
                ),
                ft.Text(state.text("ui.online" if online else "ui.offline"), key="sync-online"),
                ft.Text(state.text("ui.pending").format(count=sync["pending"]), key="sync-pending"),
                ft.Text(when, size=12, key="sync-last"),
                ft.TextButton(content=state.text("ui.sync_now"), on_click=sync_now, key="sync-now"),
            ],
            wrap=True,
            spacing=8,
        ),
        bgcolor=ft.Colors.BLUE_GREY_50,
        padding=8,
        key="sync-bar",
    )


def rejected_list(state: AppState, refresh: Refresh) -> ft.Control:
    """Changes the server refused, with the reason, to fix and resend or discard."""
    kept = state.rejected()
    if not kept:
        return ft.Container(height=0)
    rows: list[ft.Control] = [ft.Text(state.text("ui.rejected"), weight=ft.FontWeight.BOLD)]
    for item in kept:
        change_id = item.entry.change_id

        def discard(_event: object, change_id: str = change_id) -> None:
            state.discard_rejected(change_id)
            refresh()

        rows.append(
            ft.ListTile(
                title=ft.Text(f"{item.entry.collection}: {item.message}"),
                subtitle=ft.Text(str(item.entry.fields)[:120], size=12),
                trailing=ft.TextButton(
                    content=state.text("ui.discard"), on_click=discard, key=f"discard-{change_id}"
                ),
                key=f"rejected-{change_id}",
            )
        )
    return ft.Container(ft.Column(rows), bgcolor=ft.Colors.AMBER_50, padding=8, key="rejected-list")
