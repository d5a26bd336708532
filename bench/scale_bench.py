"""Cost grows with the scope, not the database: one phone's sync as PostgreSQL grows.

    python -m bench.scale_bench                                  # 10^4, 10^5, 10^6 records
    python -m bench.scale_bench --sizes 10000 100000 --plans /tmp/plans.txt
    python -m bench.scale_bench --sizes 2000 --scope 200         # a smoke run

For each size: a fresh PostgreSQL database with the demo school, filled by COPY to about N
records (bench.scale_fill: the cleaners' bucket and teacher1's classes at a fixed `--scope`
each, the rest other classes' years of history, counseling, referrals and moves), then
`python -m server.cli serve` (one process) and the product's client (bench.sync_client:
encrypted store, sync engine, httpx) in a child process per phase:
- cleaner initial: a fresh device of cleaner2 pulls its scope (school + disinfection);
- teacher initial: a fresh device of teacher1 pulls its scope (its 2 classes, school, its
  referrals);
- then other scopes change (1 % of the database's records, by bulk SQL: checks edited,
  students moved to another class), and cleaner1 edits 1 % of the cleaners' rounds
  through the real push;
- cleaner incremental: cleaner2's device pulls what changed (exactly cleaner1's edits);
- teacher incremental: teacher1's device pulls (nothing of its scope changed).
Every size's database is filled and served first; then each phase is run size after size,
`--reps` times round (the median is shown), so that the machine's load falls on all sizes
alike. Wall time, CPU ms per 1,000 records of client and server, the server's peak RSS
(VmHWM, reset per phase), the load average; and the server's part alone, in-process (the
pull code on the same database and cursors, no HTTP: median of 5 initial syncs and 50
incremental ones, finer than the server processes' 10 ms CPU ticks). Then the ratio of each
figure at the largest size to the smallest, from the same run. `--plans FILE` writes
EXPLAIN (ANALYZE, BUFFERS) of the pull's queries at each size.
"""

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.harness import Server, machine, seed_demo, use_cheap_password_hashes
from bench.loopback import child_env, postgres_database
from bench.scale_fill import Filled, churn, fill, psycopg_url
from bench.sync_bench import native_device, run_client

INPROC_RUNS = 5  # the in-process initial syncs per size (incremental: 10x as many)
PHASES = ("cleaner_initial", "teacher_initial", "cleaner_incremental", "teacher_incremental")


