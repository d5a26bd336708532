"""The PWA (the client's Python inside Chromium, Pyodide): start time and sync throughput.

    python -m bench.pwa_bench                              # N = 10,000, 3 runs (~10 min)
    python -m bench.pwa_bench --sizes 200 --runs 1 --no-peer   # a smoke run

Start: `python -m server.cli demo` serving the build at /app/, Chromium (headless, a phone's
viewport) on a fresh persistent profile. First visit: navigation until the sign-in screen
is usable (its button in Flutter's semantics DOM), and until the service worker has cached
the app. Then cleaner1 signs in, the browser is closed and started again on the same
profile, offline: navigation until the unlock screen is usable, then the unlock itself.
What the time is made of comes from the browser's console (Flet's own lines, and the
`carerounds-timing` lines of client/web.py, whose clock is the worker's) and its network
events (bytes that came over the network, when the last precached file arrived).

Sync: inside Chromium, without the UI, in a Web Worker of the server's origin (as the app's
Python runs): the product's EncryptedStore with WebCrypto, in an IndexedDB-backed folder
(`web_storage.persist` after each commit, journal in memory), SyncEngine over synchronous
XMLHttpRequest. (a) initial sync of N rounds that a helper device pushed first; (b) 1,000
new rounds edited in the browser (each edit durable in IndexedDB), then pushed. In the same
run: pouchdb-server's replication of the same N (bench.sync_bench.run_peer) and the native
client's initial sync (CPython, bench.sync_client). Medians over the runs; the ratios are
of figures from the same run. Prints the command, the machine, tables, then JSON lines.
"""

import argparse
import inspect
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import store_bench
from bench.browser import PHONE, WorkerPython, find, launch, tap, type_into, wait_until
from bench.harness import (
    CHEAP_ARGON2,
    DEMO_PASSWORD,
    REPO,
    fresh_database,
    login,
    machine,
    rounds_in,
)
from bench.loopback import ServerProcess
from bench.sync_bench import native_device, run_client, run_peer
from shared.i18n import t

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Playwright, Request

START_TIMEOUT = 180.0  # a cold first visit on a loaded 2-core machine
STEP_TIMEOUT = 120.0  # a sign-in (Scrypt, the first sync) or an unlock
LANG = "zh"
COLLECTION = "disinfection_rounds"
STORE_PASSWORD = "bench-browser-store"  # noqa: S105 - a throwaway store's password


