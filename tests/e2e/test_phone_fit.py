"""Every screen fits a 360 px phone, in Chinese and in English: each role signs in to a real
server with the demo school (through `carerounds-client` in Chromium) and walks its screens.

How overflow is found: Flutter lays out one accessibility (`flt-semantics`) node per widget
that shows something (a text, a field, a button), placed where the widget is drawn. A Text
that does not wrap inside a Row, or a field wider than the screen, gets a node whose box
runs past the viewport's right edge; every node's box is read after each screen is drawn
(and again after scrolling down), and any right edge past 360 px is a finding. Every button
must also have a name a screen reader says (an icon button's tooltip or label). A widget
Flutter cannot lay out has no node at all: it is drawn as a flat grey box, which each
screenshot is searched for (`error_boxes`).

Screenshots of every screen, both languages, go to `screenshot_dir` (phone-*.png).
"""

import time
from pathlib import Path
from typing import Any

import pytest

from server import demo_school
from shared.i18n import t
from tests.e2e.app_harness import (
    AppPage,
    Browsing,
    RestartableServer,
    error_boxes,
    set_scene,
)

pytestmark = pytest.mark.postgres_only

WIDTH, HEIGHT = 360, 740
SCROLLS = 6  # screens longer than this many screenfuls are read no further

# Nodes past the right edge, and buttons without a name, as the page lays them out now.
_FINDINGS_JS = """
(width) => {
  const host = document.querySelector('flt-semantics-host');
  if (!host) return {wide: [], unnamed: []};
  const wide = [], unnamed = [];
  for (const el of host.querySelectorAll('flt-semantics, input, textarea')) {
    const box = el.getBoundingClientRect();
    if (box.width <= 0 || box.height <= 0) continue;
    const label = (el.getAttribute('aria-label') || '').trim();
    const text = (el.innerText || el.value || '').trim();
    const name = (label || text).slice(0, 60);
    if (box.right > width + 1) {
      wide.push({name: name, right: Math.round(box.right), left: Math.round(box.left)});
    }
    const role = el.getAttribute('role') || '';
    if (role === 'button' && !label && !text) {
      const around = el.parentElement ? (el.parentElement.getAttribute('aria-label') || '') : '';
      if (!around.trim()) unnamed.push({left: Math.round(box.left), top: Math.round(box.top)});
    }
  }
  return {wide: wide, unnamed: unnamed};
}
"""


class Walk:
    """One tab at phone size; each screen is read for findings and photographed."""

    def __init__(self, tab: AppPage, folder: Path) -> None:
        self.tab = tab
        self.folder = folder
        self.findings: dict[str, list[str]] = {}

    def screen(self, name: str) -> None:
        page = self.tab.page
        found: list[str] = []
        time.sleep(1.2)  # the canvas paints about a second after the semantics change
        shot = page.screenshot(path=str(self.folder / f"phone-{name}.png"))
        found += [f"Flutter's grey error box at {box}" for box in error_boxes(shot)]
        for step in range(SCROLLS):
            result: dict[str, Any] = page.evaluate(_FINDINGS_JS, WIDTH)
            found += [f"past the edge ({n['right']} px): {n['name']!r}" for n in result["wide"]]
            found += [
                f"a button without a name at {n['left']},{n['top']}" for n in result["unnamed"]
            ]
            before = self.tab.words()
            page.mouse.move(WIDTH / 2, HEIGHT / 2)
            page.mouse.wheel(0, HEIGHT * 0.7)
            time.sleep(0.8)
            if self.tab.words() == before:
                break
            if step == 0:
                time.sleep(0.5)
                lower = page.screenshot(path=str(self.folder / f"phone-{name}-lower.png"))
                found += [f"Flutter's grey error box at {b} (lower)" for b in error_boxes(lower)]
        page.mouse.wheel(0, -HEIGHT * SCROLLS)  # back to the top for the next step
        time.sleep(0.5)
        if found:
            self.findings[name] = sorted(set(found))

    def both_languages(self, name: str) -> None:
        """This screen in the tab's language, then in the other, then back."""
        first = self.tab.lang
        self.screen(f"{name}-{first}")
        self.tab.switch_language()
        self.screen(f"{name}-{self.tab.lang}")
        self.tab.switch_language()


def test_every_screen_fits_a_360_px_phone(
    browsing: Browsing,
    app_server: RestartableServer,
    screenshot_dir: Path,
    tmp_path: Path,
) -> None:
    scene = set_scene(app_server.base, tmp_path / "helpers")
    (phone,) = browsing.clients_for(app_server.base, "zh")
    context = browsing.browser.new_context(
        viewport={"width": WIDTH, "height": HEIGHT}, device_scale_factor=1, locale="zh-CN"
    )
    tab = browsing.adopt(AppPage(context, phone).open())
    screenshot_dir.mkdir(parents=True, exist_ok=True)
    walk = Walk(tab, screenshot_dir)
    tab.find(t("app.title", "zh"))
    # The check sees real boxes: against a narrower edge, the sign-in fields run past it.
    narrow = tab.page.evaluate(_FINDINGS_JS, 200)["wide"]
    assert any(n["name"] == t("ui.username", "zh") for n in narrow), narrow
    walk.both_languages("sign-in")

    tab.sign_in("cleaner1", app_server.base)
    tab.find(tab.text("ui.today"), roles=("",), exact=False)
    walk.both_languages("cleaner-today")
    tab.tap(demo_school.AREAS[0].name, exact=False)
    tab.find(tab.text("ui.complete_round"), roles=("button",))
    walk.both_languages("cleaner-checklist")
    tab.switch_user()

    tab.sign_in("teacher1", app_server.base)
    tab.find(scene.student, exact=False)
    walk.both_languages("teacher-sick-list-and-forms")
    tab.tap_tab(tab.text("ui.class_day_tab"))
    tab.find(tab.text("ui.todays_checks"), roles=("",))
    walk.both_languages("teacher-class-day")
    tab.switch_user()

    tab.sign_in("counselor1", app_server.base)
    tab.find(tab.text("ui.caseload"), roles=("",))
    walk.both_languages("counselor-caseload")
    tab.tap(tab.text("ui.new_counseling_case"))
    tab.find(tab.text("ui.open_counseling_case"), roles=("button",))
    walk.both_languages("counselor-new-case")
    tab.tap(tab.text("ui.back"))
    tab.find(tab.text("ui.caseload"), roles=("",))
    tab.tap(scene.student, exact=False)
    tab.find(tab.text("ui.add_intervention"), roles=("button",))
    walk.both_languages("counselor-case")
    tab.switch_user()

    tab.sign_in("lead", app_server.base)
    tab.find(tab.text("ui.dashboard"), roles=("",))
    walk.both_languages("lead-dashboard")
    tab.tap_tab(tab.text("ui.manage"))
    for section in ("areas", "checklists", "calendar", "classes", "staff"):
        tab.tap(tab.text(f"ui.section.{section}"))
        time.sleep(1.0)
        walk.both_languages(f"lead-manage-{section}")

    report = "\n".join(
        f"{screen}:\n  " + "\n  ".join(found) for screen, found in walk.findings.items()
    )
    assert not walk.findings, (
        f"screens that do not fit 360 px (shots in {screenshot_dir}):\n{report}"
    )
