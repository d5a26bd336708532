"""Where the app keeps its files, and its settings."""

import os
import sys
from pathlib import Path


def data_dir() -> Path:
    """The app's data folder: Flet's (set by `flet run` and built apps), else a per-user one."""
    flet_dir = os.environ.get("FLET_APP_STORAGE_DATA")
    if flet_dir:
        return Path(flet_dir)
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home())) / "CareRounds"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "CareRounds"
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "carerounds"