def log(message: str) -> None:
    print(f"[pwa_bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def now_ms() -> float:
    return time.time() * 1000


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


@contextmanager
def demo_server(database: str, folder: Path, web_dir: Path) -> Iterator[ServerProcess]:
    """`server.cli demo` on a fresh database, serving the build at /app/."""
    with fresh_database(database, folder) as url:
        env = {"CAREROUNDS_WEB_DIR": str(web_dir), **CHEAP_ARGON2}
        server = ServerProcess.cli(["demo"], url, folder / "server", env=env).ready()
        # The demo school's own history, which every device holds besides the N.
        server.demo_rounds = rounds_in(url)  # type: ignore[attr-defined]
        try:
            yield server
        finally:
            server.stop()


# Start time ----------------------------------------------------------------------------------

# Console lines that mark a step: (step, how the line starts). Flet's page script logs
# "Flutter app loaded" and "Python worker initialized"; the Python worker, which the build
# starts as the page loads (pwa/build.py, start_python_early), logs the others.
FLET_STEPS = (
    ("flutter", "Flutter app loaded"),
    ("booted", "carerounds-early booted"),
    ("unpacked", "carerounds-early unpacked"),
    ("early_imports", "carerounds-early imported"),
    ("initialized", "Python worker initialized"),
)
TIMING = "carerounds-timing "  # client/web.py: step, worker ms, epoch ms
# The parts of a start (ms). Two run side by side from the navigation: Flutter's shell, and
# the Python worker (Pyodide's boot, the app archive, the app's imports); Flet connects the
# two once both are done.
PARTS = (
    ("shell", None, "flutter"),  # page, Flutter's main.dart.js and CanvasKit
    ("pyodide", None, "booted"),  # the worker starts and boots Pyodide (wasm, stdlib)
    ("archive", "booted", "unpacked"),  # app.tar.gz fetched and unpacked
    ("imports", "unpacked", "early_imports"),  # client.app: flet, pydantic, the screens
    ("flet", "early_imports", "imported"),  # until Flutter connects and Flet runs main.py
    ("connect", "imported", "mount-start"),  # ft.run, Flutter's session, the page's main
    ("mount", "mount-start", "mount-done"),  # IndexedDB read into the folder
    ("users", "mount-done", "users-ready"),  # the device's users (device id)
    ("screen", "users-ready", "usable"),  # the first screen built, drawn, in the DOM
)


class Recorder:
    """The browser's console lines and network requests, with when they arrived (epoch ms)."""

    def __init__(self, context: "BrowserContext") -> None:
        self.console: list[tuple[float, str]] = []
        self.requests: list[tuple[float, Request]] = []
        context.on("console", lambda message: self.console.append((now_ms(), message.text)))
        context.on("requestfinished", lambda request: self.requests.append((now_ms(), request)))

    def marks(self, origin: float) -> dict[str, float]:
        """Each step's time in ms since navigation (`origin`, the page's timeOrigin)."""
        found: dict[str, float] = {}
        for at, text in self.console:
            for step, start in FLET_STEPS:
                if text.startswith(start) and step not in found:
                    found[step] = at - origin
            if text.startswith(TIMING):
                step, _worker_ms, epoch_ms = text[len(TIMING) :].split()
                found.setdefault(step, float(epoch_ms) - origin)
        return found

    def network(self, origin: float) -> dict[str, Any]:
        """Bytes that came over the network (not from the service worker's cache nor the
        HTTP cache), requests answered by the service worker, and when the service worker's
        own last download (the precache) arrived."""
        downloaded = 0
        from_worker = 0
        precache_done = 0.0
        for at, request in self.requests:
            response = request.response()
            if response is None:
                continue
            if response.from_service_worker:
                from_worker += 1
                continue
            downloaded += request.sizes()["responseBodySize"]
            if request.service_worker is not None:
                precache_done = max(precache_done, at - origin)
        return {
            "downloaded_mb": round(downloaded / 1e6, 2),
            "from_service_worker": from_worker,
            "precache_done_ms": round(precache_done),
        }


def open_app(context: "BrowserContext", base: str) -> tuple["Page", float]:
    page = context.pages[0] if context.pages else context.new_page()
    for extra in context.pages:
        if extra is not page:
            extra.close()
    page.goto(f"{base}/app/", wait_until="commit", timeout=60_000)
    origin = float(page.evaluate("performance.timeOrigin"))
    return page, origin


def breakdown(marks: dict[str, float]) -> dict[str, float | None]:
    parts: dict[str, float | None] = {}
    for name, start, end in PARTS:
        begin = 0.0 if start is None else marks.get(start)
        finish = marks.get(end)
        parts[name] = None if begin is None or finish is None else round(finish - begin)
    return parts


def start_run(playwright: "Playwright", base: str, profile: Path, run: int) -> dict[str, Any]:
    """One first visit (online) and one later start (offline) on a fresh profile."""
    options: dict[str, Any] = {"viewport": PHONE, "locale": "zh-CN", "service_workers": "allow"}
    figures: dict[str, Any] = {"bench": "pwa_start", "run": run}

    log(f"start run {run}: first visit")
    context = launch(playwright, profile, **options)
    try:
        recorder = Recorder(context)
        page, origin = open_app(context, base)
        find(page, t("ui.sign_in", LANG), ("button",), START_TIMEOUT)
        marks = {**recorder.marks(origin), "usable": now_ms() - origin}
        wait_until(
            page,
            START_TIMEOUT,
            "the service worker to control the page",
            lambda: page.evaluate(
                "navigator.serviceWorker.ready.then(() => !!navigator.serviceWorker.controller)"
            ),
        )
        sw_ready = now_ms() - origin
        figures["first"] = {
            "usable_ms": round(marks["usable"]),
            "sw_ready_ms": round(sw_ready),
            **breakdown(marks),
            **recorder.network(origin),
        }
        # The first sign-in (online): Scrypt in the browser, the server, the first sync.
        started = time.perf_counter()
        type_into(page, t("ui.server", LANG), base)
        type_into(page, t("ui.username", LANG), "cleaner1")
        type_into(page, t("ui.password", LANG), DEMO_PASSWORD)
        tap(page, t("ui.sign_in", LANG))
        find(page, t("ui.sync_now", LANG), ("button",), STEP_TIMEOUT)
        figures["sign_in_ms"] = round(1000 * (time.perf_counter() - started))
    finally:
        context.close()

    log(f"start run {run}: later start, offline")
    context = launch(playwright, profile, offline=True, **options)
    try:
        recorder = Recorder(context)
        page, origin = open_app(context, base)
        find(page, t("ui.unlock", LANG), ("button",), START_TIMEOUT)
        marks = {**recorder.marks(origin), "usable": now_ms() - origin}
        figures["offline"] = {
            "usable_ms": round(marks["usable"]),
            **breakdown(marks),
            **recorder.network(origin),
        }
        card = f"cleaner1 · {t('role.cleaner', LANG)}"
        field = f"{card}\n{t('ui.password', LANG)} / {t('ui.pin', LANG)}"
        type_into(page, field, DEMO_PASSWORD)
        started = time.perf_counter()
        tap(page, t("ui.unlock", LANG))
        find(page, t("ui.sync_now", LANG), ("button",), STEP_TIMEOUT)
        figures["unlock_ms"] = round(1000 * (time.perf_counter() - started))
    finally:
        context.close()
    return figures


def measure_start(
    playwright: "Playwright", database: str, web_dir: Path, runs: int
) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="carerounds-pwa-") as tmp:
        folder = Path(tmp)
        with demo_server(database, folder, web_dir) as server:
            return [
                start_run(playwright, server.base, folder / f"profile-{run}", run)
                for run in range(1, runs + 1)
            ]


