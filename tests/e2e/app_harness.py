"""Browser harness: real `carerounds-client` processes (Flet, web mode) driven in Debian's
Chromium through Playwright, helper devices that set the scene over the sync protocol, and
pixel checks for the screenshots.

Playwright is imported only where a browser is started (see conftest), so this module
imports without it.

How the Flutter page is driven (found on our machines, see house-style.md):
- Flutter draws on a canvas; its accessibility ("semantics") DOM is switched on by a click
  on `flt-semantics-placeholder`, after which every text, button, checkbox and text field
  is a `flt-semantics` node (a text field is an `<input>`/`<textarea>` with an aria-label).
- A tap is a DOM `click` dispatched on the node: Flutter turns it into the node's tap
  action wherever the node is on the screen, so nothing needs scrolling first.
- Playwright's own waits can hang on Flutter's DOM: every wait here is a short poll with a
  deadline.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from PIL import Image, ImageStat

from bench.browser import CHROMIUM as CHROMIUM
from bench.browser import CHROMIUM_ARGS as CHROMIUM_ARGS
from bench.browser import PHONE as PHONE
from bench.loopback import stop_group
from client.due_lists import calendar_of
from client.httpx_transport import HttpxTransport
from client.main import FONT_FILE
from client.plain_store import PlainStore
from client.sync_engine import SyncEngine
from shared.i18n import t
from tests.e2e.harness import (
    DEMO_PASSWORD,
    REPO,
    STARTUP_TIMEOUT,
    ServerProcess,
    free_port,
    login,
)

if TYPE_CHECKING:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        FloatRect,
        Locator,
        Page,
    )

FONT_URL_PATH = f"/{FONT_FILE}"  # page.fonts names it relative to the assets, served at /
PAINT_SECONDS = 1.2  # the canvas paints about a second after the semantics DOM changes
STEP_TIMEOUT = 30.0  # one step in the page (a tap's effect, a screen appearing)
SYNC_TIMEOUT = 60.0  # a sync over loopback, with room for a loaded 2-core machine


def playwright_error() -> type[Exception]:
    """Playwright's error class (imported late: this module loads without Playwright)."""
    from playwright.sync_api import Error

    return Error


def poll(timeout: float, check: Callable[[], Any], interval: float = 0.25) -> Any:
    """Poll `check` until it returns something truthy (returned) or `timeout` (None)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def within(timeout: float, what: str, check: Callable[[], Any], interval: float = 0.25) -> Any:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout`."""
    result = poll(timeout, check, interval)
    if not result:
        pytest.fail(f"after {timeout:.0f} s still waiting for {what}")
    return result


# Client processes ---------------------------------------------------------------------------


def client_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREROUNDS_")}
    env["PYTHONPATH"] = str(REPO)
    return env


class ClientProcess:
    """`carerounds-client` serving the web app on a free loopback port, with its own data
    folder (one phone); `stop()` always reaps it."""

    def __init__(
        self,
        server_url: str,
        folder: Path,
        *,
        lang: str = "zh",
        sync_every: float = 2.0,
        data_dir: str | None = None,
    ) -> None:
        """`data_dir`: the --data-dir argument as typed (relative to `folder`, the working
        directory); by default an absolute folder inside `folder`."""
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.lang = lang
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.log_path = folder / f"client-{self.port}.log"
        argv = [
            sys.executable,
            "-m",
            "client.main",
            "--server",
            server_url,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--data-dir",
            data_dir or str(folder / "data"),
            "--lang",
            lang,
            "--sync-every",
            str(sync_every),
        ]
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                argv,
                cwd=folder,
                env=client_env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self) -> ClientProcess:
        """Wait until the page is served; on failure it is stopped."""
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    pytest.fail(f"client exited with {self.proc.returncode}:\n{self.output()}")
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(self.base + "/", timeout=2).status_code == 200:
                        return self
                time.sleep(0.1)
            pytest.fail(f"client not ready after {STARTUP_TIMEOUT} s:\n{self.output()}")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        stop_group(self.proc, grace=10)


# The server, stopped and started again on the same port and database ----------------------


