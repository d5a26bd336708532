"""Fixtures: every database test runs on SQLite and on a throwaway PostgreSQL database.

PostgreSQL is found at CAREROUNDS_TEST_PG_URL (default: the local trust-auth server). Under
CI=true an unreachable PostgreSQL fails the run; elsewhere its half of the tests is skipped
with the reason.
"""

import os
import subprocess

# Cheap password hashes for the test run only (and the servers it starts): argon2 at its
# production cost takes most of a second per sign-in on a 2-core machine.
os.environ.setdefault("CAREROUNDS_ARGON2_TIME_COST", "1")
os.environ.setdefault("CAREROUNDS_ARGON2_MEMORY_KIB", "1024")
os.environ.setdefault("CAREROUNDS_ARGON2_PARALLELISM", "1")
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import settings
from sqlalchemy import text
from sqlmodel import SQLModel

import server.models  # noqa: F401 - the tables TABLES lists
from server.config import Settings
from server.db import make_engine, migrate
from server.main import create_app
from tests.databases import fresh_postgres

# Nothing in the suite times anything, hypothesis's per-example deadline included (a slow
# first example on a busy machine is not a failure). Under CI hypothesis's own profile is
# the parent, but not its `derandomize`: replaying the same examples every run, CI would
# never explore. A failure prints its seed and blob, so it can be replayed.
settings.register_profile(
    "untimed", parent=settings.default, deadline=None, derandomize=False, print_blob=True
)
settings.load_profile("untimed")

# Every table of the models, children before parents, so that nothing an earlier test
# wrote survives into the next (a table added later is reset too). The counter row is
# reset rather than deleted; the server's signing keys are made once per database.
KEPT = {"seq_counter", "server_keys"}
TABLES = tuple(t.name for t in reversed(SQLModel.metadata.sorted_tables) if t.name not in KEPT)


@pytest.fixture(scope="session")
def web_build() -> Path:
    """The PWA, built by the README's own command (`scripts/build-web.sh`): a few minutes
    the first time, a no-op while the client, `shared/` and the pins are unchanged."""
    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        ["scripts/build-web.sh"], cwd=repo, capture_output=True, text=True, timeout=1800
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return repo / "build" / "web"


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    """Where the screenshots go: CAREROUNDS_SCREENSHOTS (e.g. docs/screenshots, from the
    repository root) when set, so a normal run leaves the tracked ones alone."""
    asked = os.environ.get("CAREROUNDS_SCREENSHOTS")
    if not asked:
        return tmp_path / "screenshots"
    folder = Path(asked)
    return folder if folder.is_absolute() else Path(__file__).resolve().parents[1] / folder


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    with fresh_postgres("carerounds_test") as url:
        yield url


def database_url(backend: str, request: pytest.FixtureRequest, folder: Path) -> str:
    if backend == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{folder / 'carerounds.db'}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def migrated(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    folder = tmp_path_factory.mktemp(f"db-{backend}")
    settings = Settings(database_url=database_url(backend, request, folder), data_dir=folder)
    engine = make_engine(settings)
    migrate(settings, engine)
    engine.dispose()
    return settings


@pytest.fixture
def settings(migrated: Settings) -> Settings:
    """Settings for a migrated, empty database of the current backend."""
    engine = make_engine(migrated)
    with engine.begin() as conn:
        for table in TABLES:
            conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - fixed table names
        conn.execute(text("UPDATE seq_counter SET last_seq = 0"))
    engine.dispose()
    return migrated.model_copy()


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client
