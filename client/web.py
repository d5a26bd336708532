"""The entry of the PWA: the app with its Python inside the browser (Pyodide).

`pwa/build.py` stages a `main.py` that calls `main()`. The stores live in the browser's
IndexedDB (`client.web_storage`), sealed through WebCrypto (`client.web_crypto`); the
server is reached with the browser's XMLHttpRequest (`client.web_transport`), by default
at the origin the app was served from. Nothing here starts a thread.

Only importable inside Pyodide.
"""

import flet as ft
from js import console, location, navigator, performance  # type: ignore[import-not-found]

from client import web_storage
from client.accounts import PhoneUsers
from client.app import Device, in_turn, make_app
from client.web_transport import XhrTransport
from shared.i18n import t


def timing(step: str) -> None:
    """A line for `bench/pwa_bench.py` in the browser's console: the step, the ms since
    this worker started (`performance.now()`), and the same moment in ms since the epoch."""
    now = float(performance.now())
    console.log(f"carerounds-timing {step} {now:.0f} {float(performance.timeOrigin) + now:.0f}")


def default_language() -> str:
    """The browser's language: English when it says so, else Chinese."""
    return "en" if str(navigator.language).lower().startswith("en") else "zh"


async def browser_users(page: ft.Page) -> PhoneUsers:
    """This browser's users: one device per browser profile (its own IndexedDB)."""

    def waiting() -> None:
        words = ft.Text(t("ui.open_in_another_tab", default_language()), size=16)
        page.controls = [ft.SafeArea(ft.Container(words, padding=16, key="open-elsewhere"))]
        page.update()

    timing("mount-start")
    folder = await web_storage.mount(waiting=waiting)
    timing("mount-done")
    users = PhoneUsers(
        folder,
        XhrTransport,
        device_name="CareRounds app (browser)",
        store_options={"journal_mode": "MEMORY"},
        persist=web_storage.persist,
    )
    timing("users-ready")
    return users


def main() -> None:
    timing("imported")  # client.web and what it imports (flet, the app's screens)
    device = Device(
        users=browser_users,
        default_server=str(location.origin),
        in_background=in_turn,
        network_up=lambda: bool(navigator.onLine),
    )
    ft.run(make_app(device, default_lang=default_language), assets_dir="assets")
