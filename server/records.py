"""Writing synced records: one path for the lead's administration and for device pushes.

A `RecordWriter` is one transaction's worth of writes. Every change it writes gets a
change number (`seq`) from the single `seq_counter` row, and the no-gap cursor rests on
one rule: **seqs become visible in commit order** (a reader that sees seq N has already
seen every seq below N). So a writer takes the counter's row lock (PostgreSQL: a row lock;
SQLite: the counter UPDATE is the transaction's first write, so it is also the moment the
transaction becomes the one writer) and holds it until it commits. The counter is read
and bumped under that lock, in the same transaction as the rows numbered from it.

The lock need only cover the short write phase. A device's push opens its writer unlocked
(`lock=False`):
1. It reads the committed counter, S0, before anything else, then reads the records the
   batch touches or points at (batched), validates and merges every change, numbering
   them S0 + 1, S0 + 2, ... as if nobody else committed meanwhile. No lock is held.
2. `lock_and_finish()` takes the lock. Every write of a record sets the record's `seq` to
   a new number, so what others committed since step 1 is exactly the records with
   `seq > S0`. If the counter still reads S0 (the usual case with one device) the plan is
   written at once: on PostgreSQL the rows are first copied (COPY) into staging tables
   of the transaction's own, then lock, check and write are one statement (one INSERT
   per table from its staging table, only if the locked counter equals S0); on SQLite an
   executemany per table.
3. Otherwise nothing is written yet; the records committed meanwhile are read (one
   indexed query on `seq`) and `stale()` tells which of them this writer had read at
   another version, or read as absent. None: the plan stands and `finish()` moves its
   numbers up to follow the counter (records, the `field_meta` entries it made, the log,
   moves) and writes it. Some: the caller `restart()`s, checking and merging the batch
   again under the lock on the records as they are now (only those are read again).
4. The caller commits, which releases the lock.

Writers opened with `lock=True` (the lead's administration, roster imports, demo seeding)
take the lock first and never go stale; they may read between writes (moves, deletes).

A read made before the lock is never trusted on its own, so no stale snapshot can leak in:
on PostgreSQL (READ COMMITTED) the statements after the lock see every earlier commit; on
SQLite the driver opens no transaction for SELECTs, so the unlocked reads hold no snapshot
and the lock's UPDATE begins the write transaction on the newest data.
"""

import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from operator import attrgetter, itemgetter
from typing import Any

import orjson
import sqlalchemy as sa
from psycopg.pq import TransactionStatus
from psycopg.types.json import Json, set_json_dumps
from sqlalchemy import text
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col, select

from server.models import ChangeLog, Move, Record, SeqCounter, User, utcnow
from server.sync import scopes
from server.sync.merge_rule import IncomingChange, Loss, RecordState, apply
from shared import retention
from shared.hlc import Clock
from shared.schemas.collections import COLLECTIONS, SCHOOL_SETTINGS_ID
from shared.schemas.vocabulary import Role
from shared.schemas.wire import RecordView

Key = tuple[str, uuid.UUID]
# What lives, and is archived, with a case: the collection of its case.
_CASE_OF = {follower: case for case, follower in scopes.ARCHIVED_CASES.items()}

RECORDS: sa.Table = Record.__table__  # type: ignore[attr-defined]
CHANGES: sa.Table = ChangeLog.__table__  # type: ignore[attr-defined]
MOVES: sa.Table = Move.__table__  # type: ignore[attr-defined]
COUNTER: sa.Table = SeqCounter.__table__  # type: ignore[attr-defined]
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


