"""End-to-end fixtures: a fresh PostgreSQL database per test, the demo school seeded into
it in-process, and real server processes serving it on loopback.

PostgreSQL is found at CAREROUNDS_TEST_PG_URL (default: the local trust-auth server). Under
CI=true an unreachable PostgreSQL fails these tests; elsewhere they are skipped with the
reason.
"""

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import psycopg
import pytest
from sqlmodel import Session

from server import demo
from server.config import Settings
from server.db import make_engine, migrate
from shared.hlc import Clock
from tests.e2e.harness import PG_ADMIN_URL, ServerProcess


def _pg_unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"PostgreSQL not reachable ({reason}); set CAREROUNDS_TEST_PG_URL")


@pytest.fixture
def e2e_database_url() -> Iterator[str]:
    """An empty PostgreSQL database of this test's own, dropped (WITH FORCE) afterwards."""
    name = f"carerounds_e2e_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        _pg_unavailable(str(exc).strip().splitlines()[0])
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def demo_database_url(e2e_database_url: str) -> str:
    """The fresh database, migrated, with the demo school seeded (as `server.cli demo`)."""
    settings = Settings(database_url=e2e_database_url)
    engine = make_engine(settings)
    try:
        migrate(settings, engine)
        with Session(engine) as session:
            assert demo.is_empty(session)
            demo.seed(session, Clock("e2e-seed"))
    finally:
        engine.dispose()
    return e2e_database_url


@pytest.fixture
def server_folder(tmp_path: Path) -> Path:
    """The server's working directory: no .env there, its logs go there."""
    folder = tmp_path / "server"
    folder.mkdir()
    return folder


@pytest.fixture
def live_server(demo_database_url: str, server_folder: Path) -> Iterator[ServerProcess]:
    """`server.cli serve --workers 4` on the demo school, on a free loopback port."""
    server = ServerProcess.serve(demo_database_url, server_folder, workers=4)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def small_server(demo_database_url: str, server_folder: Path) -> Iterator[ServerProcess]:
    """The same with two workers, for the fault tests (faster to start on two cores)."""
    server = ServerProcess.serve(demo_database_url, server_folder, workers=2)
    try:
        yield server
    finally:
        server.stop()