# Sync in the browser -------------------------------------------------------------------------

# In the worker. Globals stay between calls: the store and the engine of this device.
_ROUND = (
    "from typing import Any\n"
    f"ITEMS = {store_bench.ITEMS!r}\nAREA = {store_bench.AREA!r}\n"
    f"CLEANER = {store_bench.CLEANER!r}\n" + inspect.getsource(store_bench.a_round)
)

SETUP = """
import json, os, sqlite3, time, uuid
from client import web_storage
from client.encrypted_store import EncryptedStore, Profile
from client.sync_engine import SyncEngine
from client.web_crypto import WebCryptoBackend
from client.web_transport import XhrTransport

args = json.loads(ARGS)
folder = await web_storage.mount()
persisted = [0, 0.0]  # calls of persist, seconds in them


def persist():
    started = time.perf_counter()
    web_storage.persist()
    persisted[0] += 1
    persisted[1] += time.perf_counter() - started


store = EncryptedStore.create(
    folder / "bench.db", args["device_id"], args["password"],
    Profile(args["user_id"], args["username"], args["role"], args["origin"]),
    crypto=WebCryptoBackend(args["origin"] + "/app/vendor/hash-wasm.mjs"),
    journal_mode="MEMORY", after_commit=persist)
engine = SyncEngine(store, XhrTransport(args["origin"], timeout=600), args["token"])


def rounds_held():
    with sqlite3.connect(store.path) as conn:
        return conn.execute(
            "SELECT count(*) FROM records WHERE collection = ?", (COLLECTION,)).fetchone()[0]


def timed(work):
    persisted[:] = [0, 0.0]
    started = time.perf_counter()
    result = work()
    return result, {"seconds": time.perf_counter() - started, "persists": persisted[0],
                    "persist_s": persisted[1], "file_mb": os.path.getsize(store.path) / 1e6}


json.dumps(True)
"""

# What the app imports at its start, one after another (ms each, in a fresh interpreter).
IMPORTS = """
import json, time
took = {}
for name in ("pydantic", "flet", "client.app", "client.web_crypto"):
    started = time.perf_counter()
    __import__(name)
    took[name] = round(1000 * (time.perf_counter() - started))
json.dumps(took)
"""

