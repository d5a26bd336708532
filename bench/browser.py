"""Chromium for the PWA benchmark: the app's screens read through Flutter's semantics DOM,
and Python inside a Web Worker of the server's origin (Pyodide from the app's own build).

Small copies of what the tests do (tests/e2e/app_harness.py, tests/pwa/browser_python.py):
benchmarks do not import from tests/. Playwright is imported by the caller.

Every wait here is a poll with a deadline that pumps Playwright's events
(`page.wait_for_timeout`), so the times at which events arrive are the times they happened
to within a few milliseconds.
"""

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Playwright, ViewportSize

CHROMIUM = os.environ.get("CAREROUNDS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Software WebGL drew some CJK glyphs wrong in screenshots; the 2D canvas draws them right.
    "--disable-webgl",
]
PHONE: "ViewportSize" = {"width": 420, "height": 860}  # a phone's screen, as screenshots show
POLL_MS = 20


def launch(playwright: "Playwright", profile: Path, **options: Any) -> "BrowserContext":
    """Chromium (headless) on a profile folder that outlives the browser."""
    return playwright.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, **options
    )


def wait_until(page: "Page", timeout: float, what: str, check: Callable[[], Any]) -> Any:
    """Poll `check` (pumping Playwright's events between tries) until it is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"after {timeout:.0f} s still waiting for {what}")
        page.wait_for_timeout(POLL_MS)


# The app's screens, through Flutter's semantics DOM ------------------------------------------

# Switches the semantics DOM on (a click on Flutter's placeholder) and lists its nodes.
_NODES = """
() => {
  const placeholder = document.querySelector('flt-semantics-placeholder');
  if (placeholder) placeholder.dispatchEvent(new MouseEvent('click', {bubbles: true}));
  const host = document.querySelector('flt-semantics-host');
  if (!host) return [];
  const found = [];
  let n = 0;
  for (const el of host.querySelectorAll('flt-semantics, input, textarea')) {
    if (!el.id) el.id = 'bench-' + (++n) + '-' + Math.random().toString(36).slice(2, 8);
    const own = Array.from(el.childNodes)
      .filter(c => c.nodeType === Node.TEXT_NODE || c.tagName === 'SPAN')
      .map(c => c.textContent).join('').trim();
    const role = el.getAttribute('role') || el.getAttribute('data-semantics-role') || '';
    const label = (el.getAttribute('aria-label') || '').trim();
    found.push([el.id, role, label || own]);
  }
  return found;
}
"""


def node(page: "Page", name: str, roles: tuple[str, ...]) -> str | None:
    """The DOM id of the first semantics node with this name and one of these roles."""
    for node_id, role, found in page.evaluate(_NODES):
        if found == name and role in roles:
            return str(node_id)
    return None


def find(page: "Page", name: str, roles: tuple[str, ...], timeout: float) -> str:
    try:
        found: str = wait_until(page, timeout, f"{name!r}", lambda: node(page, name, roles))
    except TimeoutError as exc:
        seen = [f"{role}:{found}" for _, role, found in page.evaluate(_NODES) if found]
        raise TimeoutError(f"{exc}; the page shows {seen}") from None
    return found


def tap(page: "Page", name: str, timeout: float = 30.0) -> None:
    """A DOM click on the button: Flutter's tap action."""

    def attempt() -> bool:
        found = node(page, name, ("button",))
        if found is None:
            return False
        try:
            page.locator(f"#{found}").dispatch_event("click", timeout=2_000)
        except Exception:  # noqa: BLE001 - Flutter replaced the node meanwhile: again
            return False
        return True

    wait_until(page, timeout, f"to tap {name!r}", attempt)


def type_into(page: "Page", label: str, value: str, timeout: float = 30.0) -> None:
    """Type into the text field with this label until the field holds all of it."""

    def attempt() -> bool:
        found = node(page, label, ("text-field",))
        if found is None:
            return False
        field = page.locator(f"#{found}")
        try:
            field.focus(timeout=2_000)
            page.keyboard.press("Control+A")
            page.keyboard.press("Delete")
            page.keyboard.type(value)
            page.wait_for_timeout(200)
            return bool(field.input_value(timeout=2_000) == value)
        except Exception:  # noqa: BLE001 - Flutter replaced the node meanwhile: again
            return False

    wait_until(page, timeout, f"the field {label!r} to take the text", attempt)


# Python in a Web Worker, outside the app ----------------------------------------------------

# A module worker made from a blob: Pyodide and the client's packages from the build
# (`app.tar.gz`), as the app's own worker has them. A worker, because the client's
# transport is a synchronous XMLHttpRequest, which a page's main thread may not use for
# bytes. `ORIGIN` is filled in: a blob has no URL to resolve "/app/..." against.
_WORKER = """
const ORIGIN = %s;
let py = null;
async function boot() {
  const started = performance.now();
  const { loadPyodide } = await import(ORIGIN + "/app/pyodide/pyodide.mjs");
  py = await loadPyodide({ indexURL: ORIGIN + "/app/pyodide/" });
  const loaded = performance.now();
  const archive = await (await fetch(ORIGIN + "/app/app.tar.gz")).arrayBuffer();
  py.unpackArchive(archive, "gztar", { extractDir: "/carerounds-app" });
  py.runPython(
    "import sys; sys.path[:0] = ['/carerounds-app', '/carerounds-app/__pypackages__']");
  const unpacked = performance.now();
  return JSON.stringify({ version: py.version, pyodide_ms: loaded - started,
                          archive_ms: unpacked - loaded });
}
self.onmessage = async (event) => {
  const { id, code } = event.data;
  try {
    const result = code === null ? await boot() : await py.runPythonAsync(code);
    self.postMessage({ id, result: String(result) });
  } catch (error) {
    self.postMessage({ id, error: String(error) });
  }
};
"""

_START = """
(source) => {
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  const worker = new Worker(url, { type: "module" });
  const waiting = new Map();
  let next = 0;
  worker.onmessage = (event) => {
    const { id, result, error } = event.data;
    const [resolve, reject] = waiting.get(id);
    waiting.delete(id);
    if (error === undefined) resolve(result); else reject(new Error(error));
  };
  globalThis.benchRun = (code) => new Promise((resolve, reject) => {
    const id = ++next;
    waiting.set(id, [resolve, reject]);
    worker.postMessage({ id, code });
  });
}
"""


class WorkerPython:
    """Pyodide in a Web Worker of `page` (a page of the server's origin); `run` returns
    what the code's last expression gives, a JSON string, decoded."""

    def __init__(self, page: "Page", origin: str) -> None:
        self.page = page
        page.evaluate(_START, _WORKER % json.dumps(origin))
        started = time.perf_counter()
        booted = json.loads(page.evaluate("() => benchRun(null)"))
        self.boot_s = time.perf_counter() - started
        self.version = str(booted["version"])
        # In the worker: Pyodide loaded (its wasm compiled, the interpreter started), then
        # the client's archive fetched and unpacked (ms).
        self.pyodide_ms = float(booted["pyodide_ms"])
        self.archive_ms = float(booted["archive_ms"])

    def run(self, code: str) -> Any:
        return json.loads(self.page.evaluate("(code) => benchRun(code)", code))