def _keys_in(keys: list[Key]) -> Any:
    """`(collection, record_id) IN keys` as one primary-key search per collection (SQLite
    scans the whole table for a row-value IN)."""
    ids: dict[str, list[uuid.UUID]] = {}
    for collection, record_id in keys:
        ids.setdefault(collection, []).append(record_id)
    return sa.or_(
        *(
            sa.and_(RECORDS.c.collection == collection, RECORDS.c.record_id.in_(some))
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

    def __init__(
        self, session: Session, clock: Clock, *, lock: bool = True, now: datetime | None = None
    ) -> None:
        self.session = session
        self.clock = clock
        self.locked = False
        self.moved = False  # a write moved a record to another bucket
        self.postgresql = session.get_bind().dialect.name == "postgresql"
        # What was read from the database (None: no such record), the stale-check's basis.
        self._db: dict[Key, RecordRow | None] = {}
        # What this writer wrote, newest version per record; the change log and moves.
        self._rows: dict[Key, RecordRow] = {}
        self._changes: list[dict[str, Any]] = []
        self._moves: list[dict[str, Any]] = []
        # The field_meta entries this writer made, each holding one of its numbers.
        self._stamped: list[dict[str, Any]] = []
        self._users: dict[uuid.UUID, User | None] = {}
        self._written: list[Key] = []  # keys written, in order (repeats included)
        self._read_buckets: set[str] = set()  # read whole by `_in_bucket`
        self._records: dict[Key, Record] = {}  # see `get`
        # The plan is numbered base + 1 ... base + used, base being the counter as the
        # plan's reads found it (as if nobody commits before it is written).
        self._base: int | None = None
        self._used = 0
        self._shift = 0  # what the plan's numbers were moved up by since they were given
        self._now = now or utcnow()  # what is written as received now, and ages are counted to
        if lock:
            self._base = self._take_lock()
        elif self.postgresql:
            # Each read sees the newest commits; the write is one statement, its own
            # transaction, so the lock is held only while PostgreSQL runs it.
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})

    # The lock -----------------------------------------------------------------------------

    def _take_lock(self) -> int:
        self.locked = True
        return int(
            self.session.execute(
                text("UPDATE seq_counter SET last_seq = last_seq WHERE id = 1 RETURNING last_seq")
            ).scalar_one()
        )

    def _anchor(self) -> int:
        """The counter the plan is numbered from, read before the first record is."""
        if self._base is None:
            self._base = int(
                self.session.execute(
                    sa.select(COUNTER.c.last_seq).where(COUNTER.c.id == 1)
                ).scalar_one()
            )
        return self._base

    def lock(self) -> Interference:
        """Take the change-number lock, held until the commit; what was committed since
        the plan's reads. Follow with `rebase` when something was."""
        base = self._anchor()
        if self.locked:
            return Interference(base, base)
        if self.postgresql:
            self.session.commit()  # leave autocommit: the lock is held by a transaction
        counter = self._take_lock()
        return self._since(base, counter)

    def _since(self, base: int, counter: int | None = None) -> Interference:
        """What was committed after `base`: the counter now and the records written."""
        seen = Interference(base, base)
        if counter == base:
            return seen
        query = (
            sa.select(COUNTER.c.last_seq, RECORDS.c.collection, RECORDS.c.record_id, RECORDS.c.seq)
            .select_from(COUNTER.outerjoin(RECORDS, RECORDS.c.seq > base))
            .where(COUNTER.c.id == 1)
        )
        for last_seq, collection, record_id, seq in self.session.execute(query):
            seen.upto = last_seq  # one statement: the counter and the records agree
            if collection is not None:
                seen.records[(collection, record_id)] = seq
        return seen

    def write_if_current(self, watch: Collection[str] = ()) -> Interference | None:
        """PostgreSQL, unlocked writer: write and commit the plan, if no record it read has
        changed since (nor, when it moved records, anything at all; nor any record of the
        `watch` collections); else write nothing, say what was committed.

        The plan's rows are staged first, unlocked. Then the lock is taken, the plan
        checked and written, and the transaction committed by statements sent together (a
        pipeline), so PostgreSQL holds the lock only while it runs them, never while Python
        runs. Follow an interference with `rebase`, then try
        again (or `lock`). None: written and committed (or nothing to write).
        """
        base = self._anchor()
        if self._used == 0:
            return None
        staged = self._staged()
        params = self._pg_params(watch, staged=staged)
        raw = self._driver()
        try:
            if staged:
                raw.execute("BEGIN")
                self._stage(raw)  # before the lock: only this transaction sees the rows
            with raw.pipeline():
                if not staged:
                    raw.execute("BEGIN")
                raw.execute(_PG_LOCK)
                result = raw.execute(_PG_WRITE[staged], params)
                raw.execute("COMMIT")
            ok, counter = result.fetchone()
        except BaseException:
            if raw.info.transaction_status != TransactionStatus.IDLE:
                raw.execute("ROLLBACK")
            raise
        if ok:
            self._renumber(counter)
            self._written_out()
            return None
        return self._since(base)

    def _driver(self) -> Any:
        """The psycopg connection under the session's."""
        return self.session.connection().connection.driver_connection

    def stale(self, seen: Interference) -> set[Key]:
        """The records this writer read at a version other than the one committed now."""
        out: set[Key] = set()
        for key, seq in seen.records.items():
            if key in self._db:
                held = self._db[key]
                if held is None or held.seq != seq:
                    out.add(key)
        return out

    def rebase(self, seen: Interference, *, replan: bool) -> None:
        """Follow the counter to `seen.upto`: move the plan's numbers up, or (`replan`)
        drop the plan, and forget the records committed meanwhile so they are read anew."""
        if replan:
            again = [key for key in seen.records if key in self._db]
            for key in again:
                del self._db[key]
            self._forget_plan()
            self._users.clear()
            self._shift = 0
            self.moved = False
            self._base = seen.upto
            self.preload(again)
            return
        self._renumber(seen.upto)

    def _renumber(self, base: int) -> None:
        """Number the plan from `base` instead."""
        shift = base - self._anchor()
        if shift == 0:
            return
        for row in self._rows.values():
            row.seq += shift
        for stamp in self._stamped:
            stamp["seq"] += shift
        for entry in self._changes:
            entry["seq"] += shift
        for move in self._moves:
            move["seq"] += shift
        self._base = base
        self._shift += shift

    def _forget_plan(self) -> None:
        self._rows.clear()
        self._written.clear()
        self._changes.clear()
        self._moves.clear()
        self._stamped.clear()
        self._used = 0

    def final_seq(self, seq: int) -> int:
        """The number a seq this writer's plan handed out was written with."""
        return seq + self._shift

    def next_seq(self) -> int:
        self._used += 1
        return self._anchor() + self._used

    # Reads --------------------------------------------------------------------------------

    def preload(self, keys: Iterable[Key]) -> None:
        """Fetch many records in one query (the first also reads the counter, if unread)."""
        wanted = [k for k in set(keys) if k not in self._db and k not in self._rows]
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            where = _keys_in(chunk)
            if self._base is None:
                # One statement, one snapshot: the counter the reads are numbered after.
                rows = list(
                    self.session.execute(
                        sa.select(COUNTER.c.last_seq, RECORDS)
                        .select_from(COUNTER.outerjoin(RECORDS, where))
                        .where(COUNTER.c.id == 1)
                    )
                )
                self._base = int(rows[0].last_seq)
                found = {(r.collection, r.record_id): _row(r) for r in rows if r.collection}
            else:
                rows = list(self.session.execute(sa.select(RECORDS).where(where)))
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
            self._anchor()
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
        before = state.field_meta
        # The entries this change made (one dict may stand for many registers).
        made = {id(v): v for k, v in new_state.field_meta.items() if v is not before.get(k)}
        self._stamped.extend(made.values())
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
        elif scopes.archived(record.bucket):
            # Written where no phone reads it (an edit made offline to a case since
            # archived): the phones that read where it lived drop it again.
            self._add_move(record, scopes.live_bucket(record.bucket))
        for loss in losses:
            self._keep_conflict(record, loss)
        return record, losses

    def _bucket(self, record: RecordRow) -> str:
        case_bucket = None
        if record.collection in _CASE_OF:
            case = self.row(_CASE_OF[record.collection], as_uuid(record.fields.get("case_id")))
            case_bucket = case.bucket if case is not None else None
        return scopes.bucket_for(
            record.collection,
            record.record_id,
            record.fields,
            record.created_by,
            case_bucket,
            archive=self._archived(record),
        )

    def _archived(self, record: RecordRow) -> bool:
        """A case closed longer than the school keeps closed cases on phones."""
        if record.collection not in scopes.ARCHIVED_CASES or record.deleted:
            return False
        settings = self.live_row("school_settings", SCHOOL_SETTINGS_ID)
        days = retention.days_on_phones(settings.fields if settings is not None else {})
        return retention.closed_before(record.fields, record.field_hlc, self._now, days)

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
        # What lives where this record lives follows it: a case's follow-ups or
        # interventions, and the conflict records about any of them. Each gets a new
        # number, so that the devices that now read the bucket receive it.
        there = self._in_bucket(old_bucket)
        follower = scopes.ARCHIVED_CASES.get(record.collection)
        about = {(record.collection, str(record.record_id))}
        followers = [
            other
            for other in there
            if follower is not None
            and other.collection == follower
            and other.fields.get("case_id") == str(record.record_id)
        ]
        about |= {(other.collection, str(other.record_id)) for other in followers}
        followers += [
            other
            for other in there
            if other.collection == "conflicts"
            and (other.scope_collection, other.fields.get("record_id")) in about
        ]
        for other in followers:
            moved = RecordRow(
                other.collection,
                other.record_id,
                other.fields,
                other.field_hlc,
                other.field_meta,
                other.deleted,
                self.next_seq(),
                record.bucket if other.collection == "conflicts" else self._bucket(other),
                other.scope_collection,
                other.created_by,
                other.created_at,
                other.updated_by,
                other.updated_at,
            )
            self._rows[moved.key] = moved
            self._written.append(moved.key)
            self._add_move(moved, old_bucket)

    def _in_bucket(self, bucket: str) -> list[RecordRow]:
        """The records in `bucket` as this transaction will leave them so far."""
        if bucket not in self._read_buckets:
            self._read_buckets.add(bucket)
            for db in self.session.execute(sa.select(RECORDS).where(RECORDS.c.bucket == bucket)):
                key = (db.collection, db.record_id)
                if key not in self._db:
                    self._db[key] = _row(db)
        rows = {k: r for k, r in self._db.items() if r is not None}
        rows.update(self._rows)  # written by this writer, maybe not in the database yet
        return [r for r in rows.values() if r.bucket == bucket]

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
        """Write the plan (one statement per table) and the last number used; under the
        lock, after `lock` and `rebase`. The caller commits, which releases the lock."""
        if not self.locked:
            raise RuntimeError("take the lock (and check what went stale) before finishing")
        if self._used == 0:
            return
        if self.postgresql:
            raw = self._driver()
            staged = self._staged()
            if staged:
                self._stage(raw)
            ok, _ = raw.execute(_PG_WRITE[staged], self._pg_params(staged=staged)).fetchone()
            if not ok:  # pragma: no cover - under the lock, after `rebase`: nothing is stale
                raise RuntimeError("the plan went stale under the lock")
        else:
            self._write_rows()
        self._written_out()

    def _staged(self) -> bool:
        """PostgreSQL: whether the plan's rows go by COPY (see `_PG_WRITE`)."""
        return len(self._rows) + len(self._changes) >= COPY_FROM_ROWS

    def _pg_params(self, watch: Collection[str] = (), *, staged: bool) -> dict[str, Any]:
        """The plan's parameters, numbered from its base (see `_PG_WRITE`): its rows as
        JSON unless they were staged."""
        read = [
            {"collection": c, "record_id": r, "seq": row.seq if row is not None else None}
            for (c, r), row in self._db.items()
        ]
        # JSON goes as orjson makes it (bytes, no round through str).
        params: dict[str, Any] = {
            "base": self._anchor(),
            "used": self._used,
            "strict": self.moved,
            "watch": list(watch),
            "read": Json(read, dumps=orjson.dumps),
            "moves": Json(self._moves, dumps=orjson.dumps),
        }
        if not staged:  # the dataclass's fields are the columns
            params["records"] = Json(list(self._rows.values()), dumps=orjson.dumps)
            params["changes"] = Json(self._changes, dumps=orjson.dumps)
        return params

    def _stage(self, raw: Any) -> None:
        """PostgreSQL: the plan's records and log entries into this session's staging
        tables (emptied at commit) by a binary COPY, which PostgreSQL reads several times
        faster than it takes the same rows apart from one JSON array."""
        types = _staging_types(raw)
        with raw.cursor() as cursor:
            set_json_dumps(orjson.dumps, cursor)  # JSON values go out as orjson's bytes
            with cursor.copy(_PG_COPY_RECORDS) as copy:
                copy.set_types(types["staged_records"])
                for row in self._rows.values():
                    copy.write_row(_record_values(row))
            with cursor.copy(_PG_COPY_CHANGES) as copy:
                copy.set_types(types["staged_changes"])
                for change in self._changes:
                    copy.write_row(_change_values(change))

    def _write_rows(self) -> None:
        """SQLite: one executemany per table on the driver's cursor, each value through
        its column type's own bind processor (so stored exactly as SQLAlchemy stores it)."""
        connection = self.session.connection()
        dialect = connection.dialect
        driver: Any = connection.connection.driver_connection
        cursor = driver.cursor()
        try:
            records = _SQLITE_RECORDS.rows(dialect, self._rows.values(), attribute=True)
            cursor.executemany(_SQLITE_RECORDS.sql, records)
            cursor.executemany(_SQLITE_CHANGES.sql, _SQLITE_CHANGES.rows(dialect, self._changes))
            if self._moves:
                cursor.executemany(_SQLITE_MOVES.sql, _SQLITE_MOVES.rows(dialect, self._moves))
            cursor.execute(
                "UPDATE seq_counter SET last_seq = ? WHERE id = 1", (self._anchor() + self._used,)
            )
        finally:
            cursor.close()

    def _written_out(self) -> None:
        """The plan is in the database: what a later read would give."""
        self._base = self._anchor() + self._used
        self._db.update(self._rows)
        self._forget_plan()


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


