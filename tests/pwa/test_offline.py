"""The PWA as a person uses it, in Chromium with a profile that outlives the browser: the
first visit online, then the browser itself offline (not only the server down): reload,
unlock, do the work, close the browser, open it again still offline, the change still
waits; the network comes back and it syncs by itself, once.

Also: Chromium's own installability check, and two browsers being two devices.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bench.loopback import ServerProcess
from server import demo_school
from tests.e2e.app_harness import PHONE, SYNC_TIMEOUT, AppPage, set_scene, within
from tests.e2e.harness import DEMO_PASSWORD, db_records
from tests.pwa.conftest import chromium_profile

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Playwright

pytestmark = pytest.mark.postgres_only

FIRST_AREA = demo_school.AREAS[0]
START_TIMEOUT = 120.0  # a cold first visit: ~60 MB and Python booting in the browser


@dataclass
class AppAddress:
    """Where AppPage opens the app: the sync server's /app/ (it opens `base + "/"`)."""

    base: str
    lang: str = "zh"


class Browser:
    """One Chromium profile (one phone's browser): started, closed, started again."""

    def __init__(self, playwright: "Playwright", folder: Path, server: ServerProcess) -> None:
        self.playwright = playwright
        self.folder = folder
        self.server = server
        self.context: BrowserContext | None = None

    def start(self, *, offline: bool = False) -> AppPage:
        self.context = chromium_profile(
            self.playwright,
            self.folder,
            viewport=PHONE,
            locale="zh-CN",
            offline=offline,
            service_workers="allow",
        )
        tab = AppPage(self.context, AppAddress(f"{self.server.base}/app"))  # type: ignore[arg-type]
        for extra in self.context.pages[:-1]:
            extra.close()  # the blank tab a persistent profile opens with
        return _opened(tab)

    def offline(self, value: bool) -> None:
        assert self.context is not None
        self.context.set_offline(value)

    def close(self) -> None:
        if self.context is not None:
            self.context.close()
            self.context = None


def _opened(tab: AppPage) -> AppPage:
    started = time.monotonic()
    tab.open()
    tab.started_in = time.monotonic() - started  # type: ignore[attr-defined]
    return tab


def _worker_ready(tab: AppPage) -> None:
    """Until the service worker controls the page: every file of the app is cached."""
    within(
        START_TIMEOUT,
        "the service worker to control the page",
        lambda: tab.page.evaluate(
            "navigator.serviceWorker.ready.then(() => !!navigator.serviceWorker.controller)"
        ),
    )


def _unlock(tab: AppPage, username: str, role: str) -> None:
    """Unlock offline on the sign-in screen's card of a person who signed in before."""
    card = f"{username} · {tab.text('role.' + role)}"
    tab.find(tab.text("ui.unlock"), roles=("button",), timeout=START_TIMEOUT)  # Python is up
    tab.type_into(f"{card}\n{tab.text('ui.password')} / {tab.text('ui.pin')}", DEMO_PASSWORD)
    tab.tap(tab.text("ui.unlock"))
    tab.find(tab.text("ui.sync_now"), roles=("button",), timeout=SYNC_TIMEOUT)


def _rounds_of(database_url: str, area_id: str) -> list[dict[str, Any]]:
    return [
        row.fields
        for (collection, _), row in db_records(database_url, "disinfection").items()
        if collection == "disinfection_rounds" and row.fields.get("area_id") == area_id
    ]


def _area_id(database_url: str, name: str) -> str:
    [found] = [
        key[1]
        for key, row in db_records(database_url, "disinfection").items()
        if key[0] == "areas" and row.fields.get("name") == name
    ]
    return found


@pytest.fixture
def browser(playwright: "Playwright", pwa_server: ServerProcess, tmp_path: Path) -> Any:
    made = Browser(playwright, tmp_path / "chromium-profile", pwa_server)
    try:
        yield made
    finally:
        made.close()


