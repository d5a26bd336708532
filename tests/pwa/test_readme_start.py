"""The README's start command, as a newcomer runs it: a fresh clone, `scripts/demo.sh` from
its folder (a new virtual environment, the app built, the demo school on SQLite), then a
phone-sized Chromium at the address it prints. The app starts, Chinese is drawn with the
bundled font (not boxes), the server address is the page's own origin, and a cleaner can
sign in. Screenshots of what the browser got, in Chinese and English."""

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from bench.loopback import REPO, stop_group
from shared.i18n import t
from tests.e2e.app_harness import (
    PHONE,
    SYNC_TIMEOUT,
    AppPage,
    glyph_cells,
    ink_spread,
    looks_like_glyphs,
)
from tests.e2e.harness import DEMO_PASSWORD
from tests.pwa.conftest import chromium_profile
from tests.pwa.test_offline import START_TIMEOUT, AppAddress, _worker_ready

if TYPE_CHECKING:
    from playwright.sync_api import Playwright

ADDRESS = "http://127.0.0.1:8000/app/"  # what demo.sh prints, and the README says to open
SETUP_TIMEOUT = 900.0  # a new virtual environment and a first build of the app


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def demo_from_a_fresh_clone(tmp_path: Path) -> Iterator[Path]:
    if not _port_free(8000):
        message = "port 8000 (the demo's own) is in use"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    clone = tmp_path / "carerounds"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    log = tmp_path / "demo.out"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAREROUNDS_", "VIRTUAL"))}
    with log.open("wb") as out:
        demo = subprocess.Popen(
            ["scripts/demo.sh"],  # exactly as the README says, from the clone's folder
            cwd=clone,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + SETUP_TIMEOUT
        while f"Open {ADDRESS}".encode() not in log.read_bytes():
            assert demo.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(1)
        yield clone
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGINT)  # Ctrl-C, as a person stops it
            with contextlib.suppress(subprocess.TimeoutExpired):
                demo.wait(timeout=30)
        stop_group(demo)


def test_the_readme_start_command_serves_the_app_a_browser_can_use(
    demo_from_a_fresh_clone: Path,
    playwright: "Playwright",
    screenshot_dir: Path,
    tmp_path: Path,
) -> None:
    clone = demo_from_a_fresh_clone
    assert (clone / "build" / "web" / "index.html").exists()
    assert (clone / "data" / "carerounds.db").exists()  # the demo school, on SQLite

    font = httpx.get(ADDRESS + "fonts/NotoSansSC.ttf", timeout=30)
    assert font.status_code == 200, font.status_code
    assert font.content[:4] in (b"wOF2", b"\x00\x01\x00\x00"), font.content[:4]

    context = chromium_profile(playwright, tmp_path / "profile", viewport=PHONE, locale="zh-CN")
    try:
        tab = AppPage(context, AppAddress(ADDRESS.rstrip("/")))  # type: ignore[arg-type]
        tab.open()
        _worker_ready(tab)
        title = tab.find(t("app.title", "zh"), timeout=START_TIMEOUT)
        png = tab.screenshot(screenshot_dir / "pwa-sign-in-zh.png")
        box = tab.locator(title).bounding_box()
        assert box is not None
        fine, least = looks_like_glyphs(glyph_cells(png, box, len(title.name)))
        assert fine, f"{title.name!r} is drawn as boxes (cells differ by {least:.1f})"
        tab.switch_language()
        tab.screenshot(screenshot_dir / "pwa-sign-in-en.png")
        tab.switch_language()

        # The server address is left as the app offers it: the page's own origin.
        tab.type_into(tab.text("ui.username"), "cleaner1")
        tab.type_into(tab.text("ui.password"), DEMO_PASSWORD)
        tab.tap(tab.text("ui.sign_in"))
        tab.find(tab.text("ui.sync_now"), roles=("button",), timeout=SYNC_TIMEOUT)
        tab.find(tab.text("ui.today"), roles=("",), exact=False)
        png = tab.screenshot(screenshot_dir / "pwa-cleaner-zh.png")
        spread, colours = ink_spread(png)
        assert spread > 8 and colours > 50, (spread, colours)
        tab.switch_language()
        tab.screenshot(screenshot_dir / "pwa-cleaner-en.png")
    finally:
        context.close()
