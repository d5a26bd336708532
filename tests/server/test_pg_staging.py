"""PostgreSQL: a push's rows are copied into staging tables of the transaction's own before
the one statement that checks and writes them. Those tables must be there whenever a
transaction needs them, and never keep a row past it."""

from collections.abc import Iterator

import psycopg
import pytest

from server.config import Settings
from server.db import make_engine, migrate
from server.records import _CHANGE_COLUMNS, _RECORD_COLUMNS, _staging_types


@pytest.fixture
def raw(pg_url: str) -> Iterator[psycopg.Connection]:
    settings = Settings(database_url=pg_url)
    engine = make_engine(settings)
    migrate(settings, engine)  # the session's PostgreSQL database; at head already, maybe
    engine.dispose()
    with psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        yield conn


def _exists(raw: psycopg.Connection) -> bool:
    row = raw.execute("SELECT to_regclass('pg_temp.staged_records')").fetchone()
    return row is not None and row[0] is not None


def test_staging_tables_come_back_after_a_rollback_and_empty_at_commit(
    raw: psycopg.Connection,
) -> None:
    types = _staging_types(raw)  # psycopg opened a transaction
    assert len(types["staged_records"]) == len(_RECORD_COLUMNS)
    assert len(types["staged_changes"]) == len(_CHANGE_COLUMNS)
    raw.rollback()  # a write that failed: the tables made in it are gone too
    assert not _exists(raw)
    assert _staging_types(raw) == types  # made again by the next write
    raw.execute("INSERT INTO staged_records SELECT * FROM records LIMIT 0")
    raw.execute(
        "INSERT INTO staged_changes (seq, change_id, collection, record_id, hlc, fields,"
        " deleted, received_at) VALUES (1, gen_random_uuid(), 'areas', gen_random_uuid(),"
        " 'x', '{}', false, now())"
    )
    raw.commit()
    assert _exists(raw)  # kept by the connection, for its next write
    row = raw.execute("SELECT count(*) FROM staged_changes").fetchone()
    assert row is not None and row[0] == 0  # but no row outlives its transaction
    raw.rollback()
