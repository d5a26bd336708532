"""SQLite's write-ahead log is copied into the database by a background thread, not by the
commits of pushes; the backstop still bounds it if that thread falls behind."""

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from server.config import Settings
from server.db import WAL_BACKSTOP_PAGES, WalCheckpointer, make_engine


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Engine:
    engine = make_engine(Settings(database_url=f"sqlite:///{tmp_path / 'wal.db'}"))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
    return engine


def _write(engine: Engine, rows: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO notes (body) VALUES (:body)"),
            [{"body": "消毒 " * 200} for _ in range(rows)],
        )


def _log_bytes(tmp_path: Path) -> int:
    wal = tmp_path / "wal.db-wal"
    return wal.stat().st_size if wal.exists() else 0


def test_every_connection_leaves_checkpoints_to_the_backstop(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        pages = conn.execute(text("PRAGMA wal_autocheckpoint")).scalar_one()
    assert pages == WAL_BACKSTOP_PAGES
    sqlite_engine.dispose()


def test_a_checkpoint_copies_the_log_and_stop_empties_it(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    _write(sqlite_engine, 300)
    checkpoints = WalCheckpointer(sqlite_engine)
    assert checkpoints.active
    busy, log, copied = checkpoints.checkpoint()
    assert busy == 0 and log > 0 and copied == log
    _write(sqlite_engine, 10)
    checkpoints.start()
    checkpoints.stop()  # the last copy truncates the log file
    assert _log_bytes(tmp_path) == 0
    with sqlite_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM notes")).scalar_one() == 310
    sqlite_engine.dispose()


def test_the_thread_copies_what_commits_leave_and_outlives_a_busy_round(
    sqlite_engine: Engine,
) -> None:
    checkpoints = WalCheckpointer(sqlite_engine, interval=0.01)
    copied = threading.Event()
    original = checkpoints.checkpoint
    rounds: list[str] = []

    def watched(mode: str = "PASSIVE") -> tuple[int, int, int]:
        rounds.append(mode)
        if len(rounds) == 1:
            raise sqlite3.OperationalError("database is locked")
        result = original(mode)
        if result[2] > 0:
            copied.set()
        return result

    checkpoints.checkpoint = watched  # type: ignore[method-assign]
    checkpoints.start()
    try:
        _write(sqlite_engine, 100)
        assert copied.wait(timeout=60), "the background thread never copied the log"
    finally:
        checkpoints.stop()
    sqlite_engine.dispose()


def test_an_unknown_mode_is_refused(sqlite_engine: Engine) -> None:
    with pytest.raises(ValueError, match="unknown checkpoint mode"):
        WalCheckpointer(sqlite_engine).checkpoint("RESTART; DROP TABLE notes")
    sqlite_engine.dispose()
