"""Many devices at once: push and pull latency, throughput, and nothing lost or doubled.

    python -m bench.many_devices            # 50 devices, 60 s, 4 server processes, PostgreSQL
    python -m bench.many_devices --pause 0  # the same without pauses between syncs (saturation)
    python -m bench.many_devices --devices 3 --seconds 3 --workers 1 --database sqlite  # smoke
    python -m bench.many_devices --devices 100 250 500 750 --pause 5 --batch 5   # the search

A fresh database with the demo school and `python -m server.cli serve --workers W` on
loopback. Simulated devices (asyncio and httpx, protocol version 1 on the wire, one
connection each) sign in as the demo's cleaners, lead, class teachers and counselors,
pull their scope, then for the given time repeat: push a small batch (new records and edits
of their own: rounds; sick cases and follow-ups; counseling cases and interventions) asking
for the pull with it, as the app does, and pull on if there is more (`--apart`: push, then
pull, two requests, as before), pause (uniform, mean `--pause` s). A push whose reply is
lost is sent again with the same change ids. A push's latency is the whole request's, its
pull included; a sync's (`sync_p50_ms`, `sync_p95_ms`) runs from the push to up to date,
what the phone waits for either way.

Afterwards every device pulls once more, and the checks run: every acknowledged change_id
is in the server's `changes` table exactly once with the acknowledged seq; no device
received the same (record, seq) twice; every device holds its own records at least at the
version it pushed. Prints the command, a table and one JSON line per run. Given several
device counts (`--devices 100 250 500`), it runs each on a fresh database and server and
names the largest whose push p95 stayed under `--target-p95` (250 ms).
"""

import argparse
import asyncio
import itertools
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench import bench_school
from bench.harness import (
    Profiler,
    Server,
    cpu_between,
    fresh_database,
    machine,
    percentile,
    postgres_cpu_seconds,
    query,
    seed_demo,
    use_cheap_password_hashes,
)
from shared.hlc import Clock

USERS = (
    "cleaner1",
    "teacher1",
    "cleaner2",
    "counselor1",
    "teacher2",
    "cleaner3",
    "lead",
    "teacher3",
    "counselor2",
    "teacher4",
)
PUSH = "/api/v1/sync/push"
PULL = "/api/v1/sync/pull"
ACKED = {"applied", "duplicate", "conflict"}
ITEMS = [f"item_{i:02d}" for i in range(12)]
PAGE = 1000
HTTP_TIMEOUT = 30.0
SIGN_INS_AT_ONCE = 8


