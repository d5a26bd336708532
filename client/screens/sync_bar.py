"""On every screen: online or not, changes waiting, last sync, last error, "Sync now"."""

import json
from typing import Any

import flet as ft

from client.app_state import AppState
from client.messages import field_label
from client.screens.widgets import Refresh, folding


def build(state: AppState, refresh: Refresh) -> ft.Control:
    sync = state.sync_state()
    online = state.seems_online()
    last = sync["last_success"]
    when = (
        state.text("ui.last_sync").format(time=state.clock_time(last))
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
    """Changes the server refused, with the reason: fix a value and send again, or discard."""
    kept = state.rejected()
    if not kept:
        return ft.Container(height=0)
    rows: list[ft.Control] = [ft.Text(state.text("ui.rejected"), weight=ft.FontWeight.BOLD)]
    for item in kept:
        rows.append(_rejected(state, refresh, item))
    return ft.Container(ft.Column(rows), bgcolor=ft.Colors.AMBER_50, padding=8, key="rejected-list")


def _rejected(state: AppState, refresh: Refresh, item: Any) -> ft.Control:
    entry = item.entry
    change_id = entry.change_id
    typed = {
        name: ft.TextField(
            label=field_label(entry.collection, name.split("."), state.lang),
            value=_shown(value),
            dense=True,
            multiline=isinstance(value, dict | list),
            key=f"fix-{change_id}-{name}",
        )
        for name, value in entry.fields.items()
    }

    def discard(_event: object) -> None:
        state.discard_rejected(change_id)
        refresh()

    def resend(_event: object) -> None:
        fields = {name: _read(box.value, entry.fields[name]) for name, box in typed.items()}
        state.retry_rejected(change_id, fields)
        refresh()

    actions: list[ft.Control] = [
        ft.TextButton(
            content=state.text("ui.discard"), on_click=discard, key=f"discard-{change_id}"
        )
    ]
    if not entry.deleted:
        actions.insert(
            0,
            ft.Button(content=state.text("ui.resend"), on_click=resend, key=f"resend-{change_id}"),
        )
    return folding(
        title=ft.Text(
            f"{state.text('collection.' + entry.collection)}: {state.rejected_reason(item)}"
        ),
        subtitle=ft.Text(state.text("ui.fix_or_discard"), size=12),
        controls=[*typed.values(), ft.Row(actions, wrap=True)],
        key=f"rejected-{change_id}",
    )


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _read(text: str | None, before: Any) -> Any:
    """What was typed, as the kind of value the field had (text stays text)."""
    if isinstance(before, str):
        return text or ""
    try:
        return json.loads(text or "null")
    except ValueError:
        return text  # refused with the schema's message, not turned into nothing
