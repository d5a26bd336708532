"""End-to-end fixtures: a fresh PostgreSQL database per test, the demo school seeded into
it in-process, and real server processes serving it on loopback.

PostgreSQL is found at CAREROUNDS_TEST_PG_URL (default: the local trust-auth server). Under
CI=true an unreachable PostgreSQL fails these tests; elsewhere they are skipped with the
reason.
"""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest
from sqlmodel import Session

from server import demo
from server.config import Settings
from server.db import make_engine, migrate
from shared.hlc import Clock
from tests.databases import fresh_postgres
from tests.e2e.app_harness import CHROMIUM, CHROMIUM_ARGS, Browsing, RestartableServer
from tests.e2e.harness import ServerProcess

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture
def e2e_database_url() -> Iterator[str]:
    """An empty PostgreSQL database of this test's own, dropped (WITH FORCE) afterwards."""
    with fresh_postgres("carerounds_e2e") as url:
        yield url


@pytest.fixture
def demo_database_url(e2e_database_url: str) -> str:
    """The fresh database, migrated, with the demo school seeded (as `server.cli demo`)."""
    settings = Settings(database_url=e2e_database_url)
    engine = make_engine(settings)
    try:
        migrate(settings, engine)
        with Session(engine) as session:
            assert demo.is_empty(session)
            demo.seed(session, Clock("e2e-seed"))
    finally:
        engine.dispose()
    return e2e_database_url


@pytest.fixture
def server_folder(tmp_path: Path) -> Path:
    """The server's working directory: no .env there, its logs go there."""
    folder = tmp_path / "server"
    folder.mkdir()
    return folder


@pytest.fixture
def live_server(demo_database_url: str, server_folder: Path) -> Iterator[ServerProcess]:
    """`server.cli serve --workers 4` on the demo school, on a free loopback port."""
    server = ServerProcess.serve(demo_database_url, server_folder, workers=4)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def small_server(demo_database_url: str, server_folder: Path) -> Iterator[ServerProcess]:
    """The same with two workers, for the fault tests (faster to start on two cores)."""
    server = ServerProcess.serve(demo_database_url, server_folder, workers=2)
    try:
        yield server
    finally:
        server.stop()


# Browser tests: Debian's Chromium driven by Playwright, real client processes -------------


def _browser_unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"The browser tests need Chromium and Playwright in CI: {reason}")
    pytest.skip(f"browser tests skipped: {reason}")


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator["Browser"]:
    """One headless Chromium for a test module (each test opens its own contexts). Not for
    the session: Playwright's sync API keeps an event loop running in the main thread while
    it is open, and later tests that start their own (`asyncio.run`) would find it."""
    if not Path(CHROMIUM).exists():
        _browser_unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError as exc:
        _browser_unavailable(f"Playwright for Python is missing ({exc}): pip install -e '.[dev]'")
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
        except Error as exc:
            _browser_unavailable(f"Chromium at {CHROMIUM} did not start: {exc}")
        try:
            yield browser
        finally:
            browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the test, so a fixture can tell that its test failed."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def browsing(
    chromium_browser: "Browser", tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Browsing]:
    """Client processes and tabs for one test; when it fails, each open tab's screenshot
    and words are kept beside its logs (the path is printed)."""
    browsing = Browsing(chromium_browser, tmp_path / "phones")
    try:
        yield browsing
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            print(f"browser test failed: screens and logs in {browsing.keep_evidence()}")
        browsing.close()


@pytest.fixture
def app_server(demo_database_url: str, server_folder: Path) -> Iterator[RestartableServer]:
    """`server.cli serve` (one worker: quick to start again) on the demo school, to be
    stopped and started again on the same port; whichever process runs at the end stops."""
    server = RestartableServer(demo_database_url, server_folder, workers=1)
    try:
        yield server.start()
    finally:
        server.stop()
