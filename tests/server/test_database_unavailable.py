"""While the database is away the server answers `503 database_unavailable` with
`Retry-After` (never a 500), saves nothing half-way, and serves again once the database is
back, without a restart.

PostgreSQL is taken away through a TCP gate between the app and the database
(`bench.tcp_gate`): the machine's PostgreSQL, which other tests share, runs on.
"""

import logging
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from psycopg import errors as pg_errors
from sqlalchemy import exc as sa
from sqlmodel import Session

from bench.tcp_gate import TcpGate
from server import accounts, demo
from server.config import Settings
from server.db import make_engine, migrate
from server.failures import database_unavailable
from server.main import create_app
from server.sync import push as push_module
from shared.hlc import Clock
from shared.schemas.vocabulary import Role
from tests.databases import fresh_postgres
from tests.factories import auth, signed_in

SECRET = "Hush-3b1e-never-logged"


# Which errors mean "the database is away" ---------------------------------------------------


def _wrapped(orig: BaseException, invalidated: bool = False) -> sa.DBAPIError:
    """The error as SQLAlchemy raises it from a driver's error."""
    return sa.OperationalError.instance(
        "SELECT 1", {}, orig, Exception, connection_invalidated=invalidated
    )


def _locked_sqlite_error(tmp_path: Path) -> sqlite3.OperationalError:
    """A real "database is locked", from a second writer with no busy timeout."""
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        return exc
    finally:
        other.close()
        holder.close()
    raise AssertionError("the second writer was not refused")


def test_what_counts_as_the_database_away(tmp_path: Path) -> None:
    try:
        psycopg.connect("postgresql://nobody@127.0.0.1:1/none", connect_timeout=2)
    except psycopg.OperationalError as exc:
        refused = exc
    away = [
        _wrapped(refused),  # connection refused
        _wrapped(pg_errors.AdminShutdown("terminating connection")),  # 57P01
        _wrapped(pg_errors.CannotConnectNow("the database system is starting up")),  # 57P03
        _wrapped(pg_errors.ConnectionFailure("connection failure")),  # class 08
        _wrapped(pg_errors.TooManyConnections("too many clients")),
        _wrapped(psycopg.InterfaceError("the connection is closed")),
        _wrapped(Exception("whatever the driver said"), invalidated=True),
        sa.DisconnectionError("connection lost"),
        sa.TimeoutError("QueuePool limit reached, connection timed out"),
        _wrapped(_locked_sqlite_error(tmp_path)),
    ]
    for error in away:
        assert database_unavailable(error), repr(error)
    # Raised while handling one (a rollback after a lost connection fails too).
    try:
        try:
            raise _wrapped(pg_errors.AdminShutdown("terminating connection"))
        except sa.OperationalError:
            raise RuntimeError("cleanup failed") from None
    except RuntimeError as chained:
        assert database_unavailable(chained)
    # What a statement got wrong is not the database being away.
    wrong = [
        _wrapped(pg_errors.UndefinedTable("no such table")),
        _wrapped(pg_errors.DeadlockDetected("deadlock")),  # an OperationalError subclass
        _wrapped(pg_errors.PipelineAborted("pipeline aborted")),  # no SQLSTATE either
        _wrapped(sqlite3.OperationalError("no such table: x")),
        sa.IntegrityError("INSERT", {}, Exception("duplicate key")),
        ValueError("bad"),
    ]
    for error in wrong:
        assert not database_unavailable(error), repr(error)


