"""Engine, sessions and migrations: SQLite by default, PostgreSQL when configured."""

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from server.config import Settings

ALEMBIC_DIR = Path(__file__).parent / "alembic"
# Any fixed number works; it only has to be the same in every server process.
MIGRATION_LOCK_ID = 0x43415245  # "CARE"
# SQLite copies its write-ahead log into the database (a checkpoint, with an fsync) in the
# commit that finds the log longer than this. Its default, 1,000 pages, made every push of
# a few hundred records pay for one: a third of a push's time. A served process leaves
# that to `WalCheckpointer`; this is only the backstop, should it fall behind.
WAL_BACKSTOP_PAGES = 20_000
WAL_SIZE_LIMIT = 64 * 1024 * 1024  # bytes the log file is cut back to once copied


def make_engine(settings: Settings) -> Engine:
    """An engine tuned for the configured database."""
    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        db_path = url.removeprefix("sqlite:///")
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
            hide_parameters=True,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url,
        # A connection is tried before each use, and one that broke (the database restarted,
        # the network dropped it) is replaced: the server recovers by itself once the
        # database is back. A disconnect seen mid-statement also empties the pool.
        pool_pre_ping=True,
        connect_args=_pg_connect_args(url, settings),
        pool_size=10,
        max_overflow=10,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        # An error's text (and SQLAlchemy's log) never quotes a statement's values: they
        # are records, and sometimes a password hash.
        hide_parameters=True,
    )


# TCP keepalives on every connection: a database host that vanishes without closing the
# connection (a power cut, a dropped network path) is found dead within about a minute and
# the request answered 503, instead of waiting on the socket for the system's two hours.
_KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}


def _pg_connect_args(url: str, settings: Settings) -> dict[str, Any]:
    """A bound on waiting for a new connection (unless the URL sets its own): with none, a
    request would hang while the database's host does not answer, instead of a 503; and
    keepalives (unless the URL sets them)."""
    args: dict[str, Any] = {k: v for k, v in _KEEPALIVES.items() if f"{k}=" not in url}
    if "connect_timeout=" not in url:
        args["connect_timeout"] = settings.db_connect_timeout_seconds
    return args


def _json_dumps(value: Any) -> str:
    # The JSON columns hold record values: orjson is several times faster than json.
    return orjson.dumps(value).decode()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    # WAL lets readers run beside the one writer; NORMAL is durable across app crashes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_BACKSTOP_PAGES}")
    cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
    cursor.close()


class WalCheckpointer:
    """Copies SQLite's write-ahead log into the database in a background thread, every
    `interval` seconds, so that no request waits for it (SQLite releases the GIL while it
    copies and syncs). Passive: it never blocks a reader or the writer, and copies what it
    can. On PostgreSQL, or an in-memory database, it does nothing."""

    def __init__(self, engine: Engine, interval: float = 0.5) -> None:
        self.engine = engine
        self.interval = interval
        database = engine.url.database
        self.active = engine.dialect.name == "sqlite" and database not in (None, "", ":memory:")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def checkpoint(self, mode: str = "PASSIVE") -> tuple[int, int, int]:
        """One checkpoint: (1 if it could not finish, pages in the log, pages copied)."""
        if mode not in ("PASSIVE", "TRUNCATE"):
            raise ValueError(f"unknown checkpoint mode {mode!r}")
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(f"PRAGMA wal_checkpoint({mode})")
            row = cursor.fetchone()
            cursor.close()
        finally:
            connection.close()
        busy, log, copied = row or (1, -1, -1)  # SQLite always answers one row
        return int(busy), int(log), int(copied)

    def start(self) -> None:
        if not self.active or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoints", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and leave the database whole in its file (the log emptied)."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        # Busy (a reader holds the log): SQLite copies it when the last connection closes.
        with suppress(sqlite3.Error):
            self.checkpoint("TRUNCATE")

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.checkpoint()
            except (sqlite3.Error, SQLAlchemyError):
                continue  # busy, locked or no connection free now: the next round copies it


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    config.set_main_option("sqlalchemy.url", settings.sqlalchemy_url.replace("%", "%%"))
    return config


def migrate(settings: Settings, engine: Engine | None = None) -> None:
    """Bring the database to the latest migration; safe when several servers start at once."""
    engine = engine or make_engine(settings)
    config = alembic_config(settings)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Held until this transaction ends, so a second process waits, then finds
            # nothing left to do.
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls back when it raises."""
    with Session(engine) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
