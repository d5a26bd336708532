"""Faults under load: devices keep editing and syncing against `serve --workers 4` on
PostgreSQL while the database goes away and comes back, a worker is SIGKILLed, and
connections are cut mid-request; then every device syncs to quiescence.

    python -m bench.faults_under_load                  # 20 devices, 20 s; PostgreSQL away 5 s
    python -m bench.faults_under_load --real-restart   # restart the machine's PostgreSQL instead
    python -m bench.faults_under_load --devices 3 --seconds 8 --workers 2 --outage 2  # smoke

Each device is the app's own sync code: a `PlainStore` file (synchronous=FULL) and a
`SyncEngine` over `HttpxTransport`, in a thread, signed in as one of the demo school's
cleaners or its lead. Between the devices and the server sits a proxy that cuts a share of
requests (before the server sees them, after it answered, or halfway through the answer).
By default the server reaches PostgreSQL through a TCP gate (`bench.tcp_gate`), closed for
`--outage` seconds: every connection cut, new ones refused, while the machine's PostgreSQL
runs on. `--real-restart` instead runs `pg_ctlcluster --skip-systemctl-redirect 15 main
restart` (root; every database of the cluster goes away for a moment, other users' too).
Meanwhile a probe asks the server every 50 ms for a signed-in user (a database read), to
see when it answers again.

Afterwards the checks run: every change id each device made is in the server's `changes`
table exactly once; outboxes are empty; each device's server layer is what the server holds
for its scope; every device file passes SQLite's integrity check. Prints the command, the
figures and one JSON line.
"""

import argparse
import contextlib
import itertools
import json
import os
import random
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.cut_proxy import Cut, CutProxy
from bench.harness import (
    CHEAP_ARGON2,
    fresh_database,
    login,
    machine,
    percentile,
    query,
    seed_demo,
    use_cheap_password_hashes,
)
from bench.loopback import PG_ADMIN_URL, ServerProcess, descendants
from bench.tcp_gate import TcpGate
from client.httpx_transport import HttpxTransport
from client.plain_store import PlainStore
from client.sync_engine import SyncEngine, SyncError
from client.transport import Reply, Transport, TransportError

