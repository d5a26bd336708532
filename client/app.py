"""The app on one screen, wherever it runs: a phone, a browser tab served by
`carerounds-client`, or the PWA with its Python inside the browser.

What differs between those places is a `Device`: where its users' stores live and how
it reaches the server, the server address offered at the first sign-in, and how a sync
runs without holding up the screen.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import flet as ft

from client.accounts import PhoneUsers
from client.app_state import AppState
from client.shell import Shell

FONT_FAMILY = "Noto Sans SC"
FONT_FILE = "fonts/NotoSansSC.ttf"  # under the app's assets folder
AUTO_SYNC_SECONDS = 30.0


async def in_a_thread(work: Callable[[], None]) -> None:
    """Run blocking work off the event loop (phones, desktop, the server-side web client)."""
    await asyncio.to_thread(work)


async def in_turn(work: Callable[[], None]) -> None:
    """Run it now: the browser has no threads, and its Python already runs in a worker,
    away from the screen's own thread."""
    work()


@dataclass(frozen=True)
class Device:
    """Where the app runs."""

    # The users of this device, for the page that opens (a browser tab finds its own).
    users: Callable[[ft.Page], Awaitable[PhoneUsers]]
    default_server: str
    in_background: Callable[[Callable[[], None]], Awaitable[None]] = in_a_thread
    # Whether the device says it has a network (the browser does; None: cannot tell).
    network_up: Callable[[], bool | None] = lambda: None


def make_app(
    device: Device,
    lang: str | None = None,
    sync_every: float = AUTO_SYNC_SECONDS,
    default_lang: Callable[[], str] = lambda: "zh",
) -> Callable[[ft.Page], Awaitable[None]]:
    """The Flet `main` for one browser tab or phone screen."""

    async def main(page: ft.Page) -> None:
        page.title = "CareRounds 校园防控"
        page.fonts = {FONT_FAMILY: FONT_FILE}
        page.theme = ft.Theme(font_family=FONT_FAMILY, color_scheme_seed=ft.Colors.TEAL)
        page.padding = 0
        users = await device.users(page)
        state = AppState(users, lang=lang or default_lang(), network_up=device.network_up)
        shell = Shell(state, device.default_server)
        shell.attach(page)
        syncing = page.run_task(_auto_sync, state, shell, sync_every, device)

        def gone(_event: object) -> None:
            # A closed tab leaves no unlocked data behind in the web server's memory; the
            # background sync idles while nobody is signed in, and ends with the session.
            state.lock()

        def closed(_event: object) -> None:
            state.lock()
            syncing.cancel()

        page.on_disconnect = gone
        page.on_close = closed

    return main


async def _auto_sync(
    state: AppState,
    shell: Shell,
    every: float = AUTO_SYNC_SECONDS,
    device: Device | None = None,
) -> None:
    """Sync in the background while signed in; back off while the server is unreachable
    or answers that it cannot now (never waiting more than twice the usual interval, and at
    least 2 s or the interval, or the server's Retry-After),
    and sync at once when the device says its network is back."""
    in_background = device.in_background if device else in_a_thread
    network_up = device.network_up if device else (lambda: None)
    attempt = 0
    while True:
        delay = every
        if state.signed_in and state.session is not None:
            before = _on_screen(state)
            await in_background(state.sync_in_background)
            if state.online is False:
                backoff = state.session.engine.backoff(attempt, base=2.0, cap=2 * every)
                delay = max(min(2.0, every), backoff, state.retry_after or 0.0)
                attempt += 1
            else:
                attempt = 0
            if _on_screen(state) != before:
                shell.refresh(keep_typed=True)
            else:
                shell.refresh_sync_bar()  # keeps what is being typed on the screen
        await _until(delay, network_up)


async def _until(delay: float, network_up: Callable[[], bool | None]) -> None:
    """Sleep `delay` seconds, or less if the network comes back meanwhile."""
    was = network_up()
    if was is None:  # the device cannot tell (phones, desktops): one sleep
        await asyncio.sleep(delay)
        return
    loop = asyncio.get_running_loop()
    end = loop.time() + delay
    while (left := end - loop.time()) > 0:
        await asyncio.sleep(min(left, 1.0))
        now = network_up()
        if was is False and now:
            return
        was = now


def _on_screen(state: AppState) -> tuple[object, ...]:
    """What a background sync can change on the screen besides the sync bar's clock: the
    data pulled (the cursor moves), what waits to upload, online or not, the error shown."""
    if state.session is None or not state.signed_in:
        return (state.signed_in,)
    sync = state.sync_state()
    return (
        state.session.store.cursor(),
        sync["pending"],
        sync["rejected"],
        state.online,
        state.error,
    )