def log(message: str) -> None:
    print(f"[scale_bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load() -> float:
    return round(os.getloadavg()[0], 2)


@dataclass
class Size:
    """One database size: its database, its filled records, its server and devices."""

    n: int
    url: str
    info: Filled
    server: Server
    folder: Path
    devices: dict[str, dict[str, Any]]
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    churned: dict[str, int] = field(default_factory=dict)
    inproc: dict[str, dict[str, Any]] = field(default_factory=dict)
    inproc_cursor: dict[str, str | None] = field(default_factory=dict)

    def phase(
        self, label: str, device: str, kind: str, store: Path, count: int = 0
    ) -> dict[str, Any]:
        self.server.reset_peak()
        cpu = self.server.cpu_seconds()
        before = load()
        args = {**self.devices[device], "store": str(store), "phase": kind, "n": count}
        result = run_client(args)
        result["server_cpu_s"] = self.server.cpu_seconds() - cpu
        result["server_peak_mb"] = self.server.peak_mb()
        result["load"] = max(before, load())
        self.runs.setdefault(label, []).append(result)
        return result


class InProcess:
    """The server's pull alone, in this process (no HTTP, no client): each phone's pulls
    run many times over, timed, for figures finer than the server processes' CPU clock
    (10 ms ticks). A pull changes nothing on the server, so it may be repeated."""

    def __init__(self, url: str, devices: dict[str, dict[str, Any]]) -> None:
        from sqlmodel import Session

        from server.accounts import Authenticated
        from server.config import Settings
        from server.db import make_engine
        from server.models import User
        from server.sync import pull

        self.engine = make_engine(Settings(database_url=url))
        self.pull = pull
        self.session = Session
        self.callers = {}
        self.cursors: dict[str, str | None] = {}
        with Session(self.engine) as session:
            for who in ("cleaner", "teacher"):
                device = devices[who]
                user = session.get(User, uuid.UUID(device["user_id"]))
                assert user is not None
                session.expunge(user)
                self.callers[who] = Authenticated(user, device["device_id"], uuid.uuid4())

    def sync(self, who: str, cursor: str | None) -> tuple[int, str | None]:
        """Pull pages from `cursor` until up to date: records received, the last cursor."""
        from shared.schemas.wire import PullRequest

        count = 0
        with self.session(self.engine) as session:
            key = self.pull.cursor_key(session)
            while True:
                req = PullRequest(device_id=self.callers[who].device_id, cursor=cursor, limit=1000)
                page = self.pull.pull(session, self.callers[who], req, key)
                count += len(page["changes"])
                cursor = page["cursor"]
                if not page["has_more"]:
                    return count, cursor

    def time(self, who: str, cursor: str | None, runs: int) -> dict[str, Any]:
        """The median wall and CPU ms of a whole sync from `cursor`, over `runs` runs."""
        walls, cpus = [], []
        count = 0
        for _ in range(runs):
            started, cpu = time.perf_counter(), time.process_time()
            count, _ = self.sync(who, cursor)
            walls.append(1000 * (time.perf_counter() - started))
            cpus.append(1000 * (time.process_time() - cpu))
        return {
            "records": count,
            "runs": runs,
            "ms": round(statistics.median(walls), 2),
            "cpu_ms": round(statistics.median(cpus), 2),
        }

    def close(self) -> None:
        self.engine.dispose()


def _copy_store(source: Path, target: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
    return target


def prepare(stack: contextlib.ExitStack, n: int, scope: int, root: Path) -> Size:
    folder = root / f"n{n}"
    folder.mkdir()
    url = stack.enter_context(postgres_database("carerounds_scale"))
    log(f"N={n}: seeding and filling")
    seed_demo(url)
    info = fill(url, n, scope)
    log(f"N={n}: filled {info.records} records in {info.seconds:.1f} s")
    # Its closed cases leave the phones now, as a server that has run for a while has
    # swept them (`carerounds-server retention`), not during the measurement when the
    # served process's first sweep comes (a few minutes in, at a different point at each
    # size: at 10^4 it once made the teacher's incremental pull remove 1,000 records).
    swept = subprocess.run(
        [sys.executable, "-m", "server.cli", "retention"],
        env=child_env(url),
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    log(f"N={n}: {swept.stdout.splitlines()[0]}")
    server = Server(url, folder / "server")
    stack.callback(server.stop)
    devices = {
        name: native_device(server.base, folder, name, username)
        for name, username in (
            ("cleaner", "cleaner2"),
            ("teacher", "teacher1"),
            ("pusher", "cleaner1"),
        )
    }
    return Size(n, url, info, server, folder, devices)


def run(sizes: list[int], scope: int, reps: int, plans: Path | None) -> list[dict[str, Any]]:
    """Every size's database filled and served at once; then each measurement taken size
    after size, `reps` times round, so that the machine's load falls on all sizes alike."""
    with (
        tempfile.TemporaryDirectory(prefix="carerounds-scale-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        root = Path(tmp)
        all_sizes = [prepare(stack, n, scope, root) for n in sizes]
        for rep in range(reps):
            for size in all_sizes:
                for who in ("cleaner", "teacher"):
                    log(f"N={size.n}: {who} initial ({rep + 1}/{reps})")
                    size.phase(f"{who}_initial", who, "pull", size.folder / f"{who}-{rep}.db")
        inproc = {size.n: InProcess(size.url, size.devices) for size in all_sizes}
        for measurer in inproc.values():
            stack.callback(measurer.close)
        for size in all_sizes:
            for who in ("cleaner", "teacher"):
                log(f"N={size.n}: {who} initial, the server's part in-process")
                size.inproc[f"{who}_initial"] = inproc[size.n].time(who, None, INPROC_RUNS)
                size.inproc_cursor[who] = inproc[size.n].sync(who, None)[1]
        changed = max(1, scope // 100)
        for size in all_sizes:
            size.phase("pusher", "pusher", "pull", size.folder / "pusher.db")
            size.churned = churn(size.url, size.info)
            log(f"N={size.n}: other scopes changed {size.churned}")
            edit = size.phase("edit", "pusher", "change", size.folder / "pusher.db", changed)
            if edit["count"] != changed or edit["rejected"]:
                raise RuntimeError(f"the edits did not go through: {edit}")
        for rep in range(reps):
            for size in all_sizes:
                for who in ("cleaner", "teacher"):
                    log(f"N={size.n}: {who} incremental ({rep + 1}/{reps})")
                    # The same device pulls from the same cursor each time (a pull may be
                    # repeated): its store as the last initial pull left it, copied.
                    store = _copy_store(
                        size.folder / f"{who}-{reps - 1}.db", size.folder / f"{who}-inc-{rep}.db"
                    )
                    result = size.phase(f"{who}_incremental", who, "incremental", store)
                    expected = changed if who == "cleaner" else 0
                    if result["count"] != expected:
                        raise RuntimeError(
                            f"N={size.n}: {who}'s incremental pull brought {result['count']}, "
                            f"not {expected}"
                        )
        for size in all_sizes:
            for who in ("cleaner", "teacher"):
                log(f"N={size.n}: {who} incremental, the server's part in-process")
                size.inproc[f"{who}_incremental"] = inproc[size.n].time(
                    who, size.inproc_cursor[who], INPROC_RUNS * 10
                )
        rows = [_figures(size, scope) for size in all_sizes]
        if plans is not None:
            with plans.open("a", encoding="utf-8") as out_file:
                for size in all_sizes:
                    out_file.write(
                        explain(size.url, size.n, size.devices, size.churned["from_seq"])
                    )
        return rows


def _figures(size: Size, scope: int) -> dict[str, Any]:
    [(total,)] = _rows(size.url, "SELECT count(*) FROM records")
    figures: dict[str, Any] = {
        "bench": "scale",
        "n": size.n,
        "records": int(total),
        "scope": scope,
        "fill_s": round(size.info.seconds, 1),
        "churn": size.churned,
        "moves": int(_rows(size.url, "SELECT count(*) FROM moves")[0][0]),
    }
    for name in PHASES:
        results = size.runs[name]
        records = max(1, sum(r["count"] for r in results))
        server_cpu = sum(r["server_cpu_s"] for r in results)
        figures[name] = {
            "records": results[0]["count"],
            "runs": len(results),
            "ms": round(statistics.median(r["seconds"] for r in results) * 1000, 1),
            "ms_each": [round(r["seconds"] * 1000) for r in results],
            "client_cpu_ms_per_k": round(1e6 * sum(r["cpu_s"] for r in results) / records, 1),
            "server_cpu_ms_per_k": round(1e6 * server_cpu / records, 1),
            # CPU clock ticks are 10 ms: summed over the runs, then per run.
            "server_cpu_ms": round(1000 * server_cpu / len(results), 1),
            "server_peak_mb": round(max(r["server_peak_mb"] for r in results), 1),
            "client_peak_mb": round(max(r["peak_rss_mb"] for r in results), 1),
            "load": max(r["load"] for r in results),
            "server_inproc": size.inproc[name],
        }
    return figures


def _rows(url: str, sql: str, params: Any = None) -> list[Any]:
    import psycopg

    with psycopg.connect(psycopg_url(url)) as conn:
        return list(conn.execute(sql, params).fetchall())


def explain(url: str, n: int, devices: dict[str, dict[str, Any]], incremental_after: int) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of what a pull runs, for the cleaner and the teacher."""
    import uuid

    import psycopg
    from sqlalchemy.dialects import postgresql

    from server.sync import pull, scopes
    from shared.schemas.vocabulary import Role

    def sql(statement: Any) -> str:
        dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
        compiled = statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
        return str(compiled)

    text = [f"\n=== N = {n} records ===\n"]
    with psycopg.connect(psycopg_url(url)) as conn:
        (committed,) = conn.execute("SELECT last_seq FROM seq_counter WHERE id = 1").fetchone() or (
            0,
        )
        for name in ("cleaner", "teacher"):
            device = devices[name]
            user_id = uuid.UUID(device["user_id"])
            role = Role(device["role"])
            queries: list[tuple[str, Any]] = []
            class_ids: list[str] = []
            if role is Role.CLASS_TEACHER:
                queries.append(("class_ids_of", scopes.class_ids_query(user_id)))
                me = str(user_id)
                class_ids = [
                    str(record_id)
                    for record_id, fields in conn.execute(
                        "SELECT record_id, fields FROM records WHERE collection = 'classes'"
                    )
                    if me in fields.get("teacher_ids", [])
                ]
            subs = scopes.subscriptions(role, user_id, class_ids)
            for phase, after in (("initial", 0), ("incremental", incremental_after)):
                pages = pull._page_queries(True, subs, after, committed, 1001)
                queries += [
                    (f"{phase} page (1,000), bucket {i + 1} of {len(pages)}", page.params(params))
                    for i, (page, params) in enumerate(pages)
                ]
                queries.append((f"{phase} page: moves", pull._moves_query(subs, after, committed)))
            for label, statement in queries:
                rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql(statement)).fetchall()
                text.append(f"--- {name}: {label} (N = {n})\n")
                text.extend(f"{r[0]}\n" for r in rows)
    return "".join(text)


def print_report(command: str, rows: list[dict[str, Any]], start: dict[str, Any]) -> None:
    print(command)
    print(
        f"machine: {start['nproc']} cores, {start['memory_gb']} GB, Python {start['python']}, "
        f"load {start['load_1m']} at the start, {load()} at the end"
    )
    print(
        f"{'records':>9} {'phase':<20} {'pulled':>7} {'ms':>8} {'client ms/k':>12} "
        f"{'server ms/k':>12} {'server MB':>10} {'load':>5} {'in-process ms':>14}"
    )
    for row in rows:
        for name in PHASES:
            p = row[name]
            print(
                f"{row['records']:>9} {name:<20} {p['records']:>7} {p['ms']:>8.0f} "
                f"{p['client_cpu_ms_per_k']:>12.1f} {p['server_cpu_ms_per_k']:>12.1f} "
                f"{p['server_peak_mb']:>10.1f} {p['load']:>5.2f} "
                f"{p['server_inproc']['ms']:>14.2f}"
            )
    if len(rows) > 1:
        small, big = rows[0], rows[-1]
        print()
        print(f"largest ÷ smallest ({big['records']} ÷ {small['records']} records), same run:")
        for name in PHASES:
            a, b = small[name], big[name]
            print(
                f"  {name:<20} wall {b['ms'] / a['ms']:.2f}x, server CPU "
                f"{b['server_cpu_ms'] / max(a['server_cpu_ms'], 0.1):.2f}x, server peak RSS "
                f"{b['server_peak_mb'] / a['server_peak_mb']:.2f}x, the server's pull in-process "
                f"{b['server_inproc']['ms'] / a['server_inproc']['ms']:.2f}x"
            )
    print()
    for row in rows:
        print(json.dumps(row))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument(
        "--scope", type=int, default=3_000, help="records added to each phone's scope"
    )
    parser.add_argument("--reps", type=int, default=3, help="runs of each phase, each size")
    parser.add_argument("--plans", type=Path, help="append EXPLAIN (ANALYZE, BUFFERS) here")
    args = parser.parse_args(argv)
    use_cheap_password_hashes()
    command = "python -m bench.scale_bench --sizes " + " ".join(map(str, args.sizes))
    command += f" --scope {args.scope} --reps {args.reps}"
    start = machine()
    rows = run(args.sizes, args.scope, args.reps, args.plans)
    print_report(command, rows, start)


if __name__ == "__main__":
    main()