class RestartableServer:
    """`server.cli serve` on one port: `stop()` it, `start()` a new process in its place."""

    def __init__(self, database_url: str, folder: Path, workers: int = 1) -> None:
        self.database_url = database_url
        self.folder = folder
        self.workers = workers
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.current: ServerProcess | None = None

    def start(self) -> RestartableServer:
        assert self.current is None, "already running"
        self.current = ServerProcess.serve(
            self.database_url, self.folder, workers=self.workers, port=self.port
        )
        return self

    def stop(self) -> None:
        if self.current is not None:
            self.current.stop()
            self.current = None


# Helper devices: what other people did before the test's story starts ---------------------


class HelperDevice:
    """A signed-in device without a screen (PlainStore + SyncEngine over HTTP), for
    setting the scene: a sick case opened, a counseling case taken on."""

    def __init__(self, server_url: str, username: str, folder: Path) -> None:
        self.who = login(server_url, username)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{username}-{secrets.token_hex(3)}.db"
        self.store = PlainStore(path, self.who.device_id)
        self.transport = HttpxTransport(server_url, timeout=30)
        self.engine = SyncEngine(self.store, self.transport, self.who.token)
        try:
            self.engine.sync()
        except BaseException:
            self.close()
            raise

    def today(self) -> str:
        return calendar_of(self.store).today(datetime.now(UTC)).isoformat()

    def first_class(self) -> tuple[str, str]:
        """(class_id, name) of the first of this teacher's classes by name."""
        classes = sorted((r.fields["name"], r.record_id) for r in self.store.records("classes"))
        name, class_id = classes[0]
        return class_id, name

    def first_student(self, class_id: str) -> tuple[str, str]:
        """(student_id, name) of the class's first student by number."""
        students = sorted(
            (r.fields.get("student_no", ""), r.record_id, r.fields["name"])
            for r in self.store.records("students")
            if str(r.fields.get("class_id")) == class_id
        )
        _number, student_id, name = students[0]
        return student_id, name

    def create(self, collection: str, fields: dict[str, Any]) -> str:
        record_id = str(uuid.uuid4())
        self.store.edit(collection, record_id, fields)
        report = self.engine.sync()
        assert report.rejected == 0, f"the server refused the scene's {collection}"
        return record_id

    def close(self) -> None:
        self.transport.close()
        self.store.close()

    def __enter__(self) -> HelperDevice:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class Scene:
    """A sick student of teacher1's first class who also has a counseling case."""

    class_name: str
    student_id: str
    student: str
    sick_case_id: str
    counseling_case_id: str


def set_scene(server_url: str, folder: Path) -> Scene:
    with HelperDevice(server_url, "teacher1", folder) as teacher:
        class_id, class_name = teacher.first_class()
        student_id, student = teacher.first_student(class_id)
        today = teacher.today()
        sick_case_id = teacher.create(
            "sick_cases",
            {
                "student_id": student_id,
                "class_id": class_id,
                "onset_date": today,
                "opened_on": today,
                "symptoms": "发热 38.6°C, 咳嗽",
            },
        )
    with HelperDevice(server_url, "counselor1", folder) as counselor:
        counseling_case_id = counselor.create(
            "counseling_cases",
            {"student_id": student_id, "risk_level": "medium", "opened_on": today},
        )
    return Scene(class_name, student_id, student, sick_case_id, counseling_case_id)


# The app in a browser tab ------------------------------------------------------------------

# Every flt-semantics node with what a person would read for it: its aria-label, or its own
# text. Ids are given to nodes that lack one so a Locator can find them again.
_NODES_JS = """
(root) => {
  const scope = root || document.querySelector('flt-semantics-host');
  if (!scope) return [];
  const found = [];
  let n = 0;
  for (const el of scope.querySelectorAll('flt-semantics, input, textarea')) {
    if (!el.id) el.id = 'e2e-' + (++n) + '-' + Math.random().toString(36).slice(2, 8);
    let own = Array.from(el.childNodes)
      .filter(c => c.nodeType === Node.TEXT_NODE || c.tagName === 'SPAN')
      .map(c => c.textContent).join('').trim();
    const role = el.getAttribute('role') || el.getAttribute('data-semantics-role') || '';
    const label = (el.getAttribute('aria-label') || '').trim();
    if (role === 'button' && !label && !own && el.parentElement) {
      // An icon button is named by its tooltip, on the node around it.
      own = (el.parentElement.getAttribute('aria-label') || '').trim();
    }
    found.push({
      id: el.id,
      tag: el.tagName.toLowerCase(),
      role: role,
      label: label,
      text: own,
      checked: el.getAttribute('aria-checked'),
      value: ('value' in el) ? el.value : null,
    });
  }
  return found;
}
"""

