"""Writing synced records: one path for the lead's administration and for device pushes.

A `RecordWriter` is one transaction's worth of writes. It takes the change-number lock
first (an UPDATE of the single `seq_counter` row), holds it to commit, and numbers every
change it writes from it. So writers are serialized and change numbers are handed out in
commit order: a reader that sees seq N has already seen every seq below N. This is the
no-gap cursor's guarantee, by construction (PostgreSQL row lock; SQLite's single writer).
"""

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import text, tuple_
from sqlmodel import Session, col, select

from server.models import ChangeLog, Move, Record, utcnow
from server.sync import scopes
from server.sync.merge_rule import IncomingChange, Loss, RecordState, apply
from shared.hlc import Clock
from shared.schemas.collections import COLLECTIONS
from shared.schemas.wire import RecordView

Key = tuple[str, uuid.UUID]


class RecordWriter:
    """Merges changes into records and logs them, numbering each from the locked counter."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock
        # Taking the lock is the transaction's first write, so on SQLite it is also the
        # moment this transaction becomes the writer (no stale read snapshot before it).
        self.last_seq = int(
            session.execute(
                text("UPDATE seq_counter SET last_seq = last_seq WHERE id = 1 RETURNING last_seq")
            ).scalar_one()
        )
        self._cache: dict[Key, Record | None] = {}

    def preload(self, keys: Iterable[Key]) -> None:
        """Fetch many records in one query."""
        wanted = [k for k in set(keys) if k not in self._cache]
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = self.session.exec(
                select(Record).where(
                    tuple_(col(Record.collection), col(Record.record_id)).in_(chunk)
                )
            )
            found = {(r.collection, r.record_id): r for r in rows}
            for key in chunk:
                self._cache[key] = found.get(key)

    def get(self, collection: str, record_id: uuid.UUID) -> Record | None:
        key = (collection, record_id)
        if key not in self._cache:
            self._cache[key] = self.session.get(Record, key)
        return self._cache[key]

    def get_live(self, collection: str, record_id: uuid.UUID) -> Record | None:
        record = self.get(collection, record_id)
        return None if record is None or record.deleted else record

    def next_seq(self) -> int:
        self.last_seq += 1
        return self.last_seq

    def write(
        self,
        collection: str,
        record_id: uuid.UUID,
        fields: Mapping[str, Any],
        *,
        hlc: str,
        author: uuid.UUID | None,
        device_id: str | None,
        base_seq: int | None = None,
        deleted: bool = False,
        change_id: uuid.UUID | None = None,
    ) -> tuple[Record, list[Loss]]:
        """Merge one validated change into its record, log it, keep what it made lose."""
        spec = COLLECTIONS[collection]
        record = self.get(collection, record_id)
        state = (
            RecordState(
                dict(record.fields), dict(record.field_hlc), dict(record.field_meta), record.deleted
            )
            if record is not None
            else RecordState()
        )
        seq = self.next_seq()
        change = IncomingChange(fields, hlc, author, base_seq, seq, deleted)
        new_state, losses = apply(state, change, spec.map_fields)
        if record is None:
            record = Record(
                collection=collection,
                record_id=record_id,
                fields={},
                field_hlc={},
                field_meta={},
                seq=seq,
                bucket="",
                scope_collection=collection,
                created_by=author,
            )
            self._cache[(collection, record_id)] = record
        old_bucket = record.bucket
        record.fields, record.field_hlc = new_state.fields, new_state.field_hlc
        record.field_meta, record.deleted = new_state.field_meta, new_state.deleted
        record.seq, record.updated_by, record.updated_at = seq, author, utcnow()
        if collection != "conflicts":
            record.bucket = self._bucket(record)
        self.session.add(record)
        self.session.add(
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
        if old_bucket and old_bucket != record.bucket:
            self._moved(record, old_bucket)
        for loss in losses:
            self._keep_conflict(record, loss)
        return record, losses

    def _bucket(self, record: Record) -> str:
        case_bucket = None
        if record.collection == "follow_ups":
            case = self.get("sick_cases", uuid.UUID(str(record.fields.get("case_id"))))
            case_bucket = case.bucket if case is not None else None
        return scopes.bucket_for(
            record.collection, record.record_id, record.fields, record.created_by, case_bucket
        )

    def _moved(self, record: Record, old_bucket: str) -> None:
        self.session.add(
            Move(
                seq=record.seq,
                collection=record.collection,
                record_id=record.record_id,
                from_bucket=old_bucket,
                scope_collection=record.scope_collection,
            )
        )
        # What lives where this record lives follows it: a case's follow-ups, and the
        # conflict records about any of them. Each gets a new number, so that the devices
        # that now read the bucket receive it.
        for other in self.session.exec(select(Record).where(Record.bucket == old_bucket)):
            follows = (
                other.collection == "follow_ups"
                and record.collection == "sick_cases"
                and other.fields.get("case_id") == str(record.record_id)
            ) or (
                other.collection == "conflicts"
                and other.fields.get("record_id") == str(record.record_id)
                and other.scope_collection == record.collection
            )
            if follows:
                other.seq = self.next_seq()
                other.bucket = record.bucket
                self.session.add(other)
                self._moved(other, old_bucket)

    def _keep_conflict(self, record: Record, loss: Loss) -> None:
        # Named by what lost, so the same race found twice is one conflict record.
        conflict_id = uuid.uuid5(
            uuid.NAMESPACE_URL,
            f"carerounds:{record.collection}/{record.record_id}/{loss.field}/{loss.loser.hlc}",
        )
        if self.get("conflicts", conflict_id) is not None:
            return
        fields = {
            "collection": record.collection,
            "record_id": str(record.record_id),
            "field": loss.field,
            "winner": loss.winner.as_json(),
            "loser": loss.loser.as_json(),
            "settled_by": None,
        }
        conflict, _ = self.write(
            "conflicts",
            conflict_id,
            fields,
            hlc=self.clock.now(),
            author=None,
            device_id=None,
        )
        conflict.bucket = record.bucket
        conflict.scope_collection = record.collection
        conflict.created_by = record.created_by
        self.session.add(conflict)

    def finish(self) -> None:
        """Store the last number used; the caller commits, which releases the lock."""
        self.session.execute(
            text("UPDATE seq_counter SET last_seq = :n WHERE id = 1"), {"n": self.last_seq}
        )
        self.session.flush()


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
