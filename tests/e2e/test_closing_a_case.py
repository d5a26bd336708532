"""Closing a sick case in the browser, at phone size, in both languages: the confirmation
is drawn and readable (a wrapping row with an expanding child was drawn as a grey box, which
the control tree alone never showed), and it says when the case will leave the phones."""

from pathlib import Path

import pytest
from playwright.sync_api import Locator

from shared.i18n import t
from tests.e2e.app_harness import (
    AppPage,
    Browsing,
    RestartableServer,
    error_boxes,
    set_scene,
    within,
)

pytestmark = pytest.mark.postgres_only


def _last_button(tab: AppPage, name: str) -> Locator | None:
    """The last button of that name on the page (the form's own, after the tile's)."""
    buttons = tab.page.locator("flt-semantics[role=button]")
    found = None
    for index in range(buttons.count()):
        button = buttons.nth(index)
        label = button.get_attribute("aria-label") or button.inner_text() or ""
        if label.strip() == name:
            found = button
    return found


def test_the_close_confirmation_is_drawn_in_both_languages(
    browsing: Browsing,
    app_server: RestartableServer,
    screenshot_dir: Path,
    tmp_path: Path,
) -> None:
    scene = set_scene(app_server.base, tmp_path / "helpers")
    (phone,) = browsing.clients_for(app_server.base, "zh")
    context = browsing.browser.new_context(
        viewport={"width": 360, "height": 740}, device_scale_factor=1, locale="zh-CN"
    )
    tab = browsing.adopt(AppPage(context, phone).open())
    screenshot_dir.mkdir(parents=True, exist_ok=True)
    tab.find(t("app.title", "zh"))
    tab.sign_in("teacher1", app_server.base)
    tab.find(scene.student, exact=False)
    for lang in ("zh", "en"):
        if tab.lang != lang:
            tab.switch_language()
        close = tab.text("ui.close_case")
        tab.tap(close)  # the tile opens

        def asked(close: str = close) -> bool:
            button = _last_button(tab, close)
            if button is None:
                return False
            button.scroll_into_view_if_needed()
            button.dispatch_event("click")
            return tab.shows(tab.text("ui.close_case_sure"))

        within(10, "the confirmation", asked)
        tab.find(tab.text("ui.yes_close"), roles=("button",))
        leaves = tab.text("ui.closed_leaves_phones").format(days=30)
        tab.wait_for_text(leaves)
        path = screenshot_dir / f"phone-teacher-close-case-{lang}.png"
        shot = tab.page.screenshot(path=str(path))
        assert not error_boxes(shot), f"a grey error box is drawn: {error_boxes(shot)}"
        tab.tap(tab.text("ui.no_keep"))