# All the words on the page: texts, labels, field values, the tab title.
_WORDS_JS = """
() => {
  const host = document.querySelector('flt-semantics-host');
  const parts = [document.title];
  if (host) {
    parts.push(host.innerText || '');
    for (const el of host.querySelectorAll('[aria-label]')) {
      parts.push(el.getAttribute('aria-label'));
    }
    for (const el of host.querySelectorAll('input, textarea')) parts.push(el.value || '');
  }
  return parts.join('\\n');
}
"""


@dataclass(frozen=True)
class Node:
    id: str
    tag: str
    role: str
    label: str
    text: str
    checked: str | None
    value: str | None

    @property
    def name(self) -> str:
        return self.label or self.text


class AppPage:
    """One browser tab on one client: open it, read it, tap and type as a person would.

    Flutter may rebuild the semantics DOM at any time (every redraw of the screen), so a
    node found a moment ago can be gone: each action finds its node afresh and retries.
    """

    def __init__(self, context: BrowserContext, client: ClientProcess) -> None:
        self.context = context
        self.client = client
        self.lang = client.lang
        self.page: Page = context.new_page()
        self.frames: list[bytes] = []  # what the client sent this tab over its WebSocket
        self.page.on("websocket", self._watch_socket)
        self.responses: list[tuple[int, str]] = []  # (status, URL) of every HTTP answer
        self.page.on("response", lambda answer: self.responses.append((answer.status, answer.url)))

    def _watch_socket(self, socket: Any) -> None:
        def keep(payload: str | bytes) -> None:
            self.frames.append(payload.encode() if isinstance(payload, str) else payload)

        socket.on("framereceived", keep)

    def text(self, key: str, **params: Any) -> str:
        """The catalogue's words in this tab's current language."""
        words = t(key, self.lang)
        return words.format(**params) if params else words

    # Opening -----------------------------------------------------------------------------

    def open(self) -> AppPage:
        self.page.goto(self.client.base + "/", wait_until="domcontentloaded", timeout=60_000)
        within(90, "Flutter to start (#loading gone)", lambda: self._count("#loading") == 0)
        within(30, "the semantics placeholder", lambda: self._count("flt-semantics-placeholder"))

        def semantics_on() -> bool:
            if self._count("flt-semantics-placeholder"):
                with contextlib.suppress(playwright_error()):
                    self.page.locator("flt-semantics-placeholder").dispatch_event(
                        "click", timeout=2_000
                    )
            return len(self.nodes()) > 3

        within(30, "Flutter's semantics DOM", semantics_on, interval=0.5)
        return self

    def _count(self, selector: str) -> int:
        return int(self.page.locator(selector).count())

    # Reading -----------------------------------------------------------------------------

    def nodes(self, inside: str | None = None) -> list[Node]:
        """The semantics nodes (of the group whose label contains `inside`, if given)."""
        found = [Node(**item) for item in self.page.evaluate(_NODES_JS)]
        if inside is None:
            return found
        group = next((n for n in found if n.role == "group" and inside in n.label), None)
        if group is None:
            return []
        handle = self.page.locator(f"#{group.id}").element_handle(timeout=2_000)
        return [Node(**item) for item in self.page.evaluate(_NODES_JS, handle)]

    def words(self) -> str:
        """Everything a person (or a screen reader) could read on the page now."""
        return str(self.page.evaluate(_WORDS_JS))

    def lines(self) -> list[str]:
        return [line.strip() for line in self.words().splitlines() if line.strip()]

    def shows(self, text: str) -> bool:
        return text in self.words()

    def wait_for_text(self, text: str, timeout: float = STEP_TIMEOUT) -> None:
        within(timeout, f"{text!r} on the page", lambda: self.shows(text))

    def look(
        self,
        name: str,
        *,
        roles: tuple[str, ...] = (),
        exact: bool = True,
        inside: str | None = None,
    ) -> Node | None:
        """The first node whose name is (or, not exact, contains) `name`, if any now."""
        for node in self.nodes(inside):
            if roles and node.role not in roles:
                continue
            if (node.name == name) if exact else (name in node.name):
                return node
        return None

    def find(
        self,
        name: str,
        *,
        roles: tuple[str, ...] = (),
        exact: bool = True,
        inside: str | None = None,
        timeout: float = STEP_TIMEOUT,
    ) -> Node:
        found: Node = within(
            timeout,
            f"a node named {name!r} (roles {roles or 'any'})",
            lambda: self.look(name, roles=roles, exact=exact, inside=inside),
        )
        return found

    def locator(self, node: Node) -> Locator:
        return self.page.locator(f"#{node.id}")

    # Acting ------------------------------------------------------------------------------

    def _on(
        self,
        name: str,
        roles: tuple[str, ...],
        act: Callable[[Locator], None],
        *,
        exact: bool = True,
        inside: str | None = None,
    ) -> None:
        """Find the node and act on it, again if Flutter replaced it in between."""

        def attempt() -> bool:
            node = self.look(name, roles=roles, exact=exact, inside=inside)
            if node is None:
                return False
            try:
                act(self.locator(node))
            except playwright_error():
                return False
            return True

        within(STEP_TIMEOUT, f"to act on {name!r} (roles {roles})", attempt)

    def tap(self, name: str, *, exact: bool = True, inside: str | None = None) -> None:
        """Tap a button, card, checkbox or tab (a DOM click: Flutter's tap action), then
        give the app the time to redraw: a tap on the old screen while the new one is on its
        way can land on a control the app has already replaced, and be lost."""
        tapped: list[str] = []

        def click(found: Locator) -> None:
            tapped.append(found.get_attribute("id", timeout=2_000) or "")
            found.dispatch_event("click", timeout=2_000)

        self._on(name, ("button", "checkbox", "tab"), click, exact=exact, inside=inside)
        self.redrawn(tapped[-1])

    def redrawn(self, node_id: str, timeout: float = 10.0) -> bool:
        """Wait until the node is gone from the page (the screen was drawn anew)."""
        return bool(poll(timeout, lambda: self._count(f"#{node_id}") == 0))

    def tap_tab(self, name: str) -> None:
        """Go to a tab of the bottom bar (a tap on the tab already shown changes nothing)."""
        if not self._selected(name):
            self.tap(name)
        within(STEP_TIMEOUT, f"tab {name!r} selected", lambda: self._selected(name))

    def _selected(self, name: str) -> bool:
        node = self.look(name, roles=("tab",))
        if node is None:
            return False
        with contextlib.suppress(playwright_error()):
            return self.locator(node).get_attribute("aria-selected", timeout=2_000) == "true"
        return False

    def tick(self, label: str) -> None:
        """Tick a checkbox: tap it until the redrawn screen shows it ticked."""
        for _attempt in range(3):
            node = self.find(label, roles=("checkbox",))
            if node.checked != "true":
                self.tap(label)
            if poll(STEP_TIMEOUT / 3, lambda: self._ticked(label)):
                return
        pytest.fail(f"{label!r} would not stay ticked")

    def _ticked(self, label: str) -> bool:
        node = self.look(label, roles=("checkbox",))
        return node is not None and node.checked == "true"

    def type_into(self, label: str, value: str, *, inside: str | None = None) -> None:
        """Type into the text field with this label, and check the field took it all."""

        def typed() -> bool:
            node = self.look(label, roles=("text-field",), inside=inside)
            if node is None:
                return False
            field = self.locator(node)
            try:
                field.focus(timeout=2_000)
                time.sleep(0.2)
                self.page.keyboard.press("Control+A")
                self.page.keyboard.press("Delete")
                self.page.keyboard.type(value, delay=5)
                time.sleep(0.3)
                return bool(field.input_value(timeout=2_000) == value)
            except playwright_error():
                return False

        within(STEP_TIMEOUT, f"the field {label!r} to take {value!r}", typed, interval=0.5)

    def sign_in(self, username: str, server_url: str, password: str = DEMO_PASSWORD) -> None:
        """First sign-in on this phone, through the sign-in screen's own fields."""
        self.type_into(self.text("ui.server"), server_url)
        self.type_into(self.text("ui.username"), username)
        self.type_into(self.text("ui.password"), password)
        self.tap(self.text("ui.sign_in"))
        within(
            SYNC_TIMEOUT,
            f"{username} signed in",
            lambda: self.shows(self.text("ui.sync_now")) or self._sign_in_error(),
        )
        error = self._sign_in_error()
        assert not error, f"sign-in of {username} failed: {error}"

    def _sign_in_error(self) -> str:
        if self.shows(self.text("ui.sync_now")):
            return ""
        words = self.words()
        for code in ("offline", "invalid_credentials", "error"):
            message = t(f"error.{code}", self.lang)
            if message != f"error.{code}" and message in words:
                return message
        return ""

    def switch_user(self) -> None:
        """The lock button: the store is locked and the sign-in screen comes back."""
        self.tap(self.text("ui.switch_user"))
        self.find(self.text("ui.sign_in"), roles=("button",))

    def switch_language(self) -> None:
        """The language button; waits for the other language's words."""
        self.tap(self.text("ui.language"))
        self.lang = "en" if self.lang == "zh" else "zh"
        self.wait_for_text(self.text("ui.language"))

    def pending(self) -> int | None:
        """The sync bar's "N waiting to upload", read back to N (None: not shown)."""
        before, _, after = self.text("ui.pending").partition("{count}")
        for line in self.lines():
            if line.startswith(before) and line.endswith(after):
                number = line[len(before) : len(line) - len(after)].strip()
                if number.isdigit():
                    return int(number)
        return None

    def sync_now(self) -> None:
        """Tap "Sync now" and wait until nothing waits to upload."""
        self.tap(self.text("ui.sync_now"))
        within(SYNC_TIMEOUT, "nothing waiting to upload", lambda: self.pending() == 0)

    def screenshot(self, path: Path) -> bytes:
        time.sleep(PAINT_SECONDS)
        path.parent.mkdir(parents=True, exist_ok=True)
        return bytes(self.page.screenshot(path=str(path)))


