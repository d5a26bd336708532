"""The browser's device folder: a folder of Pyodide's file system kept in IndexedDB.

Each browser profile has its own IndexedDB, so its own folder: its own device id and its
own users' stores. The folder is read from IndexedDB once at start (`mount`); after every
committed transaction of a store, and after a file is written or removed, `persist` writes
what changed back and waits for IndexedDB to confirm, so an edit is durable when the edit
returns, not on a timer: closing the tab or killing the browser right after loses nothing.

Only importable inside Pyodide.
"""

from pathlib import Path

import pyodide_js  # type: ignore[import-not-found]
from js import Object  # type: ignore[import-not-found]
from pyodide.code import run_js  # type: ignore[import-not-found]
from pyodide.ffi import run_sync  # type: ignore[import-not-found]

FOLDER = Path("/carerounds")

_SYNC = run_js(
    """
    (FS, populate) => new Promise((resolve, reject) =>
        FS.syncfs(populate, (error) => (error ? reject(error) : resolve())))
    """
)


_mounted: list[Path] = []


async def mount(folder: Path = FOLDER) -> Path:
    """Mount `folder` on IndexedDB and read what an earlier visit left there (once)."""
    if folder not in _mounted:
        fs = pyodide_js.FS
        fs.mkdirTree(str(folder))
        fs.mount(fs.filesystems.IDBFS, Object.new(), str(folder))
        await _SYNC(fs, True)
        _mounted.append(folder)
    return folder


def persist() -> None:
    """Write every change of the mounted folder to IndexedDB and wait until it is there."""
    run_sync(_SYNC(pyodide_js.FS, False))
