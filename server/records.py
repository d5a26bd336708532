"""Writing synced records: one path for the lead's administration and for device pushes.

A `RecordWriter` is one transaction's worth of writes. Every change it writes gets a
change number (`seq`) from the single `seq_counter` row, and the no-gap cursor rests on
one rule: **seqs become visible in commit order** (a reader that sees seq N has already
seen every seq below N). A writer therefore takes the counter's row lock (an UPDATE of the
row: PostgreSQL's row lock; on SQLite, the UPDATE is the transaction's first write, so it
is also the moment the transaction becomes the one writer) and holds it until it commits.

What the lock must cover is only the short write phase. A writer may be opened unlocked
(`lock=False`, what a device's push does): it notes the committed counter value S0 first,
then reads the records it needs (without the lock), and the caller validates and merges
everything with provisional change numbers (`PROVISIONAL + k`). Then `lock()` takes the
counter lock, reading its value S1. Every write to a record sets the record's `seq` to a
new number, so anything committed between the unlocked reads and the lock is exactly the
records with `seq > S0`; they are read back in one indexed query. `stale()` says which of
them this writer had read at another version (or had read as absent): if there are none,
the plan stands, and `finish()` renumbers it S1 + k (records, their per-register
`field_meta`, the change log, moves) and writes it with one executemany per table. If any
read went stale, the caller `restart()`s the plan under the lock, with the stale records
read again, so the merge and every check see the records as they are now. Writers opened
with `lock=True` (the lead's administration, roster imports, demo seeding) take the lock
first, number from S1 directly and never go stale.

A read done before the lock is never trusted on its own: on PostgreSQL (READ COMMITTED)
the statements after the lock see every commit before it; on SQLite the driver does not
open a transaction for SELECTs, so the unlocked reads hold no snapshot, and the lock's
UPDATE begins the write transaction on the newest data.

The lock is still held from the counter UPDATE to the commit, so seqs are handed out in
commit order: the guarantee is unchanged, only the time the lock is held is shorter.
"""

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import text, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col, select

from server.models import ChangeLog, Move, Record, User, utcnow
from server.sync import scopes
from server.sync.merge_rule import IncomingChange, Loss, RecordState, apply
from shared.hlc import Clock
from shared.schemas.collections import COLLECTIONS
from shared.schemas.vocabulary import Role
from shared.schemas.wire import RecordView

Key = tuple[str, uuid.UUID]

# Change numbers given before the lock is taken; `finish` renumbers them from the counter.
# Far above any real seq, so "written after what the device had seen" stays true of them.
PROVISIONAL = 1 << 60

RECORDS: sa.Table = Record.__table__  # type: ignore[attr-defined]
CHANGES: sa.Table = ChangeLog.__table__  # type: ignore[attr-defined]
MOVES: sa.Table = Move.__table__  # type: ignore[attr-defined]
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


@dataclass
class Interference:
    """What other writers committed between a writer's first read (S0) and its lock (S1)."""

    since: int
    upto: int
    # Records written in between, with their seq now.
    records: dict[Key, int] = field(default_factory=dict)

    @property
    def any(self) -> bool:
        return self.upto != self.since

    def collections(self) -> set[str]:
        return {collection for collection, _ in self.records}


