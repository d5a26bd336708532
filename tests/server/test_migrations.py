"""The latest migration and the models agree, on SQLite and on PostgreSQL."""

import uuid

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from server.config import Settings
from server.db import alembic_config, make_engine, migrate


def test_models_match_latest_migration(settings: Settings) -> None:
    engine = make_engine(settings)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    assert diff == []


def test_migrate_is_idempotent_and_reversible(settings: Settings) -> None:
    # On a throwaway schema copy of the same backend: down to nothing, then up again.
    engine = make_engine(settings)
    migrate(settings, engine)  # already at head: nothing to do, no error
    config = alembic_config(settings)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(settings, engine)
    assert {"users", "records", "changes", "seq_counter"} <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        assert conn.execute(text("SELECT last_seq FROM seq_counter WHERE id = 1")).scalar() == 0
    engine.dispose()


def test_records_purged_before_the_purged_ids_were_kept_are_known(settings: Settings) -> None:
    """Migration 0003: a record with a move and no row was deleted by the purge (records
    leave the server no other way); its id is written into `purged_records`."""
    engine = make_engine(settings)
    config = alembic_config(settings)
    kept, purged = uuid.uuid4(), uuid.uuid4()
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0002_moves_from_bucket_seq")
            for record_id, bucket in ((kept, "class:a"), (purged, "archive:class:a")):
                conn.execute(
                    text(
                        "INSERT INTO moves (seq, collection, record_id, from_bucket,"
                        " scope_collection) VALUES (1, 'sick_cases', :id, :bucket, 'sick_cases')"
                    ),
                    {
                        "id": record_id if conn.dialect.name == "postgresql" else record_id.hex,
                        "bucket": bucket,
                    },
                )
            conn.execute(
                text(
                    "INSERT INTO records (collection, record_id, fields, field_hlc, field_meta,"
                    " deleted, seq, bucket, scope_collection, created_at, updated_at)"
                    " VALUES ('sick_cases', :id, '{}', '{}', '{}', false, 1, 'archive:class:a',"
                    " 'sick_cases', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"id": kept if conn.dialect.name == "postgresql" else kept.hex},
            )
        migrate(settings, engine)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT collection, record_id FROM purged_records")).all()
        assert [(c, uuid.UUID(str(r))) for c, r in rows] == [("sick_cases", purged)]
    finally:
        with engine.begin() as conn:
            for table in ("purged_records", "moves", "records"):
                conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - fixed names
        engine.dispose()
