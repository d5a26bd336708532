"""`carerounds-client --data-dir ./phone` as a person types it: a data folder relative to
where the command runs. Flet reads a relative assets folder from the script's own folder
(`.venv/bin/`), so the font was not served and every Chinese character was a box; the
other browser tests pass absolute folders and never saw it."""

from pathlib import Path

import httpx

from shared.i18n import t
from tests.e2e.app_harness import (
    FONT_URL_PATH,
    Browsing,
    ClientProcess,
    glyph_cells,
    looks_like_glyphs,
)


def test_a_relative_data_folder_serves_the_font_and_chinese_is_drawn(
    browsing: Browsing, screenshot_dir: Path
) -> None:
    folder = browsing.folder / "relative"
    # No server is needed to draw the sign-in screen: the address is only offered.
    phone = ClientProcess("http://127.0.0.1:9", folder, lang="zh", data_dir="./phone-data")
    browsing.clients.append(phone)
    phone.wait_ready()
    assert (folder / "phone-data" / "assets" / "fonts" / "NotoSansSC.ttf").exists()

    font = httpx.get(phone.base + FONT_URL_PATH, timeout=30)
    assert font.status_code == 200, f"the CJK font is not served: {font.status_code}"
    assert len(font.content) > 1_000_000, "a CJK font is several megabytes"

    tab = browsing.tab(phone)
    title = tab.find(t("app.title", "zh"))
    png = tab.screenshot(screenshot_dir / "relative-data-dir-sign-in-zh.png")
    fetched = [status for status, url in tab.responses if url == phone.base + FONT_URL_PATH]
    assert fetched == [200], f"the page should load the font it registers, got {fetched}"
    box = tab.locator(title).bounding_box()
    assert box is not None
    fine, least = looks_like_glyphs(glyph_cells(png, box, len(title.name)))
    assert fine, f"{title.name!r} is drawn as boxes (cells differ by {least:.1f})"