class RecordWriter:
    """Merges changes into records and logs them, numbering each from the locked counter."""

    def __init__(self, session: Session, clock: Clock, *, lock: bool = True) -> None:
        self.session = session
        self.clock = clock
        self.locked = False
        self.moved = False  # a write moved a record to another bucket
        # What was read from the database (None: no such record), the stale-check's basis.
        self._db: dict[Key, RecordRow | None] = {}
        # What this writer wrote, newest version per record; the change log and moves.
        self._rows: dict[Key, RecordRow] = {}
        self._changes: list[dict[str, Any]] = []
        self._moves: list[dict[str, Any]] = []
        self._users: dict[uuid.UUID, User | None] = {}
        self._written: list[Key] = []  # keys written, in order (repeats included)
        self._records: dict[Key, Record] = {}  # see `get`
        self._used = 0  # numbers handed out: base + 1 ... base + used
        self._now = utcnow()
        if lock:
            self.first_seen = self._take_lock()
            self._base = self.first_seen
        else:
            # The committed counter before any read: whatever the reads miss is numbered
            # above it.
            self.first_seen = int(
                session.execute(text("SELECT last_seq FROM seq_counter WHERE id = 1")).scalar_one()
            )
            self._base = PROVISIONAL
        self.last_seq = self.first_seen  # the counter's value once locked
        self.locked_at = self.first_seen  # S1: provisional numbers are renumbered from it

    # The lock -----------------------------------------------------------------------------

    def _take_lock(self) -> int:
        self.locked = True
        return int(
            self.session.execute(
                text("UPDATE seq_counter SET last_seq = last_seq WHERE id = 1 RETURNING last_seq")
            ).scalar_one()
        )

    def lock(self) -> Interference:
        """Take the change-number lock (held to commit); what was committed since S0."""
        if self.locked:
            return Interference(self.first_seen, self.last_seq)
        self.last_seq = self.locked_at = self._take_lock()
        seen = Interference(self.first_seen, self.last_seq)
        if seen.any:
            rows = self.session.execute(
                sa.select(RECORDS.c.collection, RECORDS.c.record_id, RECORDS.c.seq).where(
                    RECORDS.c.seq > self.first_seen
                )
            )
            seen.records = {(c, r): s for c, r, s in rows}
        return seen

    def stale(self, seen: Interference) -> set[Key]:
        """The records this writer read at a version other than the one committed now."""
        out: set[Key] = set()
        for key, seq in seen.records.items():
            if key in self._db:
                held = self._db[key]
                if held is None or held.seq != seq:
                    out.add(key)
        return out

    def restart(self, forget: Iterable[Key] = ()) -> None:
        """Drop everything written so far (not yet in the database) and read `forget` anew.

        Only under the lock: the new plan is numbered from the counter directly.
        """
        if not self.locked:
            raise RuntimeError("restart a writer's plan only under the lock")
        for key in forget:
            self._db.pop(key, None)
        self._rows.clear()
        self._written.clear()
        self._changes.clear()
        self._moves.clear()
        self._users.clear()
        self._used = 0
        self._base = self.last_seq
        self.moved = False

    def final_seq(self, seq: int) -> int:
        """The number a (possibly provisional) seq of this writer's plan is written with."""
        return seq - PROVISIONAL + self.locked_at if seq > PROVISIONAL else seq

    def next_seq(self) -> int:
        self._used += 1
        return self._base + self._used

    # Reads --------------------------------------------------------------------------------

    def preload(self, keys: Iterable[Key]) -> None:
        """Fetch many records in one query."""
        wanted = [k for k in set(keys) if k not in self._db and k not in self._rows]
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            rows = self.session.execute(
                sa.select(RECORDS).where(
                    tuple_(RECORDS.c.collection, RECORDS.c.record_id).in_(chunk)
                )
            )
            found = {(r.collection, r.record_id): _row(r) for r in rows}
            for key in chunk:
                self._db[key] = found.get(key)

    def row(self, collection: str, record_id: uuid.UUID) -> RecordRow | None:
        """The record as this transaction will leave it so far (None: there is none)."""
        key = (collection, record_id)
        pending = self._rows.get(key)
        if pending is not None:
            return pending
        if key not in self._db:
            db = self.session.execute(
                sa.select(RECORDS).where(
                    RECORDS.c.collection == collection, RECORDS.c.record_id == record_id
                )
            ).first()
            self._db[key] = _row(db) if db is not None else None
        return self._db[key]

    def live_row(self, collection: str, record_id: uuid.UUID) -> RecordRow | None:
        record = self.row(collection, record_id)
        return None if record is None or record.deleted else record

    # The administration's code works with `Record` objects: the session's own when it has
    # loaded the record (kept up to date with what this writer writes, as the ORM did),
    # else one the writer keeps. None is ever flushed: the writer writes the rows itself.

    def get(self, collection: str, record_id: uuid.UUID) -> Record | None:
        """`row` as a `Record`, for the administration's code."""
        record = self.row(collection, record_id)
        return self._record(record) if record is not None else None

    def get_live(self, collection: str, record_id: uuid.UUID) -> Record | None:
        record = self.live_row(collection, record_id)
        return self._record(record) if record is not None else None

    def _record(self, row: RecordRow) -> Record:
        held = self.session.identity_map.get(identity_key(Record, row.key))
        if held is None:
            held = self._records.get(row.key)
        if held is None:
            self._records[row.key] = record = as_record(row)
            return record
        for name in _COLUMNS:
            set_committed_value(held, name, getattr(row, name))
        assert isinstance(held, Record)
        return held

    def user(self, user_id: uuid.UUID) -> User | None:
        if user_id not in self._users:
            self._users[user_id] = self.session.get(User, user_id)
        return self._users[user_id]

    def user_is(self, user_id: uuid.UUID, roles: set[Role]) -> bool:
        user = self.user(user_id)
        return user is not None and user.active and Role(user.role) in roles

    # Writes -------------------------------------------------------------------------------

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
        """`write_row`, answered with a `Record`, for the administration's code."""
        mark = len(self._written)
        row, losses = self.write_row(
            collection,
            record_id,
            fields,
            hlc=hlc,
            author=author,
            device_id=device_id,
            base_seq=base_seq,
            deleted=deleted,
            change_id=change_id,
        )
        for key in self._written[mark:]:  # conflict records and moved records too
            if key != row.key and (
                key in self._records or identity_key(Record, key) in self.session.identity_map
            ):
                self._record(self._rows[key])
        return self._record(row), losses

    def write_row(
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
    ) -> tuple[RecordRow, list[Loss]]:
        """Merge one validated change into its record, log it, keep what it made lose."""
        spec = COLLECTIONS[collection]
        old = self.row(collection, record_id)
        state = (
            RecordState(old.fields, old.field_hlc, old.field_meta, old.deleted)
            if old is not None
            else RecordState()
        )
        seq = self.next_seq()
        change = IncomingChange(fields, hlc, author, base_seq, seq, deleted)
        new_state, losses = apply(state, change, spec.map_fields)
        if old is None:
            record = RecordRow(
                collection,
                record_id,
                new_state.fields,
                new_state.field_hlc,
                new_state.field_meta,
                new_state.deleted,
                seq,
                "",
                collection,
                author,
                self._now,
                author,
                self._now,
            )
        else:
            record = RecordRow(
                collection,
                record_id,
                new_state.fields,
                new_state.field_hlc,
                new_state.field_meta,
                new_state.deleted,
                seq,
                old.bucket,
                old.scope_collection,
                old.created_by,
                old.created_at,
                author,
                self._now,
            )
        if collection != "conflicts":
            record.bucket = self._bucket(record)
        self._rows[record.key] = record
        self._written.append(record.key)
        self._changes.append(
            {
                "seq": seq,
                "change_id": change_id or uuid.uuid4(),
                "collection": collection,
                "record_id": record_id,
                "user_id": author,
                "device_id": device_id,
                "hlc": hlc,
                "fields": dict(fields),
                "deleted": deleted,
                "received_at": self._now,
            }
        )
        if old is not None and old.bucket and old.bucket != record.bucket:
            self._moved(record, old.bucket)
        for loss in losses:
            self._keep_conflict(record, loss)
        return record, losses

    def _bucket(self, record: RecordRow) -> str:
        case_bucket = None
        if record.collection == "follow_ups":
            case = self.row("sick_cases", uuid.UUID(str(record.fields.get("case_id"))))
            case_bucket = case.bucket if case is not None else None
        return scopes.bucket_for(
            record.collection, record.record_id, record.fields, record.created_by, case_bucket
        )

    def _add_move(self, record: RecordRow, old_bucket: str) -> None:
        self._moves.append(
            {
                "seq": record.seq,
                "collection": record.collection,
                "record_id": record.record_id,
                "from_bucket": old_bucket,
                "scope_collection": record.scope_collection,
            }
        )

    def _moved(self, record: RecordRow, old_bucket: str) -> None:
        self.moved = True
        self._add_move(record, old_bucket)
        # What lives where this record lives follows it: a case's follow-ups, and the
        # conflict records about any of them. Each gets a new number, so that the devices
        # that now read the bucket receive it.
        there: dict[Key, RecordRow] = {}
        for db in self.session.execute(sa.select(RECORDS).where(RECORDS.c.bucket == old_bucket)):
            key = (db.collection, db.record_id)
            if key not in self._db:
                self._db[key] = _row(db)
            current = self.row(*key)
            if current is not None:
                there[key] = current
        for key, pending in self._rows.items():
            there[key] = pending  # written by this writer, maybe not in the database yet
        for other in list(there.values()):
            if other.bucket != old_bucket:
                continue
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
                moved = RecordRow(
                    other.collection,
                    other.record_id,
                    other.fields,
                    other.field_hlc,
                    other.field_meta,
                    other.deleted,
                    self.next_seq(),
                    record.bucket,
                    other.scope_collection,
                    other.created_by,
                    other.created_at,
                    other.updated_by,
                    other.updated_at,
                )
                self._rows[moved.key] = moved
                self._written.append(moved.key)
                self._add_move(moved, old_bucket)

    def _keep_conflict(self, record: RecordRow, loss: Loss) -> None:
        # Named by what lost, so the same race found twice is one conflict record.
        conflict_id = uuid.uuid5(
            uuid.NAMESPACE_URL,
            f"carerounds:{record.collection}/{record.record_id}/{loss.field}/{loss.loser.hlc}",
        )
        if self.row("conflicts", conflict_id) is not None:
            return
        fields = {
            "collection": record.collection,
            "record_id": str(record.record_id),
            "field": loss.field,
            "winner": loss.winner.as_json(),
            "loser": loss.loser.as_json(),
            "settled_by": None,
        }
        conflict, _ = self.write_row(
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

    def finish(self) -> None:
        """Write everything (one statement per table) and the last number used.

        The caller commits, which releases the lock.
        """
        if not self.locked:
            raise RuntimeError("take the lock (and check what went stale) before finishing")
        if self._used == 0:
            return
        renumber = self._base == PROVISIONAL
        final = self.final_seq
        records = []
        for row in self._rows.values():
            meta = row.field_meta
            if renumber:
                meta = {
                    k: ({**v, "seq": final(v["seq"])} if v.get("seq", 0) > PROVISIONAL else v)
                    for k, v in meta.items()
                }
            records.append(
                {
                    "collection": row.collection,
                    "record_id": row.record_id,
                    "fields": row.fields,
                    "field_hlc": row.field_hlc,
                    "field_meta": meta,
                    "deleted": row.deleted,
                    "seq": final(row.seq),
                    "bucket": row.bucket,
                    "scope_collection": row.scope_collection,
                    "created_by": row.created_by,
                    "created_at": row.created_at,
                    "updated_by": row.updated_by,
                    "updated_at": row.updated_at,
                }
            )
        if renumber:
            for entry in self._changes:
                entry["seq"] = final(entry["seq"])
            for move in self._moves:
                move["seq"] = final(move["seq"])
        session = self.session
        for start in range(0, len(records), _CHUNK):
            session.execute(_upsert(session), records[start : start + _CHUNK])
        for start in range(0, len(self._changes), _CHUNK):
            session.execute(sa.insert(CHANGES), self._changes[start : start + _CHUNK])
        if self._moves:
            session.execute(sa.insert(MOVES), self._moves)
        self.last_seq += self._used
        session.execute(
            text("UPDATE seq_counter SET last_seq = :n WHERE id = 1"), {"n": self.last_seq}
        )
        # Written: the plan now describes the database (what a later read would give).
        for row in self._rows.values():
            row.seq = final(row.seq)
        self._base = self.last_seq
        self._db.update(self._rows)
        self._rows.clear()
        self._written.clear()
        self._changes.clear()
        self._moves.clear()
        self._used = 0


_UPDATED = (
    "fields",
    "field_hlc",
    "field_meta",
    "deleted",
    "seq",
    "bucket",
    "scope_collection",
    "updated_by",
    "updated_at",
)


def _upsert(session: Session) -> Any:
    """INSERT … ON CONFLICT (collection, record_id) DO UPDATE, for this dialect."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(RECORDS)
    return stmt.on_conflict_do_update(
        index_elements=[RECORDS.c.collection, RECORDS.c.record_id],
        set_={name: stmt.excluded[name] for name in _UPDATED},
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
