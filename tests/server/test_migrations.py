"""The latest migration and the models agree, on SQLite and on PostgreSQL."""

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