PUSH = "/api/v1/sync/push"
PULL = "/api/v1/sync/pull"
USERS = ("cleaner1", "lead", "cleaner2", "cleaner3")
ITEMS = ("open_windows", "desks_chairs", "floor_mopped", "door_handles_switches", "bins_emptied")
SHARED_ROUNDS = 4
DRAIN_SECONDS = 90.0  # the most the devices get to sync to quiescence afterwards
RESTART = ["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "restart"]


# What each device saw -------------------------------------------------------------------------


@dataclass
class Exchange:
    path: str
    started: float
    ended: float
    status: int | None  # None: no answer (cut, refused, reset)
    code: str | None = None
    retry_after: float | None = None
    statuses: Counter[str] = field(default_factory=Counter)  # a push's results


class Logged:
    """A transport that notes every request: when, and what came back (not the bodies)."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.exchanges: list[Exchange] = []

    def post(self, path: str, body: dict[str, Any], token: str | None) -> Reply:
        return self.request("POST", path, body, token)

    def request(
        self, method: str, path: str, body: dict[str, Any] | None, token: str | None
    ) -> Reply:
        started = time.monotonic()
        try:
            reply = self.inner.request(method, path, body, token)
        except TransportError:
            self.exchanges.append(Exchange(path, started, time.monotonic(), None))
            raise
        exchange = Exchange(path, started, time.monotonic(), reply.status)
        if reply.status != 200:
            exchange.code, exchange.retry_after = reply.error_code, reply.retry_after
        elif path == PUSH:
            exchange.statuses.update(r["status"] for r in reply.body.get("results", []))
        self.exchanges.append(exchange)
        return reply


@dataclass
class Device:
    index: int
    username: str
    role: str
    user_id: str
    device_id: str
    store_path: Path
    store: PlainStore
    http: HttpxTransport
    log: Logged
    engine: SyncEngine
    rng: random.Random
    made: list[str] = field(default_factory=list)  # every change id it made, in order
    rounds: list[str] = field(default_factory=list)  # rounds it created
    syncs: int = 0
    retries: Counter[str] = field(default_factory=Counter)  # failed syncs, by code
    fatal: list[str] = field(default_factory=list)  # errors not to retry (none expected)
    drained: bool = False
    _attempt: int = 0

    # Editing ------------------------------------------------------------------------------

    def edit(self, areas: list[str], shared: list[str]) -> None:
        roll = self.rng.random()
        at = "2026-11-29T08:00:00+08:00"
        entry = {"done": self.rng.random() < 0.8, "at": at, "note": f"设备{self.index}"}
        item = f"items.{self.rng.choice(ITEMS)}"
        if roll < 0.4 or not self.rounds:
            round_id = str(uuid.uuid4())
            fields = {
                "area_id": self.rng.choice(areas),
                "round_date": "2026-11-29",
                "cleaner_id": self.user_id,
                item: entry,
            }
            self.rounds.append(round_id)
        elif roll < 0.85:
            round_id = self.rng.choice(self.rounds)
            fields = {item: entry} if self.rng.random() < 0.8 else {"note": f"d{self.index}"}
        else:  # everyone ticks the same few rounds: conflicts
            round_id = self.rng.choice(shared)
            fields = {item: entry}
        self.made.append(self.store.edit("disinfection_rounds", round_id, fields).change_id)

    # Syncing ------------------------------------------------------------------------------

    def sync_once(self, pause: Callable[[float], None] = time.sleep) -> bool:
        """One sync; on trouble worth retrying, wait as the app would (at least the server's
        Retry-After, with backoff capped at 4 s here) and say False."""
        try:
            self.engine.sync()
        except SyncError as exc:
            if not exc.retry:
                self.fatal.append(f"{type(exc).__name__}: {exc.code}")
                raise
            self.retries[exc.code] += 1
            pause(self.engine.retry_delay(exc, self._attempt, base=0.25, cap=4.0))
            self._attempt += 1
            return False
        self.syncs += 1
        self._attempt = 0
        return True

    def work(self, until: float, areas: list[str], shared: list[str]) -> None:
        """Edit and sync until `until`, then sync until nothing is left to push."""
        while time.monotonic() < until:
            for _ in range(self.rng.randint(1, 3)):
                self.edit(areas, shared)
            self.sync_once()
            time.sleep(self.rng.uniform(0.1, 0.4))
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline:
            if self.sync_once() and self.store.pending_count() == 0:
                self.drained = True
                return

    def close(self) -> None:
        self.http.close()
        self.store.close()


# The faults -----------------------------------------------------------------------------------


@dataclass
class Outage:
    """When the database went away and when it was back (monotonic seconds)."""

    kind: str  # "gate" or "restart"
    down_at: float = 0.0
    back_at: float = 0.0
    detail: str = ""


def _take_database_away(gate: TcpGate | None, seconds: float, outage: Outage) -> None:
    if gate is not None:
        outage.down_at = time.monotonic()
        gate.close()
        time.sleep(seconds)
        gate.open()
        outage.back_at = time.monotonic()
        outage.detail = f"gate closed {seconds:g} s: {gate.cut} connections cut"
        return
    outage.down_at = time.monotonic()
    done = subprocess.run(RESTART, capture_output=True, text=True, timeout=180, check=False)
    outage.detail = f"{' '.join(RESTART)}: exit {done.returncode} {done.stderr.strip()}"
    for _ in range(600):
        try:
            psycopg.connect(PG_ADMIN_URL, connect_timeout=2).close()
            break
        except psycopg.OperationalError:
            time.sleep(0.05)
    outage.back_at = time.monotonic()


def worker_pids(server: ServerProcess) -> set[int]:
    """uvicorn's worker processes (multiprocessing's spawned children, not its tracker)."""
    found = set()
    for pid in descendants(server.proc.pid):
        with contextlib.suppress(OSError):
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.add(pid)
    return found


@dataclass
class Kill:
    pid: int = 0
    at: float = 0.0
    restarted_at: float | None = None  # when uvicorn had started a worker in its place


def _kill_a_worker(server: ServerProcess, workers: int, kill: Kill) -> None:
    before = worker_pids(server)
    kill.pid = min(before)
    kill.at = time.monotonic()
    os.kill(kill.pid, signal.SIGKILL)
    for _ in range(600):  # up to a minute
        now = worker_pids(server)
        started = server.stderr().count("Application startup complete")
        if kill.pid not in now and len(now) >= workers and started > workers:
            kill.restarted_at = time.monotonic()
            return
        time.sleep(0.1)


class Cutter:
    """Which requests the proxy cuts: a share of them while `on`, the three kinds in turn."""

    def __init__(self, share: float, seed: int) -> None:
        self.share = share
        self.on = False
        self.rng = random.Random(seed)
        self.kinds: Iterator[Cut] = itertools.cycle(("answer", "request", "half"))

    def __call__(self, path: str) -> Cut | None:
        if not self.on or not path.startswith("/api/v1/sync/"):
            return None
        return next(self.kinds) if self.rng.random() < self.share else None


@dataclass
class Probe:
    """Asks the server for a signed-in user every 50 ms: (monotonic time, status or None)."""

    answers: list[tuple[float, int | None]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self, base: str, token: str) -> None:
        headers = {"authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, timeout=10) as client:
            while not self.stop.wait(0.05):
                at = time.monotonic()
                try:
                    status: int | None = client.get("/api/v1/auth/me", headers=headers).status_code
                except httpx.TransportError:
                    status = None
                self.answers.append((at, status))


# One run --------------------------------------------------------------------------------------


@dataclass
class FaultRun:
    devices: list[Device]
    outage: Outage
    kill: Kill
    probe: Probe
    load_started: float
    load_ended: float
    proxy_cuts: dict[str, int]
    gate: dict[str, int]
    server_output: str
    workers: int


def run(
    database_url: str,
    folder: Path,
    *,
    devices: int = 20,
    seconds: float = 20.0,
    workers: int = 4,
    outage_at: float = 4.0,
    outage: float = 5.0,
    kill_at: float | None = None,
    cut_share: float = 0.05,
    real_restart: bool = False,
    retry_after: int = 1,
    seed: int = 2026,
) -> FaultRun:
    """The whole scenario on a migrated database holding the demo school. The device
    stores are closed at the end (their files stay in `folder`)."""
    gate: TcpGate | None = None
    server_url = database_url
    if not real_restart:
        gate, server_url = TcpGate.for_url(database_url)
    env = {**CHEAP_ARGON2, "CAREROUNDS_RETRY_AFTER_SECONDS": str(retry_after)}
    server = ServerProcess.cli(
        ["serve", "--workers", str(workers)], server_url, folder / "server", env=env, name="faults"
    ).ready(workers)
    cutter = Cutter(cut_share, seed)
    proxy = CutProxy(server.port, cuts=cutter)
    fleet: list[Device] = []
    probe = Probe()
    happened = Outage("gate" if gate else "restart")
    kill = Kill()
    try:
        fleet = [_device(proxy.base, folder, i, seed) for i in range(devices)]
        shared = _shared_rounds(next((d for d in fleet if d.role == "lead"), fleet[0]))
        for device in fleet:
            device.engine.sync()
        areas = [r.record_id for r in fleet[0].store.records("areas")]
        prober = threading.Thread(target=probe.run, args=(server.base, fleet[0].engine.token))
        prober.start()
        started = time.monotonic()
        until = started + seconds
        kill_time = kill_at if kill_at is not None else min(seconds - 2, outage_at + outage + 3)
        cutter.on = True
        with ThreadPoolExecutor(devices + 2, thread_name_prefix="device") as pool:
            working = [pool.submit(d.work, until, areas, shared) for d in fleet]
            time.sleep(outage_at)
            _take_database_away(gate, outage, happened)
            time.sleep(max(0.0, started + kill_time - time.monotonic()))
            _kill_a_worker(server, workers, kill)
            time.sleep(max(0.0, until - 1.0 - time.monotonic()))
            cutter.on = False  # the faults stop a moment before the edits do
            for future in working:
                future.result(timeout=seconds + DRAIN_SECONDS + 60)
        ended = time.monotonic()
        probe.stop.set()
        prober.join(timeout=15)
        # Everyone pulls once more, after the last push: then each holds all of its scope.
        for device in fleet:
            for _ in range(20):
                if device.sync_once():
                    break
        return FaultRun(
            devices=fleet,
            outage=happened,
            kill=kill,
            probe=probe,
            load_started=started,
            load_ended=ended,
            proxy_cuts=dict(proxy.cut_kinds),
            gate={"cut": gate.cut, "refused": gate.refused} if gate else {},
            server_output=server.output(),
            workers=workers,
        )
    finally:
        probe.stop.set()
        for device in fleet:
            device.close()
        proxy.close()
        server.stop(signal.SIGINT)
        if gate is not None:
            gate.stop()


def _device(base: str, folder: Path, index: int, seed: int) -> Device:
    username = USERS[index % len(USERS)]
    device_id = f"faults-{index:02d}-{uuid.uuid4().hex[:8]}"
    who = login(base, username, device_id)
    path = folder / "devices" / f"device-{index:02d}.db"
    store = PlainStore(path, device_id)  # synchronous=FULL, as on a phone
    http = HttpxTransport(base, timeout=30)
    log = Logged(http)
    return Device(
        index=index,
        username=username,
        role=who["user"]["role"],
        user_id=who["user"]["id"],
        device_id=device_id,
        store_path=path,
        store=store,
        http=http,
        log=log,
        engine=SyncEngine(store, log, who["token"], batch_size=50),
        rng=random.Random(seed * 100 + index),
    )


def _shared_rounds(lead: Device) -> list[str]:
    """A few rounds every device edits, made before the others' first pull."""
    lead.engine.sync()
    areas = [r.record_id for r in lead.store.records("areas")]
    shared = [str(uuid.uuid4()) for _ in range(SHARED_ROUNDS)]
    for round_id in shared:
        fields = {"area_id": areas[0], "round_date": "2026-11-29", "cleaner_id": lead.user_id}
        lead.made.append(lead.store.edit("disinfection_rounds", round_id, fields).change_id)
    lead.engine.sync()
    return shared


