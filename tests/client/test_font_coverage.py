"""Every character a screen can show is in the font the app ships (Noto Sans SC): one it
lacks is drawn as an empty box (a checklist's "✎" was)."""

import ast
from pathlib import Path

from fontTools.ttLib import TTFont

from client.main import FONT_FILE, prepare_assets
from shared.i18n import CATALOGUE

CLIENT = Path(__file__).resolve().parents[2] / "client"


def _shown_strings() -> list[str]:
    strings = [text for catalogue in CATALOGUE.values() for text in catalogue.values()]
    for source in sorted(CLIENT.rglob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                strings.append(node.value)
    return strings


def test_every_character_on_screen_is_in_the_shipped_font(tmp_path: Path) -> None:
    font = TTFont(prepare_assets(tmp_path) / FONT_FILE)
    cmap = font.getBestCmap()
    shown = {ch for text in _shown_strings() for ch in text if ch.isprintable() and ch != " "}
    assert len(shown) > 300  # the Chinese catalogue is in there
    missing = sorted(ch for ch in shown if ord(ch) not in cmap)
    assert missing == [], f"drawn as boxes: {missing}"
