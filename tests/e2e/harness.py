"""End-to-end harness: real server processes on loopback, a real PostgreSQL database, and
oracles that read the database directly (raw SQL, not the server's own query code)."""

import contextlib
import json
import os
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.loopback import PG_ADMIN_URL as PG_ADMIN_URL  # the e2e tests' names for them
from bench.loopback import REPO as REPO
from bench.loopback import STARTUP_TIMEOUT as STARTUP_TIMEOUT
from bench.loopback import ServerProcess as ServerProcess
from bench.loopback import child_env as child_env
from bench.loopback import descendants as descendants
from bench.loopback import free_port as free_port
from client.transport import Reply, Transport, TransportError

DEMO_PASSWORD = "carerounds-demo"

Key = tuple[str, str]  # (collection, record_id)


def local_ports_to_pg_by_pid(pids: set[int], pg_port: int = 5432) -> dict[int, int]:
    """local TCP port → pid, for the connections these processes hold to PostgreSQL."""
    inode_port: dict[str, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                parts = line.split()
                local, remote, inode = parts[1], parts[2], parts[9]
                if int(remote.rsplit(":", 1)[1], 16) == pg_port:
                    inode_port[inode] = int(local.rsplit(":", 1)[1], 16)
    owners: dict[int, int] = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:["):
                        port = inode_port.get(target[8:-1])
                        if port is not None:
                            owners[port] = pid
    return owners


# HTTP helpers -------------------------------------------------------------------------------


@dataclass
class Login:
    token: str
    device_id: str
    user_id: str
    username: str
    role: str


def login(base: str, username: str, device_id: str | None = None) -> Login:
    device_id = device_id or f"e2e-{username}-{secrets.token_hex(4)}"
    with httpx.Client(base_url=base, timeout=30) as client:
        response = client.post(
            "/api/v1/auth/login",
            json={
                "username": username,
                "password": DEMO_PASSWORD,
                "device_id": device_id,
                "device_name": "e2e 测试手机",
            },
        )
    assert response.status_code == 200, response.text
    body = response.json()
    return Login(body["token"], device_id, body["user"]["id"], username, body["user"]["role"])


@dataclass
class Exchange:
    path: str
    body: dict[str, Any]
    reply: Reply | None
    started: float
    ended: float
    error: str | None = None


@dataclass
class Recorder:
    """A transport wrapper that keeps every request and reply (thread-confined)."""

    inner: Transport
    exchanges: list[Exchange] = field(default_factory=list)

    def post(self, path: str, body: dict[str, Any], token: str | None) -> Reply:
        started = time.monotonic()
        try:
            reply = self.inner.post(path, body, token)
        except TransportError as exc:
            self.exchanges.append(Exchange(path, body, None, started, time.monotonic(), str(exc)))
            raise
        self.exchanges.append(Exchange(path, body, reply, started, time.monotonic()))
        return reply

    def delivered(self, path: str) -> list[Exchange]:
        return [e for e in self.exchanges if e.path == path and e.reply is not None]


class LoseReplyOn:
    """Sends the request, but the `nth` request to `path` (1-based) loses its reply."""

    def __init__(self, inner: Transport, path: str, nth: int) -> None:
        self.inner = inner
        self.path = path
        self.nth = nth
        self.seen = 0

    def post(self, path: str, body: dict[str, Any], token: str | None) -> Reply:
        reply = self.inner.post(path, body, token)
        if path == self.path:
            self.seen += 1
            if self.seen == self.nth:
                raise TransportError("connection reset after the server answered")
        return reply


# The database as the oracle -----------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    seq: int
    fields: dict[str, Any]
    field_hlc: dict[str, str]
    deleted: bool


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def db_records(database_url: str, bucket: str | None = None) -> dict[Key, Row]:
    """Every record of the server (or of one bucket), read with raw SQL."""
    query = "SELECT collection, record_id, seq, fields, field_hlc, deleted FROM records"
    params: tuple[Any, ...] = ()
    if bucket is not None:
        query += " WHERE bucket = %s"
        params = (bucket,)
    with psycopg.connect(database_url, connect_timeout=5) as conn:
        rows = conn.execute(query, params).fetchall()
    return {(c, str(r)): Row(int(s), _json(f), _json(h), bool(d)) for c, r, s, f, h, d in rows}


def db_scalar(database_url: str, query: str, params: tuple[Any, ...] = ()) -> Any:
    with psycopg.connect(database_url, connect_timeout=5) as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def db_changes(database_url: str, device_id: str | None = None) -> list[dict[str, Any]]:
    """The server's change log (of one device), in seq order."""
    query = "SELECT seq, change_id, collection, record_id, device_id, fields FROM changes"
    params: tuple[Any, ...] = ()
    if device_id is not None:
        query += " WHERE device_id = %s"
        params = (device_id,)
    with psycopg.connect(database_url, connect_timeout=5) as conn:
        rows = conn.execute(query + " ORDER BY seq", params).fetchall()
    return [
        {
            "seq": int(s),
            "change_id": str(c),
            "collection": col,
            "record_id": str(r),
            "device_id": d,
            "fields": _json(f),
        }
        for s, c, col, r, d, f in rows
    ]


def local_server_layer(records: list[Any]) -> dict[Key, Row]:
    """PlainStore.server_records() in the oracle's shape."""
    return {
        (r.collection, str(r.record_id)): Row(int(r.seq), r.fields, r.field_hlc, r.deleted)
        for r in records
    }


def assert_same_records(local: dict[Key, Row], server: dict[Key, Row]) -> None:
    missing = sorted(set(server) - set(local))
    extra = sorted(set(local) - set(server))
    assert not missing, f"{len(missing)} server records never reached the device: {missing[:5]}"
    assert not extra, f"{len(extra)} records the server does not hold for it: {extra[:5]}"
    differ = [k for k in server if local[k] != server[k]]
    assert not differ, (
        f"{len(differ)} records differ from the server, e.g. {differ[0]}:\n"
        f"device {local[differ[0]]}\nserver {server[differ[0]]}"
    )


# Rounds to write --------------------------------------------------------------------------


def new_id() -> str:
    return str(uuid.uuid4())


def round_fields(
    area_id: str, cleaner_id: str, item: str, day: str = "2026-11-29", note: str = ""
) -> dict[str, Any]:
    return {
        "area_id": area_id,
        "round_date": day,
        "cleaner_id": cleaner_id,
        f"items.{item}": {"done": True, "at": f"{day}T08:00:00+08:00", "note": note},
    }


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self) -> float:
        return time.monotonic() - self.started