class _Insert:
    """An INSERT of some of a table's columns with `?` parameters, and its row encoder.

    Each value is encoded as its column type's bind processor would (a test compares the
    stored rows with the ORM's), with the hot cases done directly: JSON by orjson as the
    engine's serializer does, and UUIDs and times (the same few per batch) encoded once.
    """

    def __init__(self, table: sa.Table, suffix: str = "", skip: tuple[str, ...] = ()) -> None:
        self.columns = [c for c in table.columns if c.name not in skip]
        names = [c.name for c in self.columns]
        self.sql = (
            f"INSERT INTO {table.name} ({', '.join(names)}) "  # noqa: S608 - model names
            f"VALUES ({', '.join('?' for _ in names)}){suffix}"
        )
        self._encoders: dict[str, list[tuple[int, Any, bool]]] = {}

    def _steps(self, dialect: sa.Dialect) -> list[tuple[int, Any, bool]]:
        """(column index, encoder, memoized) for each column that needs encoding."""
        steps = self._encoders.get(dialect.name)
        if steps is None:
            steps = []
            for index, column in enumerate(self.columns):
                if isinstance(column.type, sa.JSON):
                    steps.append((index, _json_text, False))
                    continue
                proc = column.type.dialect_impl(dialect).bind_processor(dialect)
                if proc is not None:
                    memo = isinstance(column.type, (sa.Uuid, sa.types.TypeDecorator))
                    steps.append((index, proc, memo))
            self._encoders[dialect.name] = steps
        return steps

    def rows(self, dialect: sa.Dialect, items: Iterable[Any], attribute: bool = False) -> list[Any]:
        names = [c.name for c in self.columns]
        get = attrgetter(*names) if attribute else itemgetter(*names)
        steps = self._steps(dialect)
        memo: dict[Any, Any] = {}
        out = []
        for item in items:
            values = list(get(item))
            for index, encode, memoized in steps:
                value = values[index]
                if value is None:
                    continue
                if memoized:
                    key = (index, value)
                    encoded = memo.get(key, memo)
                    if encoded is memo:
                        encoded = memo[key] = encode(value)
                    values[index] = encoded
                else:
                    values[index] = encode(value)
            out.append(values)
        return out


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


