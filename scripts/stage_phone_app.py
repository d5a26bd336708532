"""Stage the phone app folder for `flet build apk|aab|ipa phone` (build/README.md).

flet build packs one folder. phone/ holds what is committed (pyproject.toml with the bundle's
settings and dependencies, main.py, the icons); this copies in the client's code (client/,
shared/) and Noto Sans SC from the `justmytype-intl-cjk` package, so the phone app carries
its font as an asset and nothing of the server.

    .venv/bin/python scripts/stage_phone_app.py [FOLDER]   (default: phone/ itself)

Run it again before every build: it replaces the copies.
"""

import shutil
import sys
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PHONE = ROOT / "phone"
COMMITTED = ("pyproject.toml", "main.py", "assets")
CODE = ("client", "shared")
FONT_SOURCE = "fonts/ofl/notosanssc/NotoSansSC[wght].ttf"
# The app's FONT_FILE (client/app.py), under the bundle's assets folder.
FONT_TARGET = "assets/fonts/NotoSansSC.ttf"


def stage(folder: Path = PHONE) -> Path:
    """Fill `folder` with everything the phone bundle holds; return it."""
    folder.mkdir(parents=True, exist_ok=True)
    junk = shutil.ignore_patterns("__pycache__", "*.pyc")
    if folder.resolve() != PHONE:
        for name in COMMITTED:
            source = PHONE / name
            if source.is_dir():
                ignore = shutil.ignore_patterns("fonts")  # copied below, from the package
                shutil.copytree(source, folder / name, ignore=ignore, dirs_exist_ok=True)
            else:
                shutil.copy2(source, folder / name)
    for package in CODE:
        shutil.rmtree(folder / package, ignore_errors=True)
        shutil.copytree(ROOT / package, folder / package, ignore=junk)
    font = folder / FONT_TARGET
    font.parent.mkdir(parents=True, exist_ok=True)
    with resources.as_file(resources.files("justmytype_intl_cjk") / FONT_SOURCE) as path:
        shutil.copyfile(path, font)
    return folder


if __name__ == "__main__":
    staged = stage(Path(sys.argv[1]) if len(sys.argv) > 1 else PHONE)
    print(f"Staged the phone app in {staged}: now `flet build apk {staged}` (build/README.md)")
