"""Writing synced records: one path for the lead's administration and for device pushes."""

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from server.models import ChangeLog, Record, utcnow
from server.sync.merge import merge
from shared.schemas.collections import COLLECTIONS
from shared.schemas.wire import RecordView


def allocate_seq(session: Session, count: int = 1) -> int:
    """Reserve `count` change numbers and return the last one.

    The UPDATE locks the counter row until the transaction ends, so two transactions
    can never hold numbers out of commit order: a reader never sees seq 11 before 10.
    """
    last = session.execute(
        text("UPDATE seq_counter SET last_seq = last_seq + :n WHERE id = 1 RETURNING last_seq"),
        {"n": count},
    ).scalar_one()
    return int(last)


def write(
    session: Session,
    collection: str,
    record_id: uuid.UUID,
    fields: Mapping[str, Any],
    *,
    hlc: str,
    author: uuid.UUID | None,
    device_id: str | None,
    deleted: bool = False,
    change_id: uuid.UUID | None = None,
) -> Record:
    """Merge one validated change into a record and log it; the caller commits."""
    spec = COLLECTIONS[collection]
    record = session.get(Record, (collection, record_id))
    if record is None:
        record = Record(
            collection=collection,
            record_id=record_id,
            fields={},
            field_hlc={},
            seq=0,
            created_by=author,
        )
    outcome = merge(record.fields, record.field_hlc, fields, hlc, spec.map_fields)
    seq = allocate_seq(session)
    record.fields, record.field_hlc = outcome.fields, outcome.field_hlc
    record.deleted = record.deleted or deleted
    record.seq, record.updated_by, record.updated_at = seq, author, utcnow()
    session.add(record)
    session.add(
        ChangeLog(
            seq=seq,
            change_id=change_id or uuid.uuid4(),
            collection=collection,
            record_id=record_id,
            user_id=author,
            device_id=device_id,
            hlc=hlc,
            fields=dict(fields),
            deleted=deleted,
        )
    )
    return record


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