_SQLITE_RECORDS = _Insert(
    RECORDS,
    " ON CONFLICT (collection, record_id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in _UPDATED),
)
_SQLITE_CHANGES = _Insert(CHANGES)
_SQLITE_MOVES = _Insert(MOVES, skip=("id",))  # numbered by the database


_RECORD_COLUMNS = [c.name for c in RECORDS.columns]
_CHANGE_COLUMNS = [c.name for c in CHANGES.columns]
_MOVE_COLUMNS = [c.name for c in MOVES.columns if c.name != "id"]


def _numbered(columns: list[str]) -> str:
    """The select list: the plan's numbers follow the counter (moved up by `shift`)."""
    return ", ".join("j.seq + (SELECT shift FROM ok)" if c == "seq" else f"j.{c}" for c in columns)


# The field_meta entries the plan made hold plan numbers (above its base) too; rewritten
# only when the counter moved since the plan was numbered (never with a single writer).
_META = """CASE WHEN (SELECT shift FROM ok) = 0 THEN j.field_meta ELSE
    (SELECT coalesce(json_object_agg(e.key, CASE WHEN (e.value->>'seq')::bigint > %(base)s
        THEN jsonb_set(e.value::jsonb, '{seq}',
                       to_jsonb((e.value->>'seq')::bigint + (SELECT shift FROM ok)))::json
        ELSE e.value END), '{}'::json) FROM json_each(j.field_meta) e) END"""