# Figures and checks ---------------------------------------------------------------------------


def figures(result: FaultRun) -> dict[str, Any]:
    exchanges = [e for d in result.devices for e in d.log.exchanges]
    outage = result.outage
    back = outage.back_at
    # The server answers again: the probe's first 200 after the database was back.
    server_back = next((t for t, s in result.probe.answers if t >= back and s == 200), None)
    pushes_back = [e.ended for e in exchanges if e.path == PUSH and e.status == 200]
    first_push = min((t for t in pushes_back if t >= back), default=None)
    calm_after = server_back if server_back is not None else back
    calm = [
        (e.ended - e.started) * 1000
        for e in exchanges
        if e.path == PUSH
        and e.status == 200
        and (e.ended < outage.down_at or e.started > calm_after)
    ]
    statuses: Counter[str] = Counter()
    for e in exchanges:
        statuses.update(e.statuses)
    kill = result.kill
    return {
        "bench": "faults_under_load",
        "devices": len(result.devices),
        "workers": result.workers,
        "outage": outage.kind,
        "load_s": round(result.load_ended - result.load_started, 1),
        "changes_made": sum(len(d.made) for d in result.devices),
        "requests": len(exchanges),
        "answered_503": sum(1 for e in exchanges if e.status == 503),
        "answered_503_with_retry_after": sum(
            1 for e in exchanges if e.status == 503 and e.retry_after is not None
        ),
        "answered_5xx_other": sum(
            1 for e in exchanges if e.status is not None and e.status >= 500 and e.status != 503
        ),
        "probe_503": sum(1 for _, s in result.probe.answers if s == 503),
        "probe_5xx_other": sum(1 for _, s in result.probe.answers if s and s >= 500 and s != 503),
        "no_answer": sum(1 for e in exchanges if e.status is None),
        "failed_syncs_retried": sum(sum(d.retries.values()) for d in result.devices),
        "retried_by_code": dict(sum((d.retries for d in result.devices), Counter())),
        "push_results": dict(statuses),
        "proxy_cuts": result.proxy_cuts,
        "gate": result.gate,
        "database_away_s": round(outage.back_at - outage.down_at, 2),
        "server_back_after_s": None if server_back is None else round(server_back - back, 2),
        "first_push_after_s": None if first_push is None else round(first_push - back, 2),
        "push_p50_ms_outside_outage": round(percentile(calm, 0.50), 1),
        "push_p95_ms_outside_outage": round(percentile(calm, 0.95), 1),
        "worker_killed": kill.pid,
        "worker_replaced_after_s": None
        if kill.restarted_at is None
        else round(kill.restarted_at - kill.at, 2),
        "fatal": [f for d in result.devices for f in d.fatal],
        "drained": sum(d.drained for d in result.devices),
    }


