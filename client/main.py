"""`carerounds-client`: the Flet app, served to a browser (or run as a phone/desktop app).

carerounds-client --server http://127.0.0.1:8000 --port 8550
"""

import argparse
import asyncio
import locale
import os
import shutil
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import flet as ft

from client.accounts import PhoneUsers
from client.app_state import AppState
from client.config import data_dir
from client.shell import Shell
from client.transport import HttpxTransport

FONT_FAMILY = "Noto Sans SC"
FONT_FILE = "fonts/NotoSansSC.ttf"
AUTO_SYNC_SECONDS = 30.0


def prepare_assets(folder: Path) -> Path:
    """The web client's assets: Noto Sans SC (OFL) from its PyPI package, so Chinese renders."""
    target = folder / FONT_FILE
    if not target.exists():
        source = (
            resources.files("justmytype_intl_cjk") / "fonts/ofl/notosanssc/NotoSansSC[wght].ttf"
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        with resources.as_file(source) as path:
            shutil.copyfile(path, target)
    return folder


def default_language() -> str:
    """English when the device's locale says so; otherwise Chinese, the users' language."""
    name = os.environ.get("LC_ALL") or os.environ.get("LANG") or (locale.getlocale()[0] or "")
    return "en" if name.lower().startswith("en") else "zh"


def make_app(
    server_url: str,
    folder: Path,
    lang: str | None = None,
    sync_every: float = AUTO_SYNC_SECONDS,
) -> Callable[[ft.Page], None]:
    """The Flet `main` for one browser tab or phone screen."""

    def main(page: ft.Page) -> None:
        page.title = "CareRounds 校园防控"
        page.fonts = {FONT_FAMILY: FONT_FILE}
        page.theme = ft.Theme(font_family=FONT_FAMILY, color_scheme_seed=ft.Colors.TEAL)
        page.padding = 0
        users = PhoneUsers(
            folder / "phone", lambda url: HttpxTransport(url), device_name="CareRounds web"
        )
        state = AppState(users, lang=lang or default_language())
        shell = Shell(state, server_url)
        shell.attach(page)
        syncing = page.run_task(_auto_sync, state, shell, sync_every)

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


async def _auto_sync(state: AppState, shell: Shell, every: float = AUTO_SYNC_SECONDS) -> None:
    """Sync in the background while signed in; back off while the server is unreachable
    (never waiting more than twice the usual interval, and at least 2 s or the interval)."""
    attempt = 0
    while True:
        delay = every
        if state.signed_in and state.session is not None:
            before = _on_screen(state)
            await asyncio.to_thread(state.sync_now)
            if state.online is False:
                backoff = state.session.engine.backoff(attempt, base=2.0, cap=2 * every)
                delay = max(min(2.0, every), backoff)
                attempt += 1
            else:
                attempt = 0
            if _on_screen(state) != before:
                shell.refresh(keep_typed=True)
            else:
                shell.refresh_sync_bar()  # keeps what is being typed on the screen
        await asyncio.sleep(delay)


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="carerounds-client", description=__doc__)
    parser.add_argument("--server", default="http://127.0.0.1:8000", help="sync server URL")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8550)
    parser.add_argument("--data-dir", type=Path, default=None, help="where phone data lives")
    parser.add_argument("--lang", choices=("zh", "en"), default=None)
    parser.add_argument(
        "--sync-every",
        type=float,
        default=AUTO_SYNC_SECONDS,
        metavar="SECONDS",
        help=f"seconds between background syncs (default {AUTO_SYNC_SECONDS:g}; tests use less)",
    )
    args = parser.parse_args(argv)
    folder = args.data_dir or data_dir()
    assets = prepare_assets(folder / "assets")
    print(f"CareRounds client: http://{args.host}:{args.port}  (server {args.server})", flush=True)
    ft.run(
        make_app(args.server, folder, args.lang, args.sync_every),
        view=ft.AppView.WEB_BROWSER,
        host=args.host,
        port=args.port,
        assets_dir=str(assets),
        no_cdn=True,
    )


if __name__ == "__main__":
    main()