# PostgreSQL: check and write the whole plan in one statement, under the counter's lock
# (taken by the statement before it, in the same transaction, so that this statement's
# snapshot has every earlier commit). Written only if every record the plan read is still
# at the seq it read (absent ones still absent), no record of the watched collections
# changed since the plan's base, and, when `strict`, the counter itself has not moved.
# The plan is numbered base + 1 ... base + used; if others committed since, its numbers
# move up by what the counter moved (`shift`).
_PG_LOCK = "SELECT last_seq FROM seq_counter WHERE id = 1 FOR UPDATE"
# A plan's rows are copied into tables of the session's own (PostgreSQL empties them at
# each commit), then moved into place by `_PG_WRITE`.
_PG_STAGING = """
SET LOCAL client_min_messages = warning;  -- not "already exists, skipping"
CREATE TEMP TABLE IF NOT EXISTS staged_records (LIKE records) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS staged_changes (LIKE changes) ON COMMIT DELETE ROWS;
SELECT c.relname, a.attname, a.atttypid::int FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
WHERE c.oid IN ('staged_records'::regclass, 'staged_changes'::regclass)
    AND a.attnum > 0 AND NOT a.attisdropped
"""
_PG_COPY_RECORDS = f"COPY staged_records ({', '.join(_RECORD_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_PG_COPY_CHANGES = f"COPY staged_changes ({', '.join(_CHANGE_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_record_values = attrgetter(*_RECORD_COLUMNS)
_change_values = itemgetter(*_CHANGE_COLUMNS)


def _staging_types(raw: Any) -> dict[str, list[int]]:
    """Make the transaction's staging tables unless the connection has them (made in a
    transaction that rolled back, they are gone); their column types, in COPY order (a
    binary COPY names them). One round trip."""
    with raw.cursor() as cursor:
        cursor.execute(_PG_STAGING)
        while cursor.nextset():  # to the last statement's rows
            pass
        found = {(table, column): oid for table, column, oid in cursor.fetchall()}
    return {
        "staged_records": [found[("staged_records", c)] for c in _RECORD_COLUMNS],
        "staged_changes": [found[("staged_changes", c)] for c in _CHANGE_COLUMNS],
    }


_PG_WRITE_ROWS_FROM = f"""
WITH cur AS (SELECT last_seq FROM seq_counter WHERE id = 1),
stale AS (
    SELECT count(*) AS n
    FROM json_to_recordset(%(read)s::json) AS k(collection text, record_id uuid, seq int)
    LEFT JOIN records r ON r.collection = k.collection AND r.record_id = k.record_id
    WHERE r.seq IS DISTINCT FROM k.seq
),
watched AS (
    SELECT count(*) AS n FROM records
    WHERE seq > %(base)s AND collection = ANY(%(watch)s::text[])
),
ok AS (
    SELECT last_seq, last_seq - %(base)s AS shift,
           (SELECT n FROM stale) = 0 AND (SELECT n FROM watched) = 0
           AND (NOT %(strict)s OR last_seq = %(base)s) AS ok
    FROM cur
),
bump AS (
    UPDATE seq_counter SET last_seq = last_seq + %(used)s WHERE id = 1 AND (SELECT ok FROM ok)
),
rec AS (
    INSERT INTO records ({", ".join(_RECORD_COLUMNS)})
    SELECT {_numbered(_RECORD_COLUMNS).replace("j.field_meta", _META)}
    FROM {{records}} j
    WHERE (SELECT ok FROM ok)
    ON CONFLICT (collection, record_id) DO UPDATE SET
    {", ".join(f"{name} = EXCLUDED.{name}" for name in _UPDATED)}
),
chg AS (
    INSERT INTO changes ({", ".join(_CHANGE_COLUMNS)})
    SELECT {_numbered(_CHANGE_COLUMNS)}
    FROM {{changes}} j
    WHERE (SELECT ok FROM ok)
),
mov AS (
    INSERT INTO moves ({", ".join(_MOVE_COLUMNS)})
    SELECT {_numbered(_MOVE_COLUMNS)}
    FROM json_populate_recordset(NULL::moves, %(moves)s::json) j
    WHERE (SELECT ok FROM ok)
)
SELECT ok, last_seq FROM ok
"""  # noqa: S608 - column names from the models, values as parameters
# A plan's rows reach PostgreSQL as JSON parameters of that one statement (one round trip:
# a small plan, such as a phone's few changes), or, from COPY_FROM_ROWS rows on, staged by
# COPY first (a few round trips more, and several times faster to read: a big push).
COPY_FROM_ROWS = 64
_PG_WRITE = {
    False: _PG_WRITE_ROWS_FROM.replace(
        "{records}", "json_populate_recordset(NULL::records, %(records)s::json)"
    ).replace("{changes}", "json_populate_recordset(NULL::changes, %(changes)s::json)"),
    True: _PG_WRITE_ROWS_FROM.replace("{records}", "staged_records").replace(
        "{changes}", "staged_changes"
    ),
}


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