@dataclass
class Device:
    index: int
    username: str
    device_id: str
    token: str
    user_id: str
    role: str
    rng: random.Random
    clock: Clock
    client: httpx.AsyncClient
    cursor: str | None = None
    # What the device knows: every record it received, at its latest seq.
    held: dict[tuple[str, str], int] = field(default_factory=dict)
    # The areas, classes and students it received (collection → id → fields).
    scope: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Its own records (collection → ids) with the seq the server gave its last change.
    own: dict[str, list[str]] = field(default_factory=dict)
    own_seq: dict[tuple[str, str], int] = field(default_factory=dict)
    acked: dict[str, int] = field(default_factory=dict)  # change_id → seq
    rejected: list[str] = field(default_factory=list)
    received: int = 0
    doubled: int = 0
    seen: set[tuple[str, str, int]] = field(default_factory=set)
    push_ms: list[float] = field(default_factory=list)
    pull_ms: list[float] = field(default_factory=list)
    sync_ms: list[float] = field(default_factory=list)  # a whole sync: pushed, up to date
    resent: int = 0  # requests sent again after a transport error

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.post(
            path,
            content=orjson.dumps(body),
            headers={"authorization": f"Bearer {self.token}", "content-type": "application/json"},
        )
        reply: dict[str, Any] = orjson.loads(response.content)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code} {reply}")
        return reply

    # Pull ------------------------------------------------------------------------------------

    async def pull(self, timed: bool) -> None:
        while True:
            started = time.perf_counter()
            body = {"device_id": self.device_id, "cursor": self.cursor, "limit": PAGE}
            for attempt in itertools.count():
                try:
                    page = await self.post(PULL, body)
                except httpx.TransportError:
                    # E.g. a kept-alive connection the server closed as it was reused.
                    if attempt >= 5:
                        raise
                    self.resent += 1  # the same cursor again: a pull is safe to repeat
                    continue
                break
            if timed:
                self.pull_ms.append((time.perf_counter() - started) * 1000)
            if not self.take(page):
                return

    def take(self, page: dict[str, Any]) -> bool:
        """Store a pulled page; whether there is more."""
        for change in page["changes"]:
            key = (change["collection"], str(change["record_id"]))
            seen = (*key, int(change["seq"]))
            if seen in self.seen:
                self.doubled += 1
            self.seen.add(seen)
            self.held[key] = int(change["seq"])
            self.received += 1
            if change["collection"] in ("areas", "students", "classes"):
                self.scope.setdefault(change["collection"], {})[key[1]] = change["fields"]
        for gone in page["removed"]:
            self.held.pop((gone["collection"], str(gone["record_id"])), None)
        self.cursor = page["cursor"]
        return bool(page["has_more"])

    # Push ------------------------------------------------------------------------------------

    async def push(self, size: int, then_pull: bool = False) -> bool:
        """Push `size` changes (asking for the pull with them, with `then_pull`); whether
        the device is up to date after it."""
        changes = [self.change() for _ in range(size)]
        body: dict[str, Any] = {"device_id": self.device_id, "changes": changes}
        if then_pull:
            body["pull"] = {"cursor": self.cursor, "limit": PAGE}
        started = time.perf_counter()
        for attempt in itertools.count():
            try:
                reply = await self.post(PUSH, body)
            except httpx.TransportError:
                if attempt >= 5:
                    raise
                self.resent += 1  # the same change ids again: must come back "duplicate"
                continue
            # From the first try: a resent push took that long for its user.
            self.push_ms.append((time.perf_counter() - started) * 1000)
            break
        for change, result in zip(changes, reply["results"], strict=True):
            if result["status"] in ACKED:
                self.acked[str(result["change_id"])] = int(result["seq"])
                self.own_seq[(change["collection"], change["record_id"])] = int(result["seq"])
            else:
                self.rejected.append(f"{change['collection']}: {result['error']['code']}")
        page = reply.get("pull")
        return page is not None and not self.take(page)

    def change(self) -> dict[str, Any]:
        collection, record_id, fields = self._edit()
        key = (collection, record_id)
        base = self.held.get(key, self.own_seq.get(key))
        return {
            "change_id": str(uuid.uuid4()),
            "collection": collection,
            "record_id": record_id,
            "hlc": self.clock.now(),
            "base_seq": base,
            "fields": fields,
            "deleted": False,
        }

    def _new(self, collection: str) -> str:
        record_id = str(uuid.uuid4())
        self.own.setdefault(collection, []).append(record_id)
        return record_id

    def _mine(self, collection: str) -> str | None:
        ids = self.own.get(collection)
        return self.rng.choice(ids) if ids and self.rng.random() < 0.7 else None

    def _edit(self) -> tuple[str, str, dict[str, Any]]:
        rng, day = self.rng, (date.today() - timedelta(days=1)).isoformat()
        at = f"{day}T08:{rng.randrange(60):02d}:00+08:00"
        fields: dict[str, Any]
        if self.role in ("cleaner", "lead"):
            mine = self._mine("disinfection_rounds")
            entry = {"done": rng.random() < 0.9, "at": at, "note": f"设备{self.index} 已消毒"}
            if mine:
                return "disinfection_rounds", mine, {f"items.{rng.choice(ITEMS)}": entry}
            areas = list(self.scope.get("areas", {}))
            fields = {
                "area_id": rng.choice(areas),
                "round_date": day,
                "cleaner_id": self.user_id,
                "items": dict.fromkeys(rng.sample(ITEMS, 6), entry),
                "note": "含氯消毒液 500mg/L",
            }
            return "disinfection_rounds", self._new("disinfection_rounds"), fields
        if self.role == "class_teacher":
            case = self._mine("sick_cases")
            if case:
                fields = {
                    "case_id": case,
                    "visit_date": day,
                    "method": rng.choice(["phone", "video", "home_visit"]),
                    "temperature_c": round(rng.uniform(36.2, 38.9), 1),
                    "condition": "精神好转",
                    "mood": rng.choice(["good", "okay", "low"]),
                    "note": f"设备{self.index} 电话随访",
                }
                return "follow_ups", self._new("follow_ups"), fields
            student_id, student = rng.choice(list(self.scope["students"].items()))
            fields = {
                "student_id": student_id,
                "class_id": student["class_id"],
                "onset_date": day,
                "symptoms": "发热, 咳嗽",
                "status": "open",
            }
            return "sick_cases", self._new("sick_cases"), fields
        # counselor
        case = self._mine("counseling_cases")
        if case:
            fields = {
                "case_id": case,
                "held_on": day,
                "kind": rng.choice(["individual_talk", "parent_contact", "teacher_consult"]),
                "note": f"设备{self.index} 谈话记录",
                "risk_level": rng.choice(["low", "medium"]),
            }
            return "interventions", self._new("interventions"), fields
        student_id = rng.choice(list(self.scope["students"]))
        fields = {"student_id": student_id, "risk_level": "low", "status": "open"}
        return "counseling_cases", self._new("counseling_cases"), fields

    # The loop --------------------------------------------------------------------------------

    async def run(self, until: float, batch: int, pause: float, apart: bool = False) -> None:
        # Phones do not all sync at the same instant: each starts somewhere in its first
        # pause. (Started together, every device's first push arrived in the same few
        # milliseconds, a burst no school makes, and its queue alone set the p95.)
        await asyncio.sleep(self.rng.uniform(0, 2 * pause))
        while time.monotonic() < until:
            # As the app syncs: the pull asked with the push, and pulled on only if there
            # is more (or, `apart`, as before: a push, then a pull).
            started = time.perf_counter()
            if not await self.push(self.rng.randint(1, batch), then_pull=not apart):
                await self.pull(timed=True)
            self.sync_ms.append((time.perf_counter() - started) * 1000)
            if pause > 0:
                left = until - time.monotonic()
                await asyncio.sleep(max(0.0, min(left, self.rng.uniform(0, 2 * pause))))


