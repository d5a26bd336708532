"""PWA fixtures: the sync server serving the build at /app/ on a demo school, and
Chromium with profiles that outlive a browser (a person closing and opening it again)."""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bench.loopback import ServerProcess
from tests.databases import fresh_postgres
from tests.e2e.app_harness import CHROMIUM, CHROMIUM_ARGS

if TYPE_CHECKING:
    from playwright.sync_api import Playwright


@pytest.fixture
def school_database() -> Iterator[str]:
    """A PostgreSQL database of this test's own (`demo` seeds the school into it)."""
    with fresh_postgres("carerounds_pwa") as url:
        yield url


@pytest.fixture
def served_web(web_build: Path) -> Path:
    """The build the server serves (a test may serve a copy of its own)."""
    return web_build


@pytest.fixture
def pwa_server(served_web: Path, school_database: str, tmp_path: Path) -> Iterator[ServerProcess]:
    """`server.cli demo`, serving the build at /app/ beside the API."""
    server = ServerProcess.cli(
        ["demo"], school_database, tmp_path / "server", env={"CAREROUNDS_WEB_DIR": str(served_web)}
    ).ready()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def playwright() -> Iterator["Playwright"]:
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


def chromium_profile(playwright: "Playwright", folder: Path, **options: object):  # type: ignore[no-untyped-def]
    """Chromium on a profile folder of its own: close it and start it again on the same
    folder, and it is the same browser (its service worker, its IndexedDB)."""
    return playwright.chromium.launch_persistent_context(
        str(folder),
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS,
        headless=True,
        **options,
    )
