"""What the sync benchmarks share: fresh databases, server processes, sign-ins, memory.

Everything runs on 127.0.0.1. A server is `python -m server.cli serve` in a child process
of its own (its own process group, so its workers are reaped with it); its peak memory is
read from /proc/<pid>/status (VmHWM), which `reset_peak` sets back to the current RSS
between phases (Linux's clear_refs, value 5).
"""

import contextlib
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench.loopback import PG_ADMIN_URL, ServerProcess, descendants, postgres_database
from bench.loopback import REPO as REPO  # the scripts' names for them
from bench.loopback import free_port as free_port

DEMO_PASSWORD = "carerounds-demo"  # noqa: S105 - the demo school's published password
# Sign-in is not what is measured: cheap password hashes keep 50 sign-ins from taking a
# minute on 2 cores. The seeding process and every server child use the same settings,
# so no hash is upgraded (re-hashed) at the first sign-in.
CHEAP_ARGON2 = {
    "CAREROUNDS_ARGON2_TIME_COST": "1",
    "CAREROUNDS_ARGON2_MEMORY_KIB": "1024",
    "CAREROUNDS_ARGON2_PARALLELISM": "1",
}


def use_cheap_password_hashes() -> None:
    """Call before importing `server`: its password hasher reads these at import."""
    for key, value in CHEAP_ARGON2.items():
        os.environ.setdefault(key, value)


# Memory --------------------------------------------------------------------------------------


def _status_kb(pid: int | str, key: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def peak_rss_mb(pid: int | str = "self") -> float:
    """The process's peak resident memory (VmHWM) in MB; from getrusage off Linux."""
    kb = _status_kb(pid, "VmHWM")
    if kb == 0 and pid == "self":
        import resource

        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024


def rss_mb(pid: int | str = "self") -> float:
    return _status_kb(pid, "VmRSS") / 1024


def _stat(pid: int | str) -> tuple[str, list[str]]:
    """(command name, the fields after it) of /proc/<pid>/stat; OSError if it is gone."""
    head, tail = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)
    return head.partition("(")[2], tail.split()


def _cpu(fields: list[str]) -> float:
    # utime and stime are fields 14 and 15 of stat; [0] here is field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc; 0 if unknown.

    Unlike wall time, it barely moves when other work shares the cores.
    """
    try:
        return _cpu(_stat(pid)[1])
    except (OSError, IndexError, ValueError):
        return 0.0


def postgres_cpu_seconds() -> dict[int, float]:
    """CPU time of each PostgreSQL process of this machine (its backends and helpers),
    by pid: the difference of two readings (`cpu_between`) is what the database did."""
    found = {}
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            name, fields = _stat(proc.name)
            if name == "postgres":
                found[int(proc.name)] = _cpu(fields)
    return found


def cpu_between(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two `postgres_cpu_seconds` readings (a process that
    started meanwhile counts whole; one that ended meanwhile, up to the first reading)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def reset_peak(pid: int | str = "self") -> None:
    """Set VmHWM back to the current RSS, so the next reading is this phase's peak."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


# Databases -----------------------------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    """The URL of an empty database of this run's own: a SQLite file in `folder`, or a
    PostgreSQL database created here and dropped (WITH FORCE) afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'carerounds.db'}"
        return
    with postgres_database("carerounds_bench") as url:
        yield url


def postgres_reachable() -> bool:
    import psycopg

    try:
        psycopg.connect(PG_ADMIN_URL, connect_timeout=3).close()
    except psycopg.OperationalError:
        return False
    return True


def query(database_url: str, sql: str) -> list[Any]:
    """The rows of one SQL statement, read straight from the benchmark's database."""
    from sqlalchemy import text

    from server.config import Settings
    from server.db import make_engine

    engine = make_engine(Settings(database_url=database_url))
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)).all())
    finally:
        engine.dispose()


def rounds_in(database_url: str) -> int:
    """The disinfection rounds the database holds (the demo school seeds a few days')."""
    [(count,)] = query(
        database_url, "SELECT count(*) FROM records WHERE collection = 'disinfection_rounds'"
    )
    return int(count)