async def _loop_lag(until: float, lags: list[float]) -> None:
    """How late the event loop wakes up: if large, the load generator itself was the limit."""
    while time.monotonic() < until:
        started = time.perf_counter()
        await asyncio.sleep(0.05)
        lags.append((time.perf_counter() - started - 0.05) * 1000)


async def _sign_in(base: str, index: int, username: str, seed: int) -> Device:
    device_id = f"bench-md-{index:03d}-{uuid.uuid4().hex[:8]}"
    client = httpx.AsyncClient(base_url=base, timeout=HTTP_TIMEOUT)
    response = await client.post(
        "/api/v1/auth/login",
        json={
            "username": username,
            "password": "carerounds-demo",
            "device_id": device_id,
            "device_name": f"bench 设备 {index}",
        },
    )
    if response.status_code != 200:
        raise RuntimeError(f"sign-in of {username} failed: {response.text}")
    body = response.json()
    return Device(
        index=index,
        username=username,
        device_id=device_id,
        token=body["token"],
        user_id=body["user"]["id"],
        role=body["user"]["role"],
        rng=random.Random(seed * 1000 + index),
        clock=Clock(device_id),
        client=client,
    )


async def simulate(
    base: str,
    usernames: list[str],
    seconds: float,
    batch: int,
    pause: float,
    seed: int,
    server_cpu: Callable[[], float],
    apart: bool = False,
) -> tuple[list[Device], float, list[float], tuple[float, float, float]]:
    """The fleet signs in and pulls its scope, then runs for `seconds`; the fleet, the
    time it ran, the event loop's lags, and the CPU seconds the devices and the server
    took while it ran (sign-ins and first pulls left out), and PostgreSQL's (the whole
    cluster's: on SQLite, only what else ran on the machine)."""
    # A few at a time (sign-in is not what is measured; argon2 is made cheap for it).
    gate = asyncio.Semaphore(SIGN_INS_AT_ONCE)

    async def sign_in(index: int) -> Device:
        async with gate:
            return await _sign_in(base, index, usernames[index], seed)

    fleet = list(await asyncio.gather(*(sign_in(i) for i in range(len(usernames)))))
    await asyncio.gather(*(d.pull(timed=False) for d in fleet))
    started = time.monotonic()
    cpu, server_cpu_before = time.process_time(), server_cpu()
    database_before = postgres_cpu_seconds()
    until = started + seconds
    lags: list[float] = []
    await asyncio.wait_for(
        asyncio.gather(_loop_lag(until, lags), *(d.run(until, batch, pause, apart) for d in fleet)),
        timeout=seconds + 10 * HTTP_TIMEOUT,
    )
    elapsed = time.monotonic() - started
    used = (
        time.process_time() - cpu,
        server_cpu() - server_cpu_before,
        cpu_between(database_before, postgres_cpu_seconds()),
    )
    await asyncio.gather(*(d.pull(timed=False) for d in fleet))
    for device in fleet:
        await device.client.aclose()
    return fleet, elapsed, lags, used