PULL = """
report, out = timed(engine.pull)
json.dumps({**out, "count": report.pulled, "rounds": rounds_held()})
"""

EDIT = """
areas = [r.record_id for r in store.records("areas")]


def edit_all():
    for index in range(N):
        fields = {**a_round(index), "area_id": areas[index % len(areas)],
                  "cleaner_id": args["user_id"]}
        store.edit(COLLECTION, str(uuid.uuid4()), fields)


_, out = timed(edit_all)
json.dumps({**out, "pending": store.pending_count()})
"""

PUSH = """
report, out = timed(engine.push)
json.dumps({**out, "count": report.pushed, "rejected": report.rejected,
            "pending": store.pending_count()})
"""


def browser_sync(
    playwright: "Playwright", base: str, profile: Path, n: int, push_n: int, demo: int = 0
) -> dict[str, Any]:
    """`demo`: the rounds the demo school seeded, which the browser holds besides the N."""
    device_id = f"bench-browser-{uuid.uuid4().hex[:8]}"
    signed_in = login(base, "cleaner2", device_id)
    args = {
        "origin": base,
        "device_id": device_id,
        "token": signed_in["token"],
        "user_id": signed_in["user"]["id"],
        "username": "cleaner2",
        "role": signed_in["user"]["role"],
        "password": STORE_PASSWORD,
    }
    context = launch(playwright, profile, service_workers="block")
    try:
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(f"{base}/app/version.json")
        python = WorkerPython(page, base)
        imports = python.run(IMPORTS)
        header = f"ARGS = {json.dumps(args)!r}\nCOLLECTION = {COLLECTION!r}\n"
        python.run(header + _ROUND + SETUP)
        log(f"browser N={n}: initial sync")
        pull = python.run(PULL)
        if pull["rounds"] != n + demo:
            raise RuntimeError(f"the browser holds {pull['rounds']} rounds, not {n} + {demo}")
        log(f"browser N={n}: {push_n} edits")
        edit = python.run(f"N = {push_n}\n" + EDIT)
        log(f"browser N={n}: push of {push_n}")
        push = python.run(PUSH)
        if push["count"] != push_n or push["rejected"] or push["pending"]:
            raise RuntimeError(f"the browser's push did not go through: {push}")
    finally:
        context.close()
    return {
        "boot_s": round(python.boot_s, 2),
        "boot_pyodide_ms": round(python.pyodide_ms),
        "boot_archive_ms": round(python.archive_ms),
        **{f"import_{name.replace('.', '_')}_ms": ms for name, ms in imports.items()},
        "pull_per_s": round(pull["count"] / pull["seconds"]),
        "pulled": pull["count"],
        "pull_s": round(pull["seconds"], 2),
        "pull_persists": pull["persists"],
        "pull_persist_s": round(pull["persist_s"], 2),
        "store_mb": round(pull["file_mb"], 1),
        "edit_per_s": round(push_n / edit["seconds"]),
        "edit_persist_ms_each": round(1000 * edit["persist_s"] / max(1, edit["persists"]), 1),
        "push_per_s": round(push_n / push["seconds"]),
        "push_persist_s": round(push["persist_s"], 2),
    }


def sync_run(
    playwright: "Playwright",
    database: str,
    web_dir: Path,
    n: int,
    push_n: int,
    run: int,
    peer: bool,
) -> dict[str, Any]:
    figures: dict[str, Any] = {"bench": "pwa_sync", "n": n, "push_n": push_n, "run": run}
    with tempfile.TemporaryDirectory(prefix="carerounds-pwa-sync-") as tmp:
        folder = Path(tmp)
        with demo_server(database, folder, web_dir) as server:
            log(f"N={n} run {run}: a helper device pushes {n} rounds")
            helper = native_device(server.base, folder, "helper", "cleaner1")
            seeded = run_client({**helper, "phase": "push", "n": n})
            if seeded["count"] != n or seeded["rejected"] or seeded["pending"]:
                raise RuntimeError(f"the seeding push did not go through: {seeded}")
            log(f"N={n} run {run}: native initial sync")
            fresh = native_device(server.base, folder, "native", "cleaner2")
            native = run_client({**fresh, "phase": "pull", "n": n})
            figures["native_pull_per_s"] = round(native["count"] / native["seconds"])
            figures["native_seed_push_per_s"] = round(n / seeded["seconds"])
            browser = browser_sync(
                playwright,
                server.base,
                folder / "profile",
                n,
                push_n,
                server.demo_rounds,  # type: ignore[attr-defined]
            )
            figures.update({f"browser_{key}": value for key, value in browser.items()})
    if peer:
        theirs = run_peer(n)
        figures["peer_pull_per_s"] = theirs["pull_per_s"]
        figures["peer_push_per_s"] = run_peer(push_n)["push_per_s"]
    return figures


