"""Servers and databases on this machine, for the benchmarks and the tests alike.

A server is `python -m server.cli ARGS` in a child process of its own process group (so
uvicorn's workers go with it), on a free loopback port, with its output in two files and
an environment of its own: this one's without any CAREROUNDS_* setting, plus the database.
A PostgreSQL database is made empty for one run and dropped (WITH FORCE) after it.
"""

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get(
    "CAREROUNDS_BENCH_PG_URL",
    os.environ.get("CAREROUNDS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
)
STARTUP_TIMEOUT = 90.0  # generous: CI machines are small and shared
STARTED = "Application startup complete"  # uvicorn says it once per worker


class ServerNotReady(RuntimeError):
    """The server exited, or did not answer in time; the message carries its output."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a child process: this one without CAREROUNDS_* (but for the
    password hashes' cost, which the test suite lowers for every server it starts), plus
    the database."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CAREROUNDS_") or k.startswith("CAREROUNDS_ARGON2_")
    }
    env["DATABASE_URL"] = database_url
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


def descendants(root: int) -> set[int]:
    """Processes below `root` (uvicorn's workers), from /proc; none where there is none."""
    children: dict[int, list[int]] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return set()
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


@contextlib.contextmanager
def postgres_database(prefix: str) -> Iterator[str]:
    """The URL of an empty PostgreSQL database of its own, dropped afterwards. Raises
    psycopg.OperationalError when PostgreSQL cannot be reached."""
    import psycopg

    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class ServerProcess:
    """A server child, `ARGV --host 127.0.0.1 --port P` (`server.cli` with `cli`, or uvicorn
    on another app); `stop()` always reaps it and every process it started."""

    def __init__(
        self,
        argv: list[str],
        database_url: str,
        folder: Path,
        *,
        port: int | None = None,
        env: dict[str, str] | None = None,
        name: str = "server",
    ) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        folder.mkdir(parents=True, exist_ok=True)
        self.out_path = folder / f"{name}-{self.port}-{secrets.token_hex(2)}.out"
        self.err_path = self.out_path.with_suffix(".err")
        with self.out_path.open("wb") as out, self.err_path.open("wb") as err:
            self.proc = subprocess.Popen(
                [*argv, "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=folder,  # Settings reads a .env beside the process: there is none here
                env=child_env(database_url, **(env or {})),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,  # its own process group, so workers are reaped too
            )

    @classmethod
    def cli(
        cls, args: list[str], database_url: str, folder: Path, **options: Any
    ) -> "ServerProcess":
        """`python -m server.cli ARGS`, e.g. ["demo"] or ["serve", "--workers", "2"]."""
        return cls([sys.executable, "-m", "server.cli", *args], database_url, folder, **options)

    @classmethod
    def serve(
        cls, database_url: str, folder: Path, *, workers: int, port: int | None = None
    ) -> "ServerProcess":
        """`server.cli serve --workers N`, the way a school runs it, once it answers."""
        args = ["serve", "--workers", str(workers)]
        return cls.cli(args, database_url, folder, port=port, name=f"serve{workers}").ready(workers)

    def stdout(self) -> str:
        return self.out_path.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        return self.err_path.read_text(encoding="utf-8", errors="replace")

    def output(self) -> str:
        return f"--- stdout ---\n{self.stdout()}\n--- stderr ---\n{self.stderr()}"

    def wait_ready(self, *, workers: int = 1, timeout: float = STARTUP_TIMEOUT) -> None:
        """Until it answers /health and each worker has started; else ServerNotReady."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerNotReady(f"server exited with {self.proc.returncode}:\n{self.output()}")
            if self.stderr().count(STARTED) >= workers:
                try:
                    if httpx.get(f"{self.base}/api/v1/health", timeout=2).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
            time.sleep(0.1)
        raise ServerNotReady(f"server not ready after {timeout:.0f} s:\n{self.output()}")

    def ready(self, workers: int = 1) -> "ServerProcess":
        """`wait_ready`; on failure it is stopped before the error goes up."""
        try:
            self.wait_ready(workers=workers)
        except BaseException:
            self.stop()
            raise
        return self

    def worker_pids(self) -> set[int]:
        """The server process and every process below it (uvicorn's workers)."""
        return {self.proc.pid, *descendants(self.proc.pid)}

    def wait_exit(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self, how: signal.Signals = signal.SIGTERM) -> int | None:
        return stop_group(self.proc, how)


def stop_group(
    proc: "subprocess.Popen[bytes]", how: signal.Signals = signal.SIGTERM, grace: float = 15
) -> int | None:
    """Ask a child started in a session of its own to end (`how`), kill it after `grace`
    seconds, then kill whatever of its group is left; its exit code."""
    if proc.poll() is None:
        proc.send_signal(how)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    return proc.returncode