def server_changes(database_url: str) -> list[tuple[str, int]]:
    """(change_id, seq) of every change the bench devices made, read from the database."""
    rows = query(
        database_url, "SELECT change_id, seq FROM changes WHERE device_id LIKE 'bench-md-%'"
    )
    return [(str(uuid.UUID(str(change_id))), int(seq)) for change_id, seq in rows]


def check(fleet: list[Device], rows: list[tuple[str, int]]) -> dict[str, int]:
    acked: dict[str, int] = {}
    for device in fleet:
        acked.update(device.acked)
    in_db: dict[str, list[int]] = {}
    for change_id, seq in rows:
        in_db.setdefault(change_id, []).append(seq)
    missing = sum(1 for c in acked if c not in in_db)
    doubled = sum(1 for seqs in in_db.values() if len(seqs) > 1)
    wrong_seq = sum(1 for c, s in acked.items() if c in in_db and in_db[c] != [s])
    behind = sum(
        1
        for d in fleet
        for key, seq in d.own_seq.items()
        if d.held.get(key, -1) < seq  # its own change never came back to it
    )
    return {
        "acked": len(acked),
        "in_db": len(rows),
        "lost": missing,
        "doubled": doubled,
        "seq_mismatch": wrong_seq,
        "unacked_in_db": sum(1 for c in in_db if c not in acked),
        "pulled_twice": sum(d.doubled for d in fleet),
        "own_not_pulled": behind,
    }


