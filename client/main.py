"""`carerounds-client`: the Flet app, served to a browser (or run as a phone/desktop app).

carerounds-client --server http://127.0.0.1:8000 --port 8550
"""

import argparse
import locale
import os
import re
import secrets
import shutil
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path

import flet as ft

from client.accounts import PhoneUsers
from client.app import AUTO_SYNC_SECONDS, FONT_FILE, Device, make_app
from client.config import data_dir
from client.httpx_transport import HttpxTransport


def prepare_assets(folder: Path) -> Path:
    """The web client's assets: Noto Sans SC (OFL) from its PyPI package, so Chinese renders.

    Returned absolute: Flet resolves a relative assets folder against the folder of the
    running script (`.venv/bin/` for `carerounds-client`), not the working directory, and
    silently serves no assets at all when nothing is there (every Chinese glyph a box)."""
    folder = folder.resolve()
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


BROWSER_KEY = "carerounds.browser"
_BROWSER_ID = re.compile(r"[0-9a-f]{32}")


def browser_users(folder: Path) -> Callable[[ft.Page], Awaitable[PhoneUsers]]:
    """Each browser is its own device: a key kept in the browser's own storage names its
    folder here, with its own device id and stores (tabs of one browser share them)."""

    async def users(page: ft.Page) -> PhoneUsers:
        preferences = ft.SharedPreferences()
        key = await preferences.get(BROWSER_KEY)
        if not isinstance(key, str) or _BROWSER_ID.fullmatch(key) is None:
            key = secrets.token_hex(16)
            await preferences.set(BROWSER_KEY, key)
        return PhoneUsers(folder / "browsers" / key, HttpxTransport, device_name="CareRounds web")

    return users


def make_web_app(
    server_url: str, folder: Path, lang: str | None = None, sync_every: float = AUTO_SYNC_SECONDS
) -> Callable[[ft.Page], Awaitable[None]]:
    """The app as `carerounds-client` serves it to browsers."""
    device = Device(users=browser_users(folder), default_server=server_url)
    return make_app(device, lang, sync_every, default_lang=default_language)


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
    folder = (args.data_dir or data_dir()).resolve()  # `--data-dir ./phone` means below here
    assets = prepare_assets(folder / "assets")
    print(f"CareRounds client: http://{args.host}:{args.port}  (server {args.server})", flush=True)
    ft.run(
        make_web_app(args.server, folder, args.lang, args.sync_every),
        view=ft.AppView.WEB_BROWSER,
        host=args.host,
        port=args.port,
        assets_dir=str(assets),
        no_cdn=True,
    )


if __name__ == "__main__":
    main()