def check(result: FaultRun, database_url: str) -> dict[str, int]:
    """Lost, doubled and stray changes over all devices; outboxes; store integrity."""
    rows = query(
        database_url, "SELECT device_id, change_id FROM changes WHERE device_id LIKE 'faults-%'"
    )
    logged: dict[str, Counter[str]] = {}
    for device_id, change_id in rows:
        logged.setdefault(str(device_id), Counter())[str(change_id)] += 1
    lost = doubled = stray = pending = broken = 0
    for device in result.devices:
        on_server = logged.get(device.device_id, Counter())
        made = set(device.made)
        lost += sum(1 for c in made if c not in on_server)
        doubled += sum(1 for n in on_server.values() if n > 1)
        stray += sum(1 for c in on_server if c not in made)
        store = PlainStore(device.store_path, device.device_id)
        try:
            pending += store.pending_count()
        finally:
            store.close()
        broken += integrity(device.store_path) != []
    return {
        "changes_in_db": len(rows),
        "lost": lost,
        "doubled": doubled,
        "stray": stray,
        "pending": pending,
        "stores_broken": broken,
    }


def integrity(path: Path) -> list[str]:
    """What SQLite's integrity and foreign-key checks find wrong in a store file (nothing:
    an empty list)."""
    conn = sqlite3.connect(path)
    try:
        found = [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
        problems = [] if found == ["ok"] else found
        problems += [str(r) for r in conn.execute("PRAGMA foreign_key_check")]
    finally:
        conn.close()
    return problems


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0, help="of edits and faults")
    parser.add_argument("--workers", type=int, default=4, help="server processes")
    parser.add_argument("--outage-at", type=float, default=4.0, help="seconds into the load")
    parser.add_argument("--outage", type=float, default=5.0, help="seconds the gate is closed")
    parser.add_argument("--cut-share", type=float, default=0.05, help="of sync requests cut")
    parser.add_argument("--retry-after", type=int, default=1, help="the server's Retry-After")
    parser.add_argument(
        "--real-restart",
        action="store_true",
        help=f"run `{' '.join(RESTART)}` instead of closing the gate",
    )
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    use_cheap_password_hashes()
    command = (
        f"python -m bench.faults_under_load --devices {args.devices} --seconds {args.seconds:g}"
        f" --workers {args.workers} --outage-at {args.outage_at:g} --cut-share {args.cut_share:g}"
        f" --retry-after {args.retry_after}"
        + (" --real-restart" if args.real_restart else f" --outage {args.outage:g}")
    )
    with tempfile.TemporaryDirectory(prefix="carerounds-faults-") as tmp:
        folder = Path(tmp)
        with fresh_database("postgresql", folder) as url:
            seed_demo(url)
            result = run(
                url,
                folder,
                devices=args.devices,
                seconds=args.seconds,
                workers=args.workers,
                outage_at=args.outage_at,
                outage=args.outage,
                cut_share=args.cut_share,
                real_restart=args.real_restart,
                retry_after=args.retry_after,
                seed=args.seed,
            )
            checks = check(result, url)
    out = {**figures(result), **checks}
    print(command)
    print(
        f"{out['changes_made']} changes from {out['devices']} devices in {out['load_s']} s; "
        f"database away {out['database_away_s']} s ({result.outage.detail}); "
        f"503s {out['answered_503']} ({out['answered_503_with_retry_after']} with Retry-After), "
        f"other 5xx {out['answered_5xx_other']}; failed syncs retried "
        f"{out['failed_syncs_retried']} {out['retried_by_code']}"
    )
    print(
        f"server answers again {out['server_back_after_s']} s after the database is back; "
        f"first push {out['first_push_after_s']} s after; push p50/p95 outside the outage "
        f"{out['push_p50_ms_outside_outage']:.0f}/{out['push_p95_ms_outside_outage']:.0f} ms; "
        f"worker {out['worker_killed']} killed, replaced after {out['worker_replaced_after_s']} s;"
        f" proxy cuts {out['proxy_cuts']}"
    )
    print(
        f"lost {checks['lost']}, doubled {checks['doubled']}, stray {checks['stray']}, "
        f"left in outboxes {checks['pending']}, stores failing integrity_check "
        f"{checks['stores_broken']}"
    )
    print(json.dumps(machine()))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
