"""One device, the whole path, against the CouchDB-protocol peer and the raw SQLite floor.

    python -m bench.sync_bench                        # N = 1,000, 10,000, 100,000 (long)
    python -m bench.sync_bench --sizes 10000          # one size
    python -m bench.sync_bench --sizes 200 --databases sqlite --no-peer   # a smoke run

For each N and each server database (SQLite, PostgreSQL), on loopback: a fresh database
with the demo school, `python -m server.cli serve` (one process), and the product's client
(encrypted store, sync engine, httpx) in a child process per phase:
- push: one device pushes N rounds of about 1 KB (12 checklist entries with notes);
- initial pull: a fresh device pulls everything;
- incremental pull: 1 % of the rounds change on the first device; the second pulls them.
Records per second, and peak RSS (VmHWM) of the client process and the server process.

With `--concurrent K` (PostgreSQL): `serve --workers K` and K devices (cleaners, each its
own device) pushing N rounds each at once, released together once all have recorded
theirs; records per second is K x N over the time from the first push's start to the last
one's end, set against the peer's single push of N in the same run.

In the same run, the peer: `pouchdb-server` and PouchDB from npm (bench/peer; install with
`npm ci --prefix bench/peer`), PouchDB's defaults, replicating the same N rounds to the
server and into a fresh PouchDB; and the floor: raw SQLite inserting the same payloads in
one transaction with executemany, then reading them back with json.loads. Prints the
command, a table, the ratios, then one JSON line per figure.
"""

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.harness import (
    REPO,
    Profiler,
    Server,
    free_port,
    fresh_database,
    login,
    machine,
    peak_rss_mb,
    profiled_argv,
    rounds_in,
    seed_demo,
)
from bench.store_bench import a_round

PEER = Path(__file__).resolve().parent / "peer"
POUCHDB_SERVER = PEER / "node_modules" / ".bin" / "pouchdb-server"
CLIENT_TIMEOUT = 3 * 3600.0


