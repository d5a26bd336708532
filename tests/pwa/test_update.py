"""A new version of the app reaches a phone that has work waiting: the server serves a new
build, the service worker takes it on the next online start, and the person's store, with
its unsynced change, survives it and syncs once."""

import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from bench.loopback import REPO, ServerProcess
from tests.e2e.app_harness import SYNC_TIMEOUT, AppPage, playwright_error, within
from tests.pwa.test_offline import (
    FIRST_AREA,
    START_TIMEOUT,
    Browser,
    _area_id,
    _rounds_of,
    _unlock,
    _worker_ready,
)

if TYPE_CHECKING:
    from playwright.sync_api import Playwright

pytestmark = pytest.mark.postgres_only


def _builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pwa_build", REPO / "pwa" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _next_version(web: Path) -> str:
    """The served build becomes a new one (a changed page, so a new precache list and a new
    sw.js, as `scripts/build-web.sh` makes after any change); its cache name."""
    page = web / "index.html"
    page.write_text(page.read_text(encoding="utf-8") + "\n<!-- the next version -->\n")
    report: dict[str, Any] = _builder().write_service_worker(web)
    return str(report["cache"])


def _caches(tab: AppPage) -> list[str]:
    """The page's cache names (none while the page is reloading)."""
    try:
        return list(tab.page.evaluate("caches.keys()"))
    except playwright_error():
        return []


@pytest.fixture
def served_web(web_build: Path, tmp_path: Path) -> Path:
    """A copy of the build for the server to serve, so this test can replace it."""
    web = tmp_path / "web"
    shutil.copytree(web_build, web)
    return web


def test_a_new_build_is_taken_and_the_waiting_work_survives_it(
    playwright: "Playwright",
    pwa_server: ServerProcess,
    served_web: Path,
    school_database: str,
    tmp_path: Path,
) -> None:
    old_cache = json.loads((served_web / "precache.json").read_text())["cache"]
    area_id = _area_id(school_database, FIRST_AREA.name)
    browser = Browser(playwright, tmp_path / "profile", pwa_server)
    try:
        tab = browser.start()
        _worker_ready(tab)
        assert old_cache in _caches(tab)
        tab.find(tab.text("ui.sign_in"), roles=("button",), timeout=START_TIMEOUT)
        tab.sign_in("cleaner1", pwa_server.base)

        browser.offline(True)  # a round done offline: it waits on the phone
        tab.tap(FIRST_AREA.name, exact=False)
        tab.find(tab.text("ui.complete_round"), roles=("button",))
        for label in [n.label for n in tab.nodes() if n.role == "checkbox"]:
            tab.tick(label)
        tab.tap(tab.text("ui.complete_round"))
        within(SYNC_TIMEOUT, "the round waiting to upload", tab.pending)
        browser.close()

        new_cache = _next_version(served_web)  # the school's server is updated meanwhile
        assert new_cache != old_cache

        tab = browser.start()  # the next start, online: the new build takes over
        within(
            START_TIMEOUT,
            "the new build to replace the old one",
            lambda: _caches(tab) == [new_cache],
        )
        tab.open()  # (the page reloads itself once on the change; open it afresh to be sure)
        assert _served_page(tab).endswith("<!-- the next version -->\n")
        _unlock(tab, "cleaner1", "cleaner")
        rounds = within(
            SYNC_TIMEOUT, "the round on the server", lambda: _rounds_of(school_database, area_id)
        )
        within(SYNC_TIMEOUT, "nothing waiting to upload", lambda: tab.pending() == 0)
        assert len(rounds) == 1 and rounds[0].get("completed_at"), rounds
    finally:
        browser.close()


def _served_page(tab: AppPage) -> str:
    """index.html as the page's service worker answers it."""
    return str(tab.page.evaluate("fetch('/app/index.html').then((r) => r.text())"))