def _offline_work_survives_and_syncs_once(
    browser: Browser,
    username: str,
    role: str,
    work: Callable[[AppPage], None],
    arrived: Callable[[], list[dict[str, Any]]],
    shots: Path,
) -> list[dict[str, Any]]:
    # First visit, online: the app is cached, the person signs in (this needs the server).
    tab = browser.start()
    _worker_ready(tab)
    tab.find(tab.text("ui.sign_in"), roles=("button",), timeout=START_TIMEOUT)
    tab.sign_in(username, browser.server.base)

    # The browser goes offline; the page is reloaded: the app starts from its cache.
    browser.offline(True)
    tab.page.reload()
    _opened(tab)
    _unlock(tab, username, role)
    work(tab)
    waiting = within(SYNC_TIMEOUT, "the work waiting to upload", tab.pending)
    assert arrived() == [], "the browser is offline: nothing can have reached the server"
    tab.find(tab.text("ui.offline"), roles=("",), timeout=5.0)  # at once: before any sync
    _both_languages(tab, shots / f"pwa-offline-{role}")

    # The browser is closed right after the edit and opened again, still offline.
    browser.close()
    tab = browser.start(offline=True)
    _unlock(tab, username, role)
    assert tab.pending() == waiting, "what was typed offline is still waiting"
    assert arrived() == []

    # The network comes back: nobody taps anything, it syncs by itself, exactly once.
    browser.offline(False)
    within(SYNC_TIMEOUT, "the work to reach the server", arrived)
    within(SYNC_TIMEOUT, "nothing waiting to upload", lambda: tab.pending() == 0)
    _both_languages(tab, shots / f"pwa-synced-{role}")
    time.sleep(2)  # a second sync, if any, would double nothing: check after it
    return arrived()


def _both_languages(tab: AppPage, stem: Path) -> None:
    """What the person sees now, in this language and the other (then back)."""
    for _ in range(2):
        tab.screenshot(stem.with_name(f"{stem.name}-{tab.lang}.png"))
        tab.switch_language()


def test_a_cleaner_completes_a_round_offline_and_it_syncs_once(
    browser: Browser, school_database: str, screenshot_dir: Path
) -> None:
    area_id = _area_id(school_database, FIRST_AREA.name)

    def complete_a_round(tab: AppPage) -> None:
        tab.tap(FIRST_AREA.name, exact=False)
        tab.find(tab.text("ui.complete_round"), roles=("button",))
        for label in [n.label for n in tab.nodes() if n.role == "checkbox"]:
            tab.tick(label)
        tab.tap(tab.text("ui.complete_round"))
        tab.find(FIRST_AREA.name, exact=False, roles=("button",))

    rounds = _offline_work_survives_and_syncs_once(
        browser,
        "cleaner1",
        "cleaner",
        complete_a_round,
        lambda: _rounds_of(school_database, area_id),
        screenshot_dir,
    )
    assert len(rounds) == 1, rounds
    assert rounds[0].get("completed_at"), rounds[0]
    assert all(item["done"] for item in rounds[0]["items"].values()), rounds[0]["items"]


def test_a_teacher_logs_a_follow_up_offline_and_it_syncs_once(
    browser: Browser, school_database: str, tmp_path: Path, screenshot_dir: Path
) -> None:
    scene = set_scene(browser.server.base, tmp_path / "helpers")  # a sick student of class 1
    note = "家访：体温正常，精神好（离线记录）"

    def follow_ups() -> list[dict[str, Any]]:
        return [
            row.fields
            for (collection, _), row in db_records(school_database).items()
            if collection == "follow_ups" and row.fields.get("note") == note
        ]

    def log_a_follow_up(tab: AppPage) -> None:
        tab.find(scene.student, roles=("group",), exact=False)  # the case's card
        tab.type_into(tab.text("ui.note"), note, inside=scene.student)
        tab.tap(tab.text("ui.save"), inside=scene.student)

    arrived = _offline_work_survives_and_syncs_once(
        browser, "teacher1", "class_teacher", log_a_follow_up, follow_ups, screenshot_dir
    )
    assert len(arrived) == 1, arrived
    assert arrived[0]["case_id"] == scene.sick_case_id


def test_chromium_finds_the_app_installable(browser: Browser) -> None:
    tab = browser.start()
    _worker_ready(tab)
    assert browser.context is not None
    cdp = browser.context.new_cdp_session(tab.page)
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert errors == [], errors
    manifest = cdp.send("Page.getAppManifest")
    assert not manifest.get("errors"), manifest["errors"]
