"""Each browser is its own device: two browser profiles signing in as the same person are
two devices on the server, and the lead can block one (a lost phone) without touching the
other: the blocked one wipes its data at its next contact, as a phone does."""

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from bench.loopback import ServerProcess
from tests.e2e.app_harness import SYNC_TIMEOUT, AppPage, playwright_error, within
from tests.e2e.harness import login
from tests.pwa.test_offline import START_TIMEOUT, Browser, _unlock, _worker_ready

if TYPE_CHECKING:
    from playwright.sync_api import Playwright

pytestmark = pytest.mark.postgres_only

DEVICE_NAME = "CareRounds app (browser)"


def _browser_devices(server: ServerProcess, lead_token: str, user_id: str) -> list[dict[str, Any]]:
    answer = httpx.get(
        f"{server.base}/api/v1/admin/devices",
        headers={"authorization": f"Bearer {lead_token}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return [d for d in answer.json() if d["user_id"] == user_id and d["name"] == DEVICE_NAME]


def _signed_in(browser: Browser) -> AppPage:
    tab = browser.start()
    _worker_ready(tab)
    tab.find(tab.text("ui.sign_in"), roles=("button",), timeout=START_TIMEOUT)
    tab.sign_in("cleaner1", browser.server.base)
    return tab


def test_two_browsers_are_two_devices_and_a_blocked_one_wipes_itself(
    playwright: "Playwright", pwa_server: ServerProcess, tmp_path: Path
) -> None:
    lead = login(pwa_server.base, "lead")
    cleaner = login(pwa_server.base, "cleaner1")
    first = Browser(playwright, tmp_path / "first-profile", pwa_server)
    second = Browser(playwright, tmp_path / "second-profile", pwa_server)
    try:
        _signed_in(first)
        first.close()
        [lost] = _browser_devices(pwa_server, lead.token, cleaner.user_id)
        tab = _signed_in(second)
        devices = _browser_devices(pwa_server, lead.token, cleaner.user_id)
        assert len({d["device_id"] for d in devices}) == 2, devices

        blocked = httpx.post(
            f"{pwa_server.base}/api/v1/admin/devices/{lost['device_id']}/revoke",
            headers={"authorization": f"Bearer {lead.token}"},
            timeout=30,
        )
        assert blocked.status_code == 200, blocked.text
        tab.sync_now()  # the other browser goes on working
        assert not tab.shows(tab.text("error.device_revoked"))
        second.close()

        tab = first.start()  # the lost phone's next contact
        _unlock(tab, "cleaner1", "cleaner")
        tab.wait_for_text(tab.text("error.device_revoked"), timeout=SYNC_TIMEOUT)
        tab.page.reload()
        tab.open()
        tab.find(tab.text("ui.sign_in"), roles=("button",), timeout=START_TIMEOUT)
        assert not tab.shows(tab.text("ui.on_this_phone")), "no one's data is left on it"
        assert within(SYNC_TIMEOUT, "the unlock card gone", lambda: not tab.shows("cleaner1"))
    finally:
        first.close()
        second.close()


def test_a_second_tab_of_the_same_browser_waits_for_the_first(
    playwright: "Playwright", pwa_server: ServerProcess, tmp_path: Path
) -> None:
    """Two tabs would each write their own copy of the stores into the same IndexedDB:
    the second one says so and carries on once the first is closed."""
    browser = Browser(playwright, tmp_path / "profile", pwa_server)
    try:
        first = browser.start()
        first.find(first.text("ui.sign_in"), roles=("button",), timeout=START_TIMEOUT)
        assert browser.context is not None
        second = AppPage(browser.context, first.client)
        second.page.goto(f"{pwa_server.base}/app/")

        def reads(text: str) -> bool:
            with contextlib.suppress(playwright_error()):
                second.page.locator("flt-semantics-placeholder").dispatch_event(
                    "click", timeout=1_000
                )
            return second.shows(text)

        waiting = second.text("ui.open_in_another_tab")
        within(
            START_TIMEOUT, "the second tab to say the app is open elsewhere", lambda: reads(waiting)
        )
        first.page.close()
        within(
            START_TIMEOUT, "the second tab to carry on", lambda: reads(second.text("ui.sign_in"))
        )
    finally:
        browser.close()