# Reporting -----------------------------------------------------------------------------------


def _ratio(ours: float, theirs: float | None) -> float | None:
    return round(ours / theirs, 2) if theirs else None


def _ms(value: float | None) -> str:
    return f"{value:.0f}" if value else "-"


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def summarize_start(runs: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {"bench": "pwa_start_median", "runs": len(runs)}
    for start in ("first", "offline"):
        keys = [k for k in runs[0][start] if k != "from_service_worker"]
        summary[start] = {
            key: round(median([r[start][key] for r in runs if r[start].get(key) is not None]), 2)
            for key in keys
        }
    summary["sign_in_ms"] = round(median([r["sign_in_ms"] for r in runs]))
    summary["unlock_ms"] = round(median([r["unlock_ms"] for r in runs]))
    summary["offline_under_5s"] = summary["offline"]["usable_ms"] < 5000
    return summary


def summarize_sync(n: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {"bench": "pwa_sync_median", "n": n, "runs": len(runs)}
    for key in runs[0]:
        if key not in ("bench", "n", "push_n", "run"):
            summary[key] = median([r[key] for r in runs])
    summary["push_n"] = runs[0]["push_n"]
    # Ratios of figures from the same run, then their median.
    summary["browser_pull_vs_peer"] = _median_ratio(runs, "browser_pull_per_s", "peer_pull_per_s")
    summary["browser_push_vs_peer"] = _median_ratio(runs, "browser_push_per_s", "peer_push_per_s")
    summary["browser_pull_vs_native"] = _median_ratio(
        runs, "browser_pull_per_s", "native_pull_per_s"
    )
    return summary


def _median_ratio(runs: list[dict[str, Any]], ours: str, theirs: str) -> float | None:
    ratios = [_ratio(r[ours], r.get(theirs)) for r in runs]
    found = [r for r in ratios if r is not None]
    return round(median(found), 2) if found else None


def print_report(
    command: str, start: list[dict[str, Any]], sync: list[list[dict[str, Any]]], rows: list[Any]
) -> None:
    print(command)
    at_start = rows[0]
    print(
        f"machine: {at_start['nproc']} cores, {at_start['memory_gb']} GB, Python "
        f"{at_start['python']}, load {at_start['load_1m']} at the start, "
        f"{rows[-1]['load_1m']} at the end"
    )
    if start:
        summary = summarize_start(start)
        print()
        print(f"Start (median of {len(start)} runs; ms since navigation)")
        names = [name for name, _, _ in PARTS]
        print(
            f"{'':<14} {'usable':>7} "
            + " ".join(f"{name:>8}" for name in names)
            + f" {'MB down':>8} {'precache':>9} {'SW ready':>9}"
        )
        for label, key in (("first visit", "first"), ("offline later", "offline")):
            row = summary[key]
            print(
                f"{label:<14} {row['usable_ms']:>7.0f} "
                + " ".join(f"{row[name]:>8.0f}" if name in row else f"{'-':>8}" for name in names)
                + f" {row['downloaded_mb']:>8.1f} {_ms(row.get('precache_done_ms')):>9}"
                + f" {_ms(row.get('sw_ready_ms')):>9}"
            )
        print(
            f"first sign-in (online, Scrypt + first sync): {summary['sign_in_ms']} ms; "
            f"unlock (offline): {summary['unlock_ms']} ms; offline later start under 5 s: "
            f"{'yes' if summary['offline_under_5s'] else 'no'}"
        )
    for runs in sync:
        summary = summarize_sync(runs[0]["n"], runs)
        n, push_n = summary["n"], summary["push_n"]
        print()
        print(f"Sync, N = {n}, push of {push_n} (median of {len(runs)} runs; records/s)")
        print(f"{'system':<34} {'initial sync':>12} {'edit':>8} {'push':>8}")
        print(
            f"{'browser (Pyodide, IndexedDB)':<34} {summary['browser_pull_per_s']:>12.0f} "
            f"{summary['browser_edit_per_s']:>8.0f} {summary['browser_push_per_s']:>8.0f}"
        )
        print(f"{'native client (CPython)':<34} {summary['native_pull_per_s']:>12.0f}")
        if "peer_pull_per_s" in summary:
            print(
                f"{'pouchdb-server + PouchDB (Node)':<34} {summary['peer_pull_per_s']:>12.0f} "
                f"{'-':>8} {summary['peer_push_per_s']:>8.0f}"
            )
        print(
            f"browser initial sync ÷ pouchdb: {_x(summary['browser_pull_vs_peer'])}; "
            f"browser push ÷ pouchdb: {_x(summary['browser_push_vs_peer'])}; "
            f"browser initial sync ÷ native: {_x(summary['browser_pull_vs_native'])}"
        )
        print(
            f"browser: {summary['browser_pull_s']:.1f} s for {summary['browser_pulled']:.0f} "
            f"records, {summary['browser_pull_persist_s']:.1f} s of it writing the store "
            f"({summary['browser_store_mb']:.1f} MB) to IndexedDB in "
            f"{summary['browser_pull_persists']:.0f} commits; an edit's write to IndexedDB: "
            f"{summary['browser_edit_persist_ms_each']:.1f} ms; Pyodide boot "
            f"{summary['browser_boot_s']:.1f} s"
        )
        imports = ", ".join(
            f"{key[len('browser_import_') : -len('_ms')]} {value:.0f}"
            for key, value in summary.items()
            if key.startswith("browser_import_")
        )
        print(
            f"a bare worker (no Flutter beside it): Pyodide loaded in "
            f"{summary['browser_boot_pyodide_ms']:.0f} ms, app.tar.gz fetched and unpacked in "
            f"{summary['browser_boot_archive_ms']:.0f} ms; imports (ms, in turn): {imports}"
        )
    print()
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))


