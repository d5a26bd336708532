"""The lead's reports and charts in the PWA: the charts are drawn inside the browser from
the device's records, and the day's record comes from the server as a PDF the browser
saves."""

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bench.loopback import ServerProcess
from tests.e2e.app_harness import SYNC_TIMEOUT, AppPage
from tests.pwa.test_offline import START_TIMEOUT, Browser

if TYPE_CHECKING:
    from playwright.sync_api import Playwright

pytestmark = pytest.mark.postgres_only


def test_the_lead_sees_charts_and_saves_the_days_record_from_the_pwa(
    playwright: "Playwright",
    pwa_server: ServerProcess,
    school_database: str,
    tmp_path: Path,
    screenshot_dir: Path,
) -> None:
    browser = Browser(playwright, tmp_path / "profile", pwa_server)
    try:
        tab: AppPage = browser.start()
        tab.find(tab.text("ui.sign_in"), roles=("button",), timeout=START_TIMEOUT)
        tab.sign_in("lead", pwa_server.base)
        tab.wait_for_text(tab.text("ui.chart.completion"), timeout=SYNC_TIMEOUT)
        # Each day's bar names its day and its count (what a screen reader reads).
        assert tab.shows(tab.text("ui.chart.open_cases").split("(")[0])
        tab.screenshot(screenshot_dir / "pwa-lead-dashboard-zh.png")

        with tab.page.expect_download(timeout=60_000) as download:
            tab.tap(tab.text("ui.report.pdf"))
        saved = tmp_path / "record.pdf"
        download.value.save_as(saved)
        assert download.value.suggested_filename.startswith("carerounds-")
        assert saved.read_bytes().startswith(b"%PDF")
    finally:
        browser.close()