def new_tab(browser: Browser, client: ClientProcess) -> AppPage:
    """A fresh browser context (no shared storage) with one tab on `client`, opened."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, locale=client.lang)
    return AppPage(context, client).open()


class Browsing:
    """Client processes and browser tabs of one test; `close()` ends all of them."""

    def __init__(self, browser: Browser, folder: Path) -> None:
        self.browser = browser
        self.folder = folder
        self.clients: list[ClientProcess] = []
        self.tabs: list[AppPage] = []

    def clients_for(
        self, server_url: str, *langs: str, sync_every: float = 2.0
    ) -> list[ClientProcess]:
        """Start one client (phone) per language given, side by side, and wait for them."""
        started = []
        for lang in langs:
            folder = self.folder / f"phone-{len(self.clients) + 1}-{lang}"
            client = ClientProcess(server_url, folder, lang=lang, sync_every=sync_every)
            self.clients.append(client)
            started.append(client)
        return [client.wait_ready() for client in started]

    def tab(self, client: ClientProcess) -> AppPage:
        return self.adopt(new_tab(self.browser, client))

    def adopt(self, tab: AppPage) -> AppPage:
        """Close this tab's context with the others at the end."""
        self.tabs.append(tab)
        return tab

    def keep_evidence(self) -> Path:
        """Each open tab's screenshot and words, saved beside the clients' logs."""
        for number, tab in enumerate(self.tabs, 1):
            with contextlib.suppress(Exception):
                if not tab.page.is_closed():
                    tab.page.screenshot(path=str(self.folder / f"tab-{number}.png"))
                    (self.folder / f"tab-{number}.txt").write_text(tab.words())
        return self.folder

    def close(self) -> None:
        for tab in self.tabs:
            with contextlib.suppress(Exception):
                tab.context.close()
        for client in self.clients:
            client.stop()