def log(message: str) -> None:
    print(f"[sync_bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# Ours -----------------------------------------------------------------------------------------


def run_client(args: dict[str, Any], profile: Path | None = None) -> dict[str, Any]:
    """One client phase in a child process (bench.sync_client); its JSON line."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-m", "bench.sync_client", json.dumps(args)]
    done = subprocess.run(
        profiled_argv(argv, profile) if profile else argv,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"client phase {args['phase']} failed:\n{done.stderr[-4000:]}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def run_ours(
    database: str,
    n: int,
    batch_size: int | None,
    page_limit: int | None,
    profile: Path | None = None,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="carerounds-bench-") as tmp:
        folder = Path(tmp)
        with fresh_database(database, folder) as url:
            seed_demo(url)
            demo = rounds_in(url)  # the demo school's own history, held besides the N
            server = Server(url, folder / "server")
            try:
                return _phases(server, folder, database, n, batch_size, page_limit, profile, demo)
            finally:
                server.stop()


def native_device(base: str, folder: Path, name: str, username: str) -> dict[str, Any]:
    """A device of bench.sync_client (the native client, CPython), signed in."""
    device_id = f"bench-{name}-{uuid.uuid4().hex[:8]}"
    signed_in = login(base, username, device_id)
    return {
        "base": base,
        "store": str(folder / f"{name}.db"),
        "device_id": device_id,
        "token": signed_in["token"],
        "user_id": signed_in["user"]["id"],
        "username": username,
        "role": signed_in["user"]["role"],
    }


def _phases(
    server: Server,
    folder: Path,
    database: str,
    n: int,
    batch_size: int | None,
    page_limit: int | None,
    profile: Path | None,
    demo: int = 0,
) -> dict[str, Any]:
    devices = {}
    for name, username in (("pusher", "cleaner1"), ("fresh", "cleaner2")):
        devices[name] = {
            **native_device(server.base, folder, name, username),
            "batch_size": batch_size,
            "page_limit": page_limit,
        }
    changed = max(1, n // 100)
    figures: dict[str, Any] = {"bench": "sync", "n": n, "database": database}

    def phase(name: str, device: str, count: int) -> dict[str, Any]:
        log(f"{database} N={n}: {name}")
        server.reset_peak()
        server_cpu = server.cpu_seconds()
        args = {**devices[device], "phase": name, "n": count}
        if profile is None:
            result = run_client(args)
        else:
            stem = f"{database}-{n}-{name}"
            spy = Profiler(server.pids(), profile / f"{stem}-server.txt")
            try:
                result = run_client(args, profile / f"{stem}-client.txt")
            finally:
                spy.stop()
        result["server_peak_mb"] = server.peak_mb()
        result["server_cpu_s"] = server.cpu_seconds() - server_cpu
        return result

    push = phase("push", "pusher", n)
    if push["count"] != n or push["rejected"] or push["pending"]:
        raise RuntimeError(f"the push did not go through: {push}")
    pull = phase("pull", "fresh", n)
    if pull["rounds_held"] != n + demo:
        raise RuntimeError(
            f"the fresh device holds {pull['rounds_held']} rounds, not {n} + the demo's {demo}"
        )
    change = phase("change", "pusher", changed)
    incremental = phase("incremental", "fresh", 0)
    if incremental["count"] != changed:
        raise RuntimeError(f"incremental pull brought {incremental['count']}, not {changed}")
    figures.update(
        edit_per_s=round(n / push["edit_s"]),
        push_per_s=round(n / push["seconds"]),
        pull_per_s=round(pull["count"] / pull["seconds"]),
        pulled=pull["count"],
        change_push_ms=round(change["seconds"] * 1000, 1),
        incremental_n=changed,
        incremental_ms=round(incremental["seconds"] * 1000, 1),
        incremental_per_s=round(changed / incremental["seconds"]),
        client_push_peak_mb=round(push["peak_rss_mb"], 1),
        client_pull_peak_mb=round(pull["peak_rss_mb"], 1),
        client_base_mb=round(pull["rss_before_mb"], 1),
        server_push_peak_mb=round(push["server_peak_mb"], 1),
        server_pull_peak_mb=round(pull["server_peak_mb"], 1),
        # CPU per 1,000 records (ms), steadier than wall time on a shared machine; the
        # server's excludes PostgreSQL's own processes.
        push_client_cpu_ms_per_k=round(1e6 * push["cpu_s"] / n),
        push_server_cpu_ms_per_k=round(1e6 * push["server_cpu_s"] / n),
        pull_client_cpu_ms_per_k=round(1e6 * pull["cpu_s"] / pull["count"]),
        pull_server_cpu_ms_per_k=round(1e6 * pull["server_cpu_s"] / pull["count"]),
        load_1m=round(os.getloadavg()[0], 2),  # the machine's, as this database's run ended
    )
    return figures


CONCURRENT_USERS = ("cleaner1", "cleaner2", "cleaner3")


def run_concurrent(n: int, devices: int, profile: Path | None = None) -> dict[str, Any]:
    """K devices pushing N rounds each at once into `serve --workers K` on PostgreSQL."""
    with tempfile.TemporaryDirectory(prefix="carerounds-bench-") as tmp:
        folder = Path(tmp)
        with fresh_database("postgresql", folder) as url:
            seed_demo(url)
            server = Server(url, folder / "server", workers=devices)
            try:
                return _concurrent(server, folder, n, devices, profile)
            finally:
                server.stop()


def _concurrent(
    server: Server, folder: Path, n: int, devices: int, profile: Path | None
) -> dict[str, Any]:
    barrier = folder / "barrier"
    barrier.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    children = []
    for index in range(devices):
        username = CONCURRENT_USERS[index % len(CONCURRENT_USERS)]
        args = {
            **native_device(server.base, folder, f"pusher{index}", username),
            "phase": "push",
            "n": n,
            "barrier": str(barrier),
        }
        children.append(
            subprocess.Popen(
                [sys.executable, "-m", "bench.sync_client", json.dumps(args)],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    log(f"postgresql x{devices} N={n}: {devices} devices record their rounds")
    deadline = time.monotonic() + CLIENT_TIMEOUT
    while len(list(barrier.glob("ready-*"))) < devices:
        if any(child.poll() is not None for child in children):
            break
        if time.monotonic() > deadline:
            raise RuntimeError("the devices did not get ready")
        time.sleep(0.05)
    log(f"postgresql x{devices} N={n}: push at once")
    server.reset_peak()
    server_cpu = server.cpu_seconds()
    spy = Profiler(server.pids(), profile / f"concurrent-{n}-server.txt") if profile else None
    (barrier / "go").touch()
    results = []
    try:
        for child in children:
            out, err = child.communicate(timeout=CLIENT_TIMEOUT)
            if child.returncode != 0:
                raise RuntimeError(f"a concurrent device failed:\n{err[-4000:]}")
            results.append(json.loads([x for x in out.splitlines() if x.startswith("{")][-1]))
    finally:
        if spy is not None:
            spy.stop()
    server_cpu = server.cpu_seconds() - server_cpu
    for result in results:
        if result["count"] != n or result["rejected"] or result["pending"]:
            raise RuntimeError(f"a concurrent push did not go through: {result}")
    seconds = max(r["ended"] for r in results) - min(r["began"] for r in results)
    total = devices * n
    return {
        "bench": "concurrent",
        "database": "postgresql",
        "workers": devices,
        "devices": devices,
        "n": n,
        "push_per_s": round(total / seconds),
        "slowest_device_s": round(max(r["seconds"] for r in results), 2),
        "push_client_cpu_ms_per_k": round(1e6 * sum(r["cpu_s"] for r in results) / total),
        "push_server_cpu_ms_per_k": round(1e6 * server_cpu / total),
        "server_peak_mb": round(server.total_peak_mb(), 1),
        "load_1m": round(os.getloadavg()[0], 2),
    }


# The peer -------------------------------------------------------------------------------------


def run_peer(n: int) -> dict[str, Any]:
    if not POUCHDB_SERVER.exists():
        raise SystemExit(
            "the peer is not installed: run `npm ci --prefix bench/peer` (or pass --no-peer)"
        )
    with tempfile.TemporaryDirectory(prefix="carerounds-peer-") as tmp:
        folder = Path(tmp)
        docs = folder / "docs.jsonl"
        with docs.open("w", encoding="utf-8") as out:
            for index in range(n):
                doc = {"_id": str(uuid.uuid4()), **a_round(index)}
                out.write(json.dumps(doc, ensure_ascii=False) + "\n")
        (folder / "server").mkdir()
        (folder / "client").mkdir()
        port = free_port()
        with (folder / "server.log").open("wb") as server_log:
            server = subprocess.Popen(
                [str(POUCHDB_SERVER), "--port", str(port), "--dir", str(folder / "server"), "-n"],
                cwd=folder / "server",
                stdin=subprocess.DEVNULL,
                stdout=server_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_for(url, server)
            log(f"pouchdb N={n}: push and pull")
            done = subprocess.run(
                ["node", str(PEER / "replicate.js"), url, str(docs), str(folder / "client")],
                capture_output=True,
                text=True,
                timeout=CLIENT_TIMEOUT,
                check=False,
            )
            server_peak = peak_rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=15)
    if done.returncode != 0:
        raise RuntimeError(f"the peer failed:\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["pushed"] != n or result["pulled"] != n:
        raise RuntimeError(f"the peer did not replicate all {n}: {result}")
    return {
        "bench": "peer",
        "n": n,
        "push_per_s": round(n / result["push_s"]),
        "pull_per_s": round(n / result["pull_s"]),
        "client_peak_mb": round(result["client_peak_rss_mb"], 1),
        "server_peak_mb": round(server_peak, 1),
        "load_1m": round(os.getloadavg()[0], 2),
    }


def _wait_for(url: str, proc: "subprocess.Popen[bytes]", timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"pouchdb-server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"pouchdb-server did not answer within {timeout} s")


# The floor ------------------------------------------------------------------------------------


def run_raw(n: int) -> dict[str, Any]:
    """Raw SQLite, the same payloads: one transaction of executemany, then read them back."""
    rows = [
        (str(uuid.uuid4()), json.dumps(a_round(index), ensure_ascii=False)) for index in range(n)
    ]
    with tempfile.TemporaryDirectory(prefix="carerounds-raw-") as tmp:
        conn = sqlite3.connect(Path(tmp) / "raw.db", isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("CREATE TABLE rounds (id TEXT PRIMARY KEY, body TEXT NOT NULL)")
            started = time.perf_counter()
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO rounds (id, body) VALUES (?, ?)", rows)
            conn.execute("COMMIT")
            insert = time.perf_counter() - started
            started = time.perf_counter()
            bodies = conn.execute("SELECT body FROM rounds").fetchall()
            read = time.perf_counter() - started
            started = time.perf_counter()
            decoded = [json.loads(body) for (body,) in conn.execute("SELECT body FROM rounds")]
            read_json = time.perf_counter() - started
        finally:
            conn.close()
    assert len(bodies) == len(decoded) == n
    return {
        "bench": "raw_sqlite",
        "n": n,
        "insert_per_s": round(n / insert),
        "read_per_s": round(n / read),
        "read_json_per_s": round(n / read_json),
    }


# Reporting ------------------------------------------------------------------------------------


def _ratio(ours: float, theirs: float | None) -> float | None:
    return round(ours / theirs, 2) if theirs else None


def add_concurrent_ratio(row: dict[str, Any], peer: dict[str, Any] | None) -> dict[str, Any]:
    row["push_vs_peer"] = _ratio(row["push_per_s"], peer["push_per_s"] if peer else None)
    return row


def add_ratios(
    ours: dict[str, Any], peer: dict[str, Any] | None, raw: dict[str, Any]
) -> dict[str, Any]:
    ours["push_vs_peer"] = _ratio(ours["push_per_s"], peer["push_per_s"] if peer else None)
    ours["pull_vs_peer"] = _ratio(ours["pull_per_s"], peer["pull_per_s"] if peer else None)
    ours["push_vs_raw"] = _ratio(ours["push_per_s"], raw["insert_per_s"])
    ours["pull_vs_raw"] = _ratio(ours["pull_per_s"], raw["read_json_per_s"])
    return ours


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def print_report(command: str, rows: list[dict[str, Any]]) -> None:
    print(command)
    print(
        f"{'N':>7} {'system':<22} {'push /s':>8} {'pull /s':>8} {'1% pull':>9} "
        f"{'client MB':>10} {'server MB':>10}"
    )
    for row in rows:
        if row["bench"] == "sync":
            print(
                f"{row['n']:>7} {'carerounds/' + row['database']:<22} {row['push_per_s']:>8} "
                f"{row['pull_per_s']:>8} {row['incremental_ms']:>7.0f}ms "
                f"{row['client_pull_peak_mb']:>10.0f} "
                f"{max(row['server_push_peak_mb'], row['server_pull_peak_mb']):>10.0f}"
            )
        elif row["bench"] == "peer":
            print(
                f"{row['n']:>7} {'pouchdb-server':<22} {row['push_per_s']:>8} "
                f"{row['pull_per_s']:>8} {'-':>9} {row['client_peak_mb']:>10.0f} "
                f"{row['server_peak_mb']:>10.0f}"
            )
        elif row["bench"] == "raw_sqlite":
            print(
                f"{row['n']:>7} {'raw sqlite (floor)':<22} {row['insert_per_s']:>8} "
                f"{row['read_json_per_s']:>8} {'-':>9} {'-':>10} {'-':>10}"
            )
    print()
    start, end = rows[0].get("load_1m"), os.getloadavg()[0]
    print(f"load average {start} at the start, {end:.2f} at the end")
    print(
        f"{'N':>7} {'database':<11} {'push÷peer':>10} {'pull÷peer':>10} "
        f"{'push÷raw':>9} {'pull÷raw':>9}"
    )
    for row in rows:
        if row["bench"] == "sync":
            print(
                f"{row['n']:>7} {row['database']:<11} {_x(row['push_vs_peer']):>10} "
                f"{_x(row['pull_vs_peer']):>10} {_x(row['push_vs_raw']):>9} "
                f"{_x(row['pull_vs_raw']):>9}"
            )
    for row in rows:
        if row["bench"] == "concurrent":
            print(
                f"{row['n']:>7} postgresql, {row['workers']} server processes, "
                f"{row['devices']} devices pushing {row['n']} each at once: "
                f"{row['push_per_s']} records/s, {_x(row['push_vs_peer'])} the peer's single push"
            )
    print()
    for row in rows:
        print(json.dumps(row))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument(
        "--databases", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"]
    )
    parser.add_argument("--no-peer", action="store_true", help="skip pouchdb (needs npm)")
    parser.add_argument("--batch-size", type=int, help="push batch (the engine's default: 1,000)")
    parser.add_argument("--page-limit", type=int, help="pull page (the engine's default: 2,000)")
    parser.add_argument(
        "--concurrent",
        type=int,
        default=0,
        metavar="K",
        help="also K devices pushing N each at once into K server processes (PostgreSQL)",
    )
    parser.add_argument(
        "--only-concurrent", action="store_true", help="with --concurrent: skip one device"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="write py-spy profiles of client and server per phase here (slows the run)",
    )
    args = parser.parse_args(argv)
    command = "python -m bench.sync_bench --sizes " + " ".join(map(str, args.sizes))
    command += " --databases " + " ".join(args.databases)
    if args.no_peer:
        command += " --no-peer"
    if args.batch_size:
        command += f" --batch-size {args.batch_size}"
    if args.page_limit:
        command += f" --page-limit {args.page_limit}"
    if args.concurrent:
        command += f" --concurrent {args.concurrent}"
    if args.only_concurrent:
        command += " --only-concurrent"

    rows: list[dict[str, Any]] = [machine()]
    for n in args.sizes:
        raw = run_raw(n)
        peer = None if args.no_peer else run_peer(n)
        for database in [] if args.only_concurrent else args.databases:
            ours = run_ours(database, n, args.batch_size, args.page_limit, args.profile)
            rows.append(add_ratios(ours, peer, raw))
        if args.concurrent:
            together = run_concurrent(n, args.concurrent, args.profile)
            rows.append(add_concurrent_ratio(together, peer))
        rows.extend(r for r in (peer, raw) if r is not None)
    print_report(command, rows)


if __name__ == "__main__":
    main()
