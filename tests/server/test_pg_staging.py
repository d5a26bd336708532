"""PostgreSQL: a push's rows are copied into staging tables of the transaction's own before
the one statement that checks and writes them. Those tables must be there whenever a
transaction needs them, and never keep a row past it; what goes through them is stored
exactly as a small plan's JSON parameters store it."""

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session

from server.config import Settings
from server.db import make_engine, migrate
from server.records import _CHANGE_COLUMNS, _RECORD_COLUMNS, _staging_types, statements
from tests.server.test_sync_push import a_round
from tests.sync_support import Phone, new_id, small_school


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


# What COPY's formats or JSON treat as other than themselves, in values a device may send.
AWKWARD = 'a\\b\tc\nd e \\N \\. 消毒 "quoted" 🙂'


def test_rows_staged_by_copy_are_stored_as_the_json_parameters_store_them(
    client: TestClient, app: FastAPI, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend != "postgresql":
        pytest.skip("staging is PostgreSQL's")
    school = small_school(app)
    phone = Phone(client, "cleaner1")
    stored: list[list[Any]] = []
    for copy_from in (0, 10**9):  # by COPY, then as JSON parameters
        monkeypatch.setattr(statements, "COPY_FROM_ROWS", copy_from)
        rid = new_id()
        fields = a_round(school, phone, note=AWKWARD)
        fields["items.windows"] = {"done": False, "note": AWKWARD, "skipped": "other"}
        [done] = phone.push(phone.change("disinfection_rounds", rid, fields))
        assert done["status"] == "applied", done
        with Session(app.state.engine) as session:
            record = session.execute(
                text(
                    "SELECT r.fields::text, r.field_hlc::text, r.field_meta::text, r.deleted,"
                    " r.bucket, r.scope_collection, r.created_by, r.created_at, r.updated_by,"
                    " r.updated_at, c.fields::text, c.user_id, c.device_id, c.deleted,"
                    " c.received_at - r.created_at, c.hlc = r.field_hlc->>'note'"
                    " FROM records r JOIN changes c ON c.seq = r.seq WHERE r.record_id = :rid"
                ),
                {"rid": rid},
            ).one()
        row = list(record)
        row[1] = json.loads(row[1]).keys()  # each register's clock is the change's own
        row[2] = [{**m, "seq": None} for m in json.loads(row[2]).values()]
        row[7] = row[9] = None  # the time each was received
        stored.append(row)
    by_copy, by_json = stored
    assert by_copy == by_json
    assert json.loads(by_copy[0])["note"] == AWKWARD
