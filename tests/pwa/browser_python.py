"""Python inside Chromium, outside the app: Pyodide from the PWA's own build, the client's
packages and their dependencies from its `app.tar.gz`, run on a page of the server's origin.

For tests of the browser's parts on their own (the WebCrypto store), without Flet's UI.
"""

import base64
import json
from typing import Any

from playwright.sync_api import Page

BOOT = """
async () => {
  if (!globalThis.py) {
    const { loadPyodide } = await import("/app/pyodide/pyodide.mjs");
    const py = await loadPyodide({ indexURL: "/app/pyodide/" });
    const archive = await (await fetch("/app/app.tar.gz")).arrayBuffer();
    py.unpackArchive(archive, "gztar", { extractDir: "/carerounds-app" });
    py.runPython(
      "import sys; sys.path[:0] = ['/carerounds-app', '/carerounds-app/__pypackages__']");
    globalThis.py = py;
  }
  return globalThis.py.version;
}
"""

RUN = """
async ([code, files]) => {
  const py = globalThis.py;
  for (const [path, b64] of Object.entries(files)) {
    py.FS.writeFile(path, Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
  }
  return await py.runPythonAsync(code);
}
"""

READ = """
(path) => {
  const bytes = globalThis.py.FS.readFile(path);
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}
"""


class BrowserPython:
    """Pyodide booted on `page` (at the server's origin); `run` returns the JSON that the
    code's last expression gives."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.version = page.evaluate(BOOT)

    def run(self, code: str, files: dict[str, bytes] | None = None) -> Any:
        sent = {path: base64.b64encode(data).decode() for path, data in (files or {}).items()}
        return json.loads(self.page.evaluate(RUN, [code, sent]))

    def read(self, path: str) -> bytes:
        return base64.b64decode(self.page.evaluate(READ, path))