def seed_demo(database_url: str) -> None:
    """Migrate the empty database and seed the demo school into it (as `server.cli demo`)."""
    use_cheap_password_hashes()
    from sqlmodel import Session

    from server import demo
    from server.config import Settings
    from server.db import make_engine, migrate
    from shared.hlc import Clock

    settings = Settings(database_url=database_url)
    engine = make_engine(settings)
    try:
        migrate(settings, engine)
        with Session(engine) as session:
            demo.seed(session, Clock("bench-seed"))
    finally:
        engine.dispose()


# Server processes ----------------------------------------------------------------------------


class Server(ServerProcess):
    """`python -m server.cli serve --workers N` (cheap password hashes), ready to use."""

    def __init__(self, database_url: str, folder: Path, workers: int = 1) -> None:
        argv = [sys.executable, "-m", "server.cli", "serve", "--workers", str(workers)]
        super().__init__(argv, database_url, folder, env=CHEAP_ARGON2)
        self.workers = workers
        self.ready(workers)

    def pids(self) -> list[int]:
        """The processes that serve requests: the workers, or the one process."""
        below = sorted(descendants(self.proc.pid))
        if self.workers > 1:
            # uvicorn's supervisor starts the workers (and a resource tracker, which is small).
            return below or [self.proc.pid]
        return [self.proc.pid]

    def reset_peak(self) -> None:
        for pid in self.pids():
            reset_peak(pid)

    def peak_mb(self) -> float:
        """The largest peak RSS among the serving processes."""
        return max((peak_rss_mb(pid) for pid in self.pids()), default=0.0)

    def cpu_seconds(self) -> float:
        """CPU the serving processes have used so far (not the database's)."""
        return sum(cpu_seconds(pid) for pid in self.pids())

    def total_peak_mb(self) -> float:
        return sum(peak_rss_mb(pid) for pid in self.pids())

    def stop(self, how: signal.Signals = signal.SIGINT) -> int | None:
        return super().stop(how)


def login(base: str, username: str, device_id: str) -> dict[str, Any]:
    """Sign in as a demo user on `device_id`: the token and the user."""
    response = httpx.post(
        f"{base}/api/v1/auth/login",
        json={
            "username": username,
            "password": DEMO_PASSWORD,
            "device_id": device_id,
            "device_name": "bench 测试手机",
        },
        timeout=60,
    )
    if response.status_code != 200:
        raise RuntimeError(f"sign-in of {username} failed: {response.status_code} {response.text}")
    body: dict[str, Any] = response.json()
    return body


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (`share` in 0..1) of `values`; 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(share * len(ordered))))
    return ordered[rank - 1]


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    memory_kb = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "bench": "machine",
        "nproc": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "python": sys.version.split()[0],
        "load_1m": round(load[0], 2),
    }


# Profiles ------------------------------------------------------------------------------------


def py_spy() -> str | None:
    """py-spy beside this interpreter (pip install py-spy into the venv), or on PATH."""
    import shutil

    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


class Profiler:
    """py-spy sampling running processes into a collapsed-stack file until `stop()`.

    Read the result with `python -m bench.profile_top FILE`.
    """

    def __init__(
        self, pids: list[int], output: Path, *, idle: bool = False, gil: bool = False
    ) -> None:
        tool = py_spy()
        if tool is None:
            raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
        output.parent.mkdir(parents=True, exist_ok=True)
        self.output = output
        self.procs = [
            subprocess.Popen(
                [
                    tool,
                    "record",
                    "--nonblocking",
                    "--format",
                    "raw",
                    "--rate",
                    "200",
                    "-o",
                    str(output.with_suffix(f".{pid}.txt")) if len(pids) > 1 else str(output),
                    "--pid",
                    str(pid),
                    *(["--idle"] if idle else []),
                    *(["--gil"] if gil else []),  # only the thread holding the interpreter
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for pid in pids
        ]
        time.sleep(0.5)  # attached before the work starts

    def stop(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGINT)
        for proc in self.procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def profiled_argv(argv: list[str], output: Path) -> list[str]:
    """`argv` run under py-spy, writing collapsed stacks to `output`."""
    tool = py_spy()
    if tool is None:
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    output.parent.mkdir(parents=True, exist_ok=True)
    return [tool, "record", "--format", "raw", "--rate", "200", "-o", str(output), "--", *argv]