def build_web() -> Path:
    """scripts/build-web.sh (a no-op while the build is up to date)."""
    done = subprocess.run(
        ["scripts/build-web.sh"], cwd=REPO, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"scripts/build-web.sh failed:\n{done.stdout}\n{done.stderr}")
    return REPO / "build" / "web"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--push", type=int, default=1_000, help="rounds edited, then pushed")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--no-peer", action="store_true", help="skip pouchdb (needs npm)")
    parser.add_argument("--no-start", action="store_true", help="skip the start times")
    parser.add_argument("--web-dir", type=Path, help="a build to serve (default: build it)")
    args = parser.parse_args(argv)
    command = f"python -m bench.pwa_bench --sizes {' '.join(map(str, args.sizes))}"
    command += f" --runs {args.runs} --push {args.push} --database {args.database}"
    command += " --no-peer" * args.no_peer + " --no-start" * args.no_start

    web_dir = (args.web_dir or build_web()).resolve()
    from playwright.sync_api import sync_playwright

    rows: list[Any] = [machine()]
    start: list[dict[str, Any]] = []
    sync: list[list[dict[str, Any]]] = []
    with sync_playwright() as playwright:
        if not args.no_start:
            start = measure_start(playwright, args.database, web_dir, args.runs)
            rows.extend([*start, summarize_start(start)])
        for n in args.sizes:
            runs = [
                sync_run(playwright, args.database, web_dir, n, args.push, run, not args.no_peer)
                for run in range(1, args.runs + 1)
            ]
            sync.append(runs)
            rows.extend([*runs, summarize_sync(n, runs)])
    rows.append({**machine(), "bench": "machine_at_end"})
    print_report(command, start, sync, rows)


if __name__ == "__main__":
    main()