def test_sqlite_locked_past_its_busy_timeout_is_a_503(
    client: TestClient,
    app: FastAPI,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Either backend: an error that says the database is away, from a route, is a 503."""
    _, lead = signed_in(client, app, Role.LEAD)
    locked = _locked_sqlite_error(tmp_path)

    def failing_create(session: Session, body: Any) -> None:
        raise sa.OperationalError("INSERT INTO users", {"p": body.password}, locked)

    monkeypatch.setattr(accounts, "create_user", failing_create)
    caplog.set_level(logging.DEBUG)
    user = {"username": "x2", "display_name": SECRET, "role": "cleaner", "password": SECRET}
    response = client.post("/api/v1/admin/users", json=user, headers=lead)
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == str(app.state.settings.retry_after_seconds)
    assert response.json()["error"]["code"] == "database_unavailable"
    assert response.headers["x-request-id"] in response.json()["error"]["message"]
    logged = caplog.text + "".join(str(r.args) + str(r.exc_info) for r in caplog.records)
    assert SECRET not in logged
    assert "database unavailable: OperationalError" in caplog.text


def test_retry_after_is_a_setting(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREROUNDS_RETRY_AFTER_SECONDS", "17")
    assert Settings().retry_after_seconds == 17
    app = create_app(settings.model_copy(update={"retry_after_seconds": 2}))
    try:

        def away(*_args: Any, **_kwargs: Any) -> None:
            raise _wrapped(pg_errors.AdminShutdown("terminating connection"))

        monkeypatch.setattr(accounts, "login", away)
        with TestClient(app) as client:
            response = client.post(
                "/api/v1/auth/login",
                json={"username": "a", "password": "b", "device_id": "d", "device_name": "n"},
            )
        assert response.status_code == 503
        assert response.headers["retry-after"] == "2"
    finally:
        app.state.engine.dispose()


def test_openapi_declares_the_503() -> None:
    app = create_app(Settings(database_url="sqlite:///:memory:"))
    document = app.openapi()
    for path, operations in document["paths"].items():
        for operation in operations.values():
            responses = operation["responses"]
            if path == "/api/v1/health":
                assert "503" not in responses
                continue
            assert "503" in responses, path
            assert "Retry-After" in responses["503"]["headers"]


# PostgreSQL taken away and brought back -------------------------------------------------------

DEMO_PASSWORD = "carerounds-demo"


@pytest.fixture
def gated() -> Iterator[tuple[FastAPI, TcpGate, str]]:
    """The app on a fresh PostgreSQL database with the demo school, reached through a
    gate; and the URL straight to the database, for checking."""
    with fresh_postgres("carerounds_gate") as url:
        direct_settings = Settings(database_url=url)
        direct = make_engine(direct_settings)
        try:
            migrate(direct_settings, direct)
            with Session(direct) as session:
                demo.seed(session, Clock("gate-seed"))
        finally:
            direct.dispose()
        gate, gated_url = TcpGate.for_url(url)
        app = create_app(Settings(database_url=gated_url, retry_after_seconds=3))
        try:
            yield app, gate, url
        finally:
            app.state.engine.dispose()
            gate.stop()


def _scalar(url: str, query: str, *params: Any) -> Any:
    with psycopg.connect(url, connect_timeout=5) as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def _logged(url: str, device_id: str) -> list[str]:
    with psycopg.connect(url, connect_timeout=5) as conn:
        rows = conn.execute(
            "SELECT change_id FROM changes WHERE device_id = %s", (device_id,)
        ).fetchall()
    return [str(r[0]) for r in rows]


def _sign_in(client: TestClient, username: str, device_id: str) -> Any:
    return client.post(
        "/api/v1/auth/login",
        json={
            "username": username,
            "password": DEMO_PASSWORD,
            "device_id": device_id,
            "device_name": "gate 测试手机",
        },
    )


def _rounds(area_id: str, user_id: str, device_id: str, n: int) -> list[dict[str, Any]]:
    clock = Clock(device_id)
    return [
        {
            "change_id": str(uuid.uuid4()),
            "collection": "disinfection_rounds",
            "record_id": str(uuid.uuid4()),
            "hlc": clock.now(),
            "base_seq": None,
            "fields": {
                "area_id": area_id,
                "round_date": "2026-11-29",
                "cleaner_id": user_id,
                "items.open_windows": {"done": True, "at": "2026-11-29T08:00:00+08:00"},
            },
            "deleted": False,
        }
        for _ in range(n)
    ]


def _expect_503(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "3"
    assert response.json()["error"]["code"] == "database_unavailable"


def test_postgresql_away_is_503_and_the_server_recovers(
    gated: tuple[FastAPI, TcpGate, str],
) -> None:
    app, gate, _ = gated
    with TestClient(app) as client:
        lead_login = _sign_in(client, "lead", "gate-lead")
        assert lead_login.status_code == 200, lead_login.text
        lead = auth(lead_login.json()["token"])
        me = auth(_sign_in(client, "cleaner1", "gate-phone-1").json()["token"])
        pull = {"device_id": "gate-phone-1", "cursor": None, "limit": 100}
        report = "/api/v1/reports/today"
        assert client.post("/api/v1/sync/pull", json=pull, headers=me).status_code == 200
        assert client.get(report, headers=lead).status_code == 200
        assert gate.relayed > 0

        # The database goes away (its connections cut, new ones refused): sign-in, pull,
        # reports and administration are each a 503, none a 500.
        gate.close()
        _expect_503(client.post("/api/v1/sync/pull", json=pull, headers=me))
        _expect_503(_sign_in(client, "cleaner2", "gate-phone-2"))
        _expect_503(client.get("/api/v1/admin/users", headers=lead))
        _expect_503(client.get(report, headers=lead))
        _expect_503(client.post("/api/v1/sync/pull", json=pull, headers=me))  # again
        assert gate.cut > 0 and gate.refused > 0
        assert client.get("/api/v1/health").status_code == 200  # needs no database

        # Back: the same app, not restarted, answers again on new connections.
        relayed = gate.relayed
        gate.open()
        assert client.post("/api/v1/sync/pull", json=pull, headers=me).status_code == 200
        assert client.get("/api/v1/admin/users", headers=lead).status_code == 200
        assert client.get(report, headers=lead).status_code == 200
        assert _sign_in(client, "cleaner2", "gate-phone-2").status_code == 200
        assert gate.relayed > relayed


def test_a_push_cut_off_from_the_database_saves_nothing_and_applies_once_later(
    gated: tuple[FastAPI, TcpGate, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, gate, url = gated
    device = "gate-pusher"
    with TestClient(app) as client:
        signed = _sign_in(client, "cleaner1", device).json()
        me, user_id = auth(signed["token"]), signed["user"]["id"]
        area = str(_scalar(url, "SELECT record_id FROM records WHERE collection = 'areas'"))
        body = {"device_id": device, "changes": _rounds(area, user_id, device, 20)}
        seq_before = _scalar(url, "SELECT last_seq FROM seq_counter")
        planned = push_module._plan

        def plan_then_lose_the_database(*args: Any) -> Any:
            results = planned(*args)
            gate.close()  # read and checked: the database goes before the write
            return results

        monkeypatch.setattr(push_module, "_plan", plan_then_lose_the_database)
        _expect_503(client.post("/api/v1/sync/push", json=body, headers=me))
        monkeypatch.setattr(push_module, "_plan", planned)
        gate.open()
        # Nothing of it was saved, and no change number was used up.
        assert _logged(url, device) == []
        assert _scalar(url, "SELECT last_seq FROM seq_counter") == seq_before

        # Sent again (as the phone does), it is applied, each change once.
        again = client.post("/api/v1/sync/push", json=body, headers=me)
        assert again.status_code == 200, again.text
        assert {r["status"] for r in again.json()["results"]} == {"applied"}
        again = client.post("/api/v1/sync/push", json=body, headers=me)
        assert {r["status"] for r in again.json()["results"]} == {"duplicate"}
    assert sorted(_logged(url, device)) == sorted(c["change_id"] for c in body["changes"])


def test_connections_to_postgresql_carry_keepalives_and_a_connect_timeout(pg_url: str) -> None:
    """A host that vanishes without closing its connections is found dead (keepalives);
    a host that does not answer is given up on (connect_timeout): both end in a 503."""
    engine = make_engine(Settings(database_url=pg_url, db_connect_timeout_seconds=7))
    try:
        with engine.connect() as connection:
            raw = connection.connection.dbapi_connection
            assert isinstance(raw, psycopg.Connection)
            parameters = raw.info.get_parameters()
    finally:
        engine.dispose()
    assert parameters["keepalives"] == "1"
    assert parameters["keepalives_idle"] == "30"
    assert parameters["connect_timeout"] == "7"
    # What the URL says wins.
    engine = make_engine(Settings(database_url=f"{pg_url}?keepalives_idle=60"))
    try:
        with engine.connect() as connection:
            raw = connection.connection.dbapi_connection
            assert isinstance(raw, psycopg.Connection)
            assert raw.info.get_parameters()["keepalives_idle"] == "60"
    finally:
        engine.dispose()
