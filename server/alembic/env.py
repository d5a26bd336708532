"""Alembic environment: runs on the connection `server.db.migrate` hands over."""

from typing import Any, Literal

from alembic import context
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import server.models as models

target_metadata = SQLModel.metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Write our column types as plain SQLAlchemy types, so migrations never import app code."""
    if type_ == "type" and isinstance(obj, models.UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
        with engine.begin() as conn:
            _configure_and_run(conn)
        return
    _configure_and_run(connection)


def _configure_and_run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_item=render_item,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
