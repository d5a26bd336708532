"""Draw the phone app's icons and splash into phone/assets/ (committed; run again to redraw).

    .venv/bin/python scripts/make_phone_icons.py

flet build makes every platform's sizes from these (flet_platform_assets):
- icon.png: teal rounded square, white cross; the generic icon (iOS flattens it onto
  `icon_background`, the same teal).
- icon_android.png: Android's adaptive foreground: a teal disc with the cross inside the
  central 72/108 that every launcher mask keeps, on the teal adaptive background.
- splash.png: the white cross alone, drawn on the splash colour.
"""

from pathlib import Path

from PIL import Image, ImageDraw

TEAL = (0x00, 0x89, 0x7B, 255)
WHITE = (255, 255, 255, 255)
SIZE = 1024
SUPERSAMPLE = 4  # drawn large, then scaled down: smooth edges without a vector renderer
ASSETS = Path(__file__).resolve().parent.parent / "phone" / "assets"


def _canvas() -> tuple[Image.Image, ImageDraw.ImageDraw, int]:
    big = SIZE * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    return image, ImageDraw.Draw(image), big


def _cross(draw: ImageDraw.ImageDraw, big: int, span: float) -> None:
    """A medical cross `span` of the canvas wide, arms a third of that, softly rounded."""
    arm = span * big
    width = arm / 3
    centre = big / 2
    radius = width * 0.18
    draw.rounded_rectangle(
        (centre - width / 2, centre - arm / 2, centre + width / 2, centre + arm / 2),
        radius=radius,
        fill=WHITE,
    )
    draw.rounded_rectangle(
        (centre - arm / 2, centre - width / 2, centre + arm / 2, centre + width / 2),
        radius=radius,
        fill=WHITE,
    )


def _save(image: Image.Image, name: str) -> None:
    image.resize((SIZE, SIZE), Image.Resampling.LANCZOS).save(ASSETS / name, optimize=True)


def main() -> None:
    ASSETS.mkdir(parents=True, exist_ok=True)

    icon, draw, big = _canvas()
    draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=big * 0.22, fill=TEAL)
    _cross(draw, big, 0.56)
    _save(icon, "icon.png")

    foreground, draw, big = _canvas()
    disc = big * 0.31  # radius: inside the 72/108 safe zone (0.333 of the canvas)
    draw.ellipse((big / 2 - disc, big / 2 - disc, big / 2 + disc, big / 2 + disc), fill=TEAL)
    _cross(draw, big, 0.36)
    _save(foreground, "icon_android.png")

    splash, draw, big = _canvas()
    _cross(draw, big, 0.5)
    _save(splash, "splash.png")


if __name__ == "__main__":
    main()