# Pixels ------------------------------------------------------------------------------------


def ink_spread(png: bytes) -> tuple[float, int]:
    """(standard deviation of grey levels, number of distinct colours) of a screenshot:
    a blank or one-colour page has (about 0, a handful)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    grey = image.convert("L")
    colours = image.getcolors(maxcolors=1 << 20) or []
    return float(ImageStat.Stat(grey).stddev[0]), len(colours)


def glyph_cells(png: bytes, box: FloatRect, count: int) -> list[list[int]]:
    """The text in `box` (page pixels), cut at its ink's edges into `count` equal cells,
    each as a small grey bitmap (16x16): one cell per character of a run of CJK text."""
    image = Image.open(io.BytesIO(png)).convert("L")
    left, top = int(box["x"]), int(box["y"])
    crop = image.crop((left, top, int(left + box["width"]) + 1, int(top + box["height"]) + 1))
    background = max(crop.tobytes(), default=255)  # mode L: one byte a pixel
    ink = crop.point(lambda v: 255 if v < background - 60 else 0)
    edges = ink.getbbox()
    assert edges is not None, f"no ink at all where the text should be ({box})"
    glyphs = crop.crop(edges)
    width = glyphs.width / count
    cells = []
    for index in range(count):
        cell = glyphs.crop((round(index * width), 0, round((index + 1) * width), glyphs.height))
        cells.append(list(cell.resize((16, 16)).tobytes()))  # mode L: one byte a pixel
    return cells


def cell_difference(a: list[int], b: list[int]) -> float:
    """Mean absolute grey difference of two cells, 0 (same) to 255."""
    return sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a)


def looks_like_glyphs(cells: list[list[int]]) -> tuple[bool, float]:
    """Real characters differ from each other; missing-glyph boxes ("tofu") are all the
    same box. True when the least different pair of cells still differs clearly."""
    pairs = [
        cell_difference(cells[i], cells[j])
        for i in range(len(cells))
        for j in range(i + 1, len(cells))
    ]
    least = min(pairs)
    return least > 12.0, least


# Flutter's error box: a widget that cannot be laid out is drawn, in a release build, as a box
# of RenderErrorBox's background, 0xF0C0C0C0 (a grey at 94 % over the page), and nothing else:
# no text, no semantics node, so the semantics walks never see it.
ERROR_GREY = (188, 202)  # each channel, 192 blended over anything from black to white
ERROR_BOX = (48, 24)  # the smallest (width, height) in page pixels taken for one


def error_boxes(png: bytes) -> list[tuple[int, int, int, int]]:
    """The flat boxes of Flutter's error grey in a screenshot, as (left, top, right, bottom):
    rows of at least ERROR_BOX[0] such pixels, stacked over at least ERROR_BOX[1] rows."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    low, high = ERROR_GREY
    width, height = image.size
    data = image.tobytes()
    boxes: list[tuple[int, int, int, int]] = []
    open_runs: dict[tuple[int, int], int] = {}  # (start, end) of a run → first row
    for y in range(height):
        row = data[y * width * 3 : (y + 1) * width * 3]
        runs: list[tuple[int, int]] = []
        start = None
        for x in range(width + 1):
            grey = False
            if x < width:
                r, g, b = row[3 * x], row[3 * x + 1], row[3 * x + 2]
                grey = low <= r <= high and low <= g <= high and low <= b <= high
                grey = grey and max(r, g, b) - min(r, g, b) <= 4
            if grey and start is None:
                start = x
            elif not grey and start is not None:
                if x - start >= ERROR_BOX[0]:
                    runs.append((start, x))
                start = None
        still: dict[tuple[int, int], int] = {}
        for run in runs:
            # The same box goes on where a run covers the one above it.
            above = [(s, e) for (s, e) in open_runs if s <= run[0] + 2 and e >= run[1] - 2]
            still[run] = min((open_runs[a] for a in above), default=y)
        for (s, e), top in open_runs.items():
            if (s, e) not in still and y - top >= ERROR_BOX[1]:
                boxes.append((s, top, e, y))
        open_runs = still
    last = [(s, top, e, height) for (s, e), top in open_runs.items()]
    boxes += [box for box in last if box[3] - box[1] >= ERROR_BOX[1]]
    return boxes