def run_once(args: argparse.Namespace, devices: int) -> dict[str, Any]:
    """One run of `devices` devices on a fresh database and server; the result line."""
    with tempfile.TemporaryDirectory(prefix="carerounds-many-") as tmp:
        folder = Path(tmp)
        with fresh_database(args.database, folder) as url:
            seed_demo(url)
            if args.roster == "school":
                people = bench_school.roster(devices)
                bench_school.seed_school(url, people)
                usernames = [p.username for p in people]
            else:
                usernames = [USERS[i % len(USERS)] for i in range(devices)]
            server = Server(url, folder / "server", workers=args.workers)
            spy = None
            try:
                server.reset_peak()
                if args.profile:
                    stem = f"many-{devices}-{args.database}-w{args.workers}-p{args.pause:g}"
                    spy = Profiler(server.pids(), args.profile / f"{stem}.txt", idle=True)
                load_before = os.getloadavg()[0]
                fleet, elapsed, lags, (cpu, server_cpu, database_cpu) = asyncio.run(
                    simulate(
                        server.base,
                        usernames,
                        args.seconds,
                        args.batch,
                        args.pause,
                        args.seed,
                        server.cpu_seconds,
                        args.apart,
                    )
                )
                load_after = os.getloadavg()[0]
                server_mb = server.total_peak_mb()
                connections = _pg_connections(url) if args.database == "postgresql" else None
            except BaseException:
                print(server.stderr()[-6000:], file=sys.stderr)  # what the server said
                raise
            finally:
                if spy is not None:
                    spy.stop()
                server.stop()
            checks = check(fleet, server_changes(url))

    push_ms = [ms for d in fleet for ms in d.push_ms]
    pull_ms = [ms for d in fleet for ms in d.pull_ms]
    sync_ms = [ms for d in fleet for ms in d.sync_ms]
    requests = len(push_ms) + len(pull_ms)
    rejected = [r for d in fleet for r in d.rejected]
    return {
        "bench": "many_devices",
        "devices": devices,
        "roster": args.roster,
        "workers": args.workers,
        "database": args.database,
        "seconds": round(elapsed, 1),
        "pause_s": args.pause,
        "pull_with_push": not args.apart,
        "changes_per_s": round(checks["acked"] / elapsed, 1),
        "pushes": len(push_ms),
        "push_p50_ms": round(percentile(push_ms, 0.50), 1),
        "push_p95_ms": round(percentile(push_ms, 0.95), 1),
        "push_p99_ms": round(percentile(push_ms, 0.99), 1),
        "pulls": len(pull_ms),
        "pull_p50_ms": round(percentile(pull_ms, 0.50), 1),
        "pull_p95_ms": round(percentile(pull_ms, 0.95), 1),
        "pull_p99_ms": round(percentile(pull_ms, 0.99), 1),
        "sync_p50_ms": round(percentile(sync_ms, 0.50), 1),
        "sync_p95_ms": round(percentile(sync_ms, 0.95), 1),
        "pulled_per_s": round(sum(d.received for d in fleet) / elapsed, 1),
        "rejected": len(rejected),
        "rejected_codes": sorted(set(rejected)),
        "resent": sum(d.resent for d in fleet),
        "loop_lag_p99_ms": round(percentile(lags, 0.99), 1),
        "loop_lag_mean_ms": round(statistics.fmean(lags), 1) if lags else 0.0,
        # CPU the simulated devices took (of one core) while they ran.
        "devices_cpu_share": round(cpu / elapsed, 2),
        # CPU the server processes took (of one core) meanwhile, PostgreSQL's own not counted.
        "server_cpu_share": round(server_cpu / elapsed, 2),
        # CPU PostgreSQL's processes took meanwhile (every database of the cluster).
        "database_cpu_share": round(database_cpu / elapsed, 2)
        if args.database == "postgresql"
        else None,
        # Server CPU per request answered (push or pull) while the devices ran.
        "server_cpu_ms_per_request": round(1000 * server_cpu / max(1, requests), 2),
        "server_peak_mb_total": round(server_mb, 1),
        "pg_connections_peak": connections,
        "load_before": round(load_before, 2),
        "load_after": round(load_after, 2),
        **checks,
    }


