"""Records as a writer holds them (`RecordRow`, plain values, no ORM state), the tables,
and the small helpers that read records for the rest of the server."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, col, select

from server.models import ChangeLog, Move, PurgedRecord, Record, SeqCounter
from shared.schemas.wire import RecordView

Key = tuple[str, uuid.UUID]

RECORDS: sa.Table = Record.__table__  # type: ignore[attr-defined]
CHANGES: sa.Table = ChangeLog.__table__  # type: ignore[attr-defined]
MOVES: sa.Table = Move.__table__  # type: ignore[attr-defined]
COUNTER: sa.Table = SeqCounter.__table__  # type: ignore[attr-defined]
PURGED: sa.Table = PurgedRecord.__table__  # type: ignore[attr-defined]
_CHUNK = 500  # keys per IN (...) query
_COLUMNS = tuple(c.name for c in RECORDS.columns)


@dataclass(slots=True)
class RecordRow:
    """A record as a writer holds it: plain values, no ORM state."""

    collection: str
    record_id: uuid.UUID
    fields: dict[str, Any]
    field_hlc: dict[str, str]
    field_meta: dict[str, Any]
    deleted: bool
    seq: int
    bucket: str
    scope_collection: str
    created_by: uuid.UUID | None
    created_at: datetime
    updated_by: uuid.UUID | None
    updated_at: datetime

    @property
    def key(self) -> Key:
        return (self.collection, self.record_id)


@lru_cache(maxsize=1024)
def _parsed_uuid(text: str) -> uuid.UUID:
    return uuid.UUID(text)


def as_uuid(value: Any) -> uuid.UUID:
    """A field's value as the UUID it names (a batch names the same few many times);
    ValueError when it names none."""
    return _parsed_uuid(str(value))


class _UuidList(sa.types.TypeDecorator[list[uuid.UUID]]):
    """UUIDs as one parameter: PostgreSQL's `uuid[]`, SQLite's JSON list of the hex it
    stores them as."""

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.ARRAY(sa.Uuid()))
        return dialect.type_descriptor(sa.Text())

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None or dialect.name == "postgresql":
            return value
        return orjson.dumps([u.hex for u in value]).decode()


class _InIds(FunctionElement[Any]):
    """`column IN ids` with the ids as one parameter (`ids_in`)."""

    type = sa.types.NullType()  # no "= 1" after it (SQLite would not search by it)
    name = "in_ids"
    inherit_cache = True


@compiles(_InIds, "sqlite")
def _in_ids_sqlite(element: _InIds, compiler: Any, **kw: Any) -> str:
    column, ids = element.clauses
    listed = compiler.process(ids, **kw)
    column_sql = compiler.process(column, **kw)
    return f"{column_sql} IN (SELECT value FROM json_each({listed}))"  # noqa: S608 - compiled


@compiles(_InIds)
def _in_ids_array(element: _InIds, compiler: Any, **kw: Any) -> str:
    column, ids = element.clauses
    return f"{compiler.process(column, **kw)} = ANY({compiler.process(ids, **kw)})"


def ids_in(column: Any, ids: Iterable[uuid.UUID]) -> Any:
    """`column IN ids` (a UUID column) with the ids as one parameter, however many: no
    statement of hundreds of parameters to render and bind one by one."""
    return _InIds(column, sa.bindparam(None, list(ids), type_=_UuidList(), unique=True))


def _keys_in(keys: Iterable[Key], table: sa.Table = RECORDS) -> Any:
    """`(collection, record_id) IN keys` on `table` (records, or another keyed by them) as
    one indexable search per collection (SQLite scans the whole table for a row-value IN)."""
    ids: dict[str, list[uuid.UUID]] = {}
    for collection, record_id in keys:
        ids.setdefault(collection, []).append(record_id)
    return sa.or_(
        *(
            sa.and_(table.c.collection == collection, ids_in(table.c.record_id, some))
            for collection, some in ids.items()
        )
    )


def _row(db: Any) -> RecordRow:
    return RecordRow(
        db.collection,
        db.record_id,
        db.fields,
        db.field_hlc,
        db.field_meta,
        db.deleted,
        db.seq,
        db.bucket,
        db.scope_collection,
        db.created_by,
        db.created_at,
        db.updated_by,
        db.updated_at,
    )


def as_record(row: RecordRow) -> Record:
    """A detached `Record` (never added to a session) with the row's values."""
    return Record(
        collection=row.collection,
        record_id=row.record_id,
        fields=row.fields,
        field_hlc=row.field_hlc,
        field_meta=row.field_meta,
        deleted=row.deleted,
        seq=row.seq,
        bucket=row.bucket,
        scope_collection=row.scope_collection,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


def live(session: Session, collection: str) -> list[Record]:
    """The records of a collection that are not deleted, oldest first."""
    return list(
        session.exec(
            select(Record)
            .where(Record.collection == collection, col(Record.deleted).is_(False))
            .order_by(col(Record.seq))
        )
    )


def get_live(session: Session, collection: str, record_id: uuid.UUID) -> Record | None:
    record = session.get(Record, (collection, record_id))
    return None if record is None or record.deleted else record


def view(record: Record) -> RecordView:
    return RecordView(
        collection=record.collection,
        record_id=record.record_id,
        seq=record.seq,
        fields=record.fields,
        deleted=record.deleted,
        updated_by=record.updated_by,
        updated_at=record.updated_at,
    )
