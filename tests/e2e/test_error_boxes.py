"""The search for Flutter's grey error box, on screenshots the app really drew (no browser
needed): found in the one the app drew with the close confirmation's old layout (an
expanding text in a wrapping row; `data/flutter-error-box-en.png`, taken at 360 px with that
line put back), none in any committed screenshot, and one found where a box of that grey is
drawn over them as Flutter draws it."""

import io
from pathlib import Path

import pytest
from PIL import Image

from tests.e2e.app_harness import ERROR_BOX, error_boxes

SHOTS = sorted((Path(__file__).parents[2] / "docs" / "screenshots").glob("*.png"))


def _with_box(png: bytes, box: tuple[int, int, int, int]) -> bytes:
    """`png` with a widget in `box` drawn as Flutter's error box: what is behind it (the
    page's colour), then RenderErrorBox's background (0xF0C0C0C0) over that."""
    image = Image.open(io.BytesIO(png)).convert("RGBA")
    image.paste(image.getpixel((1, 1)), box)
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    layer.paste((192, 192, 192, 0xF0), box)
    out = io.BytesIO()
    Image.alpha_composite(image, layer).convert("RGB").save(out, "PNG")
    return out.getvalue()


def test_the_committed_screenshots_exist() -> None:
    assert len(SHOTS) > 20


def test_the_box_flutter_drew_for_a_row_it_could_not_lay_out_is_found() -> None:
    drawn = (Path(__file__).parent / "data" / "flutter-error-box-en.png").read_bytes()
    assert error_boxes(drawn) == [(40, 420, 320, 648)]


@pytest.mark.parametrize("shot", SHOTS, ids=lambda p: p.stem)
def test_no_committed_screenshot_shows_an_error_box(shot: Path) -> None:
    assert error_boxes(shot.read_bytes()) == []


@pytest.mark.parametrize("name", ["phone-teacher-close-case-zh", "phone-lead-dashboard-en"])
def test_a_grey_box_drawn_over_a_screen_is_found(name: str) -> None:
    png = (SHOTS[0].parent / f"{name}.png").read_bytes()
    # Over text, buttons and the page alike: the row the close confirmation was.
    found = error_boxes(_with_box(png, (12, 300, 348, 356)))
    assert len(found) == 1
    left, top, right, bottom = found[0]
    assert abs(left - 12) <= 2 and abs(right - 348) <= 2
    assert abs(top - 300) <= 2 and abs(bottom - 356) <= 2
    # Smaller than a widget's box (a divider, a grey dot): not one.
    width, height = ERROR_BOX
    assert error_boxes(_with_box(png, (20, 100, 20 + width - 2, 100 + height + 10))) == []
    assert error_boxes(_with_box(png, (20, 100, 20 + width + 10, 100 + height - 2))) == []