def _pg_connections(url: str) -> int:
    """The connections the server's processes hold open to their database now."""
    name = url.rsplit("/", 1)[1]
    [(count,)] = query(url, f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{name}'")  # noqa: S608
    return int(count) - 1  # less this query's own


def print_rows(command: str, results: list[dict[str, Any]], target: float) -> None:
    print(command)
    print(
        f"{'devices':>7} {'changes/s':>10} {'pushes':>7} {'push p50/p95/p99 ms':>21} "
        f"{'pulls':>6} {'pull p50/p95/p99 ms':>21} {'acked':>7} {'lost':>5} {'doubled':>8} "
        f"{'load':>5}"
    )
    for r in results:
        push_p = f"{r['push_p50_ms']:.0f}/{r['push_p95_ms']:.0f}/{r['push_p99_ms']:.0f}"
        pull_p = f"{r['pull_p50_ms']:.0f}/{r['pull_p95_ms']:.0f}/{r['pull_p99_ms']:.0f}"
        print(
            f"{r['devices']:>7} {r['changes_per_s']:>10} {r['pushes']:>7} {push_p:>21} "
            f"{r['pulls']:>6} {pull_p:>21} {r['acked']:>7} {r['lost']:>5} "
            f"{r['doubled']:>8} {r['load_after']:>5.2f}"
        )
    for r in results:
        print(
            f"{r['devices']} devices: a whole sync p50/p95 {r['sync_p50_ms']:.0f}/"
            f"{r['sync_p95_ms']:.0f} ms; pulled {r['pulled_per_s']} records/s; rejected "
            f"{r['rejected']}; resent {r['resent']}; pulled twice {r['pulled_twice']}; own "
            f"change not pulled back {r['own_not_pulled']}; event-loop lag p99 "
            f"{r['loop_lag_p99_ms']} ms; devices' CPU {r['devices_cpu_share']}, server's "
            f"{r['server_cpu_share']} of a core ({r['server_cpu_ms_per_request']} ms per "
            f"request), PostgreSQL's {r['database_cpu_share']}; server peak "
            f"{r['server_peak_mb_total']:.0f} MB "
            f"over {r['workers']} process(es); database connections {r['pg_connections_peak']}"
        )
    if len(results) > 1 or target:
        under = [r["devices"] for r in results if r["push_p95_ms"] < target]
        counts = ", ".join(str(r["devices"]) for r in results)
        intact = all(r["lost"] == 0 and r["doubled"] == 0 for r in results)
        print(
            f"largest device count with push p95 under {target:g} ms: "
            f"{max(under) if under else 'none'} (of {counts});"
            f" nothing lost or doubled in any run: {'yes' if intact else 'NO'}"
        )
    print(json.dumps(machine()))
    for r in results:
        print(json.dumps(r))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--devices",
        type=int,
        nargs="+",
        default=[50],
        help="device counts, one run each (fresh database and server)",
    )
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=4, help="server processes")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--batch", type=int, default=10, help="most changes in one push")
    parser.add_argument("--pause", type=float, default=1.0, help="mean seconds between syncs")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--roster",
        choices=["school", "demo"],
        default="school",
        help="school: one account per device, mostly class teachers (bench/bench_school.py);"
        " demo: the demo school's ten accounts shared by all devices (every change reaches"
        " a tenth of them as lead)",
    )
    parser.add_argument(
        "--apart",
        action="store_true",
        help="each sync as a push, then a pull (before the pull came with the push)",
    )
    parser.add_argument(
        "--target-p95", type=float, default=250.0, help="push p95 (ms) the search keeps under"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="write py-spy profiles of the server processes here (idle threads included)",
    )
    args = parser.parse_args(argv)
    use_cheap_password_hashes()
    command = (
        f"python -m bench.many_devices --devices {' '.join(map(str, args.devices))}"
        f" --seconds {args.seconds:g} --workers {args.workers} --database {args.database}"
        f" --batch {args.batch} --pause {args.pause:g} --roster {args.roster}"
        + (" --apart" if args.apart else "")
    )
    results = []
    for devices in args.devices:
        results.append(run_once(args, devices))
        print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    print_rows(command, results, args.target_p95)


if __name__ == "__main__":
    main()
