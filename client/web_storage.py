"""The browser's device folder: a folder of Pyodide's file system kept in IndexedDB.

Each browser profile has its own IndexedDB, so its own folder: its own device id and its
own users' stores. The folder is read from IndexedDB once at start (`mount`). After every
committed transaction of a store, and after a file is written or removed, `persist` writes
what changed back, in one IndexedDB transaction, and waits until IndexedDB confirms it: an
edit is durable when the edit returns, not on a timer, so closing the tab or killing the
browser right after loses nothing.

Files are kept as chunks of 64 KiB, and only the chunks written since the last `persist`
are written again: an edit costs the pages it changed, not the whole store (Emscripten's
IDBFS rewrites every changed file whole, 40 MB for a store of 10,000 rounds). The file
system's write, truncate, unlink and rename are wrapped to note what changed.

Only importable inside Pyodide.
"""

from collections.abc import Callable
from pathlib import Path

import pyodide_js  # type: ignore[import-not-found]
from pyodide.code import run_js  # type: ignore[import-not-found]
from pyodide.ffi import run_sync  # type: ignore[import-not-found]

FOLDER = Path("/carerounds")

_FILES = run_js(
    r"""
(() => {
  const CHUNK = 64 * 1024;
  const NAME = "carerounds-device";
  let db = null, FS = null, root = null, held = false;
  const dirty = new Map();   // path -> chunk indexes written since the last persist
  const whole = new Set();   // paths to write whole (truncated, renamed into)
  const gone = new Set();    // paths removed
  const asked = (r) => new Promise((ok, fail) => {
    r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error);
  });
  const finished = (tx) => new Promise((ok, fail) => {
    tx.oncomplete = () => ok(); tx.onerror = tx.onabort = () => fail(tx.error);
  });
  const chunksOf = (path, from = 0) => IDBKeyRange.bound([path, from], [path, Infinity]);
  const absolute = (path) => (path.startsWith("/") ? path : FS.cwd() + "/" + path);
  const inside = (path) => path === root || path.startsWith(root + "/");
  const pathOf = (target) => (typeof target === "string" ? absolute(target) : FS.getPath(target));
  const changed = (path) => { gone.delete(path); };
  const wrote = (path, from, length) => {
    if (!inside(path) || length <= 0) return;
    changed(path);
    let marks = dirty.get(path);
    if (marks === undefined) dirty.set(path, (marks = new Set()));
    for (let i = Math.floor(from / CHUNK); i <= Math.floor((from + length - 1) / CHUNK); i++) {
      marks.add(i);
    }
  };
  const rewrite = (path) => { if (inside(path)) { changed(path); whole.add(path); } };
  const removed = (path) => {
    if (!inside(path)) return;
    dirty.delete(path); whole.delete(path); gone.add(path);
  };

  function watch() {
    const { write, truncate, unlink, rename } = FS;
    FS.write = function (stream, buffer, offset, length, position, canOwn) {
      const appending = (stream.flags & 1024) !== 0;  // O_APPEND
      const at = typeof position === "number" ? position : stream.position;
      const written = write.call(this, stream, buffer, offset, length, position, canOwn);
      if (stream.path) {
        if (appending) rewrite(stream.path); else wrote(stream.path, at, written);
      }
      return written;
    };
    FS.truncate = function (target, length) {
      const result = truncate.call(this, target, length);
      rewrite(pathOf(target));
      return result;
    };
    FS.unlink = function (path) {
      const result = unlink.call(this, path);
      removed(absolute(path));
      return result;
    };
    FS.rename = function (from, to) {
      const result = rename.call(this, from, to);
      removed(absolute(from));
      rewrite(absolute(to));
      return result;
    };
  }

  return {
    // One tab at a time owns the folder: two workers writing their own copies of a store
    // into the same chunks would mix their pages. Held for as long as this worker lives.
    async hold(wait) {
      if (held || !navigator.locks) return (held = true);
      return await new Promise((resolve) => {
        navigator.locks.request(NAME, wait ? {} : { ifAvailable: true }, (lock) => {
          if (lock === null) { resolve(false); return undefined; }
          held = true;
          resolve(true);
          return new Promise(() => {});
        });
      });
    },
    async mount(fs, folder) {
      if (db !== null) return;
      FS = fs; root = folder;
      const opening = indexedDB.open(NAME, 1);
      opening.onupgradeneeded = () => {
        opening.result.createObjectStore("files");
        opening.result.createObjectStore("chunks");
      };
      db = await asked(opening);
      FS.mkdirTree(root);
      const tx = db.transaction(["files", "chunks"], "readonly");
      const files = tx.objectStore("files"), chunks = tx.objectStore("chunks");
      const [paths, sizes, keys, parts] = await Promise.all([
        asked(files.getAllKeys()), asked(files.getAll()),
        asked(chunks.getAllKeys()), asked(chunks.getAll()),
      ]);
      const contents = new Map(paths.map((path, n) => [path, new Uint8Array(sizes[n].size)]));
      keys.forEach(([path, index], k) => {
        const data = contents.get(path);
        if (data !== undefined && index * CHUNK < data.length) {
          data.set(parts[k].subarray(0, data.length - index * CHUNK), index * CHUNK);
        }
      });
      for (const [path, data] of contents) {
        FS.mkdirTree(path.slice(0, path.lastIndexOf("/")) || "/");
        FS.writeFile(path, data);
      }
      watch();  // after reading: what mount wrote is already in IndexedDB
    },
    async persist() {
      if (dirty.size === 0 && whole.size === 0 && gone.size === 0) return 0;
      const tx = db.transaction(["files", "chunks"], "readwrite");
      const files = tx.objectStore("files"), chunks = tx.objectStore("chunks");
      let bytes = 0;
      for (const path of gone) {
        files.delete(path);
        chunks.delete(chunksOf(path));
      }
      for (const path of new Set([...dirty.keys(), ...whole])) {
        let node;
        try { node = FS.lookupPath(path).node; } catch (missing) { node = null; }
        if (node === null || !FS.isFile(node.mode)) {
          files.delete(path); chunks.delete(chunksOf(path)); continue;
        }
        const size = node.usedBytes, data = node.contents || new Uint8Array(0);
        const count = Math.ceil(size / CHUNK);
        const indexes = whole.has(path) ? [...Array(count).keys()] : dirty.get(path);
        for (const index of indexes) {
          if (index >= count) continue;
          const part = data.slice(index * CHUNK, Math.min(size, (index + 1) * CHUNK));
          chunks.put(part, [path, index]);
          bytes += part.byteLength;
        }
        chunks.delete(chunksOf(path, count));  // what a shorter file no longer has
        files.put({ size }, path);
      }
      await finished(tx);
      dirty.clear(); whole.clear(); gone.clear();
      return bytes;
    },
  };
})()
"""
)


async def mount(folder: Path = FOLDER, waiting: Callable[[], None] = lambda: None) -> Path:
    """Read `folder` back from IndexedDB (once); from then on `persist` keeps it there.

    Only one tab of a browser holds the folder: in another, `waiting` is called and the
    mount waits until the first tab is closed.
    """
    if not await _FILES.hold(False):
        waiting()
        await _FILES.hold(True)
    await _FILES.mount(pyodide_js.FS, str(folder))
    return folder


def persist() -> None:
    """Write what changed in the folder to IndexedDB and wait until it is there."""
    run_sync(_FILES.persist())
