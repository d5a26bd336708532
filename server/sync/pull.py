"""Pull: what changed in the device's scope since its cursor, a page at a time.

Change numbers are handed out in commit order (see `server.records`), so reading records
numbered up to the counter's committed value never skips one that commits later: any
later commit gets a larger number. When the user's scope changed since the cursor was made,
the page first removes what left it and backfills what joined it, then goes on.
"""

import heapq
from itertools import islice
from typing import Any
from weakref import WeakKeyDictionary

import orjson
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Engine,
    Integer,
    Row,
    Select,
    String,
    Text,
    bindparam,
    cast,
    func,
    text,
    type_coerce,
)
from sqlalchemy import select as select_columns
from sqlmodel import Session, col

from server.accounts import Authenticated
from server.models import Move, Record, ServerKey
from server.sync import scopes
from server.sync.cursor import CursorState, Phase, decode, encode
from server.sync.scopes import Subscription
from shared.schemas.vocabulary import Role
from shared.schemas.wire import MAX_PULL_LIMIT, PullRequest

_KEYS: "WeakKeyDictionary[Engine, bytes]" = WeakKeyDictionary()


def cursor_key(session: Session) -> bytes:
    """The key cursors are sealed with: made by the first migration and never changed, so
    read once per engine (it was a query and an ORM load on every pull)."""
    engine = session.get_bind().engine
    key = _KEYS.get(engine)
    if key is None:
        row = session.get(ServerKey, "cursor")
        if row is None:  # pragma: no cover - made by the first migration
            raise RuntimeError("the database has no cursor key; run migrations")
        key = _KEYS[engine] = bytes.fromhex(row.value)
    return key


def current_subscriptions(
    connection: Connection | Session, caller: Authenticated
) -> frozenset[Subscription]:
    class_ids = (
        scopes.class_ids_of(connection, caller.user.id) if caller.role is Role.CLASS_TEACHER else []
    )
    return scopes.subscriptions(caller.role, caller.user.id, class_ids)


# What a page reads of each record: the wire's columns, with the JSON columns as the text
# they are stored as (PostgreSQL's `json` keeps it verbatim), so that it goes out inside the
# response as it is, without being decoded and encoded again; and what scopes need. Ids
# are read as the text they go out as (`str` of a UUID, which is what orjson writes for
# one), so that no UUID object is made per record only to be written out again.


def _uuid_text(column: Any, postgresql: bool) -> ColumnElement[Any]:
    if postgresql:
        return cast(column, Text)
    digits = type_coerce(column, String)  # SQLite keeps a UUID as its 32 hex digits
    parts = [func.substr(digits, start, length) for start, length in _UUID_PARTS]
    dashed: ColumnElement[Any] = parts[0]
    for part in parts[1:]:
        dashed = dashed.concat("-").concat(part)
    return dashed


_UUID_PARTS = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))


def _columns(postgresql: bool) -> tuple[Any, ...]:
    return (
        col(Record.collection),
        _uuid_text(col(Record.record_id), postgresql).label("record_id"),
        col(Record.seq),
        cast(col(Record.fields), Text).label("fields"),
        cast(col(Record.field_hlc), Text).label("field_hlc"),
        col(Record.deleted),
        _uuid_text(col(Record.updated_by), postgresql).label("updated_by"),
        col(Record.updated_at),
        col(Record.bucket),
        col(Record.scope_collection),
    )


_COLUMNS = {postgresql: _columns(postgresql) for postgresql in (False, True)}


def _records(postgresql: bool) -> Select[*tuple[Any, ...]]:
    return select_columns(*_COLUMNS[postgresql])


def pull(
    session: Session,
    caller: Authenticated,
    req: PullRequest,
    key: bytes,
    committed: int | None = None,
) -> dict[str, Any]:
    """One page of changes and removals, as the wire's dict for `orjson.dumps`.

    Record values are `orjson.Fragment`s of the stored JSON text, spliced in as they are.
    `committed` is the change counter's value if the caller read it already (with the
    sign-in): records are read up to it, and a later number waits for the next pull.
    """
    limit = min(req.limit, MAX_PULL_LIMIT)
    postgresql = session.get_bind().dialect.name == "postgresql"
    # The page's queries through Core, on the session's connection: rows as they are,
    # without the ORM's loading nor its way through each statement.
    connection = session.connection()
    now = current_subscriptions(connection, caller)
    if req.cursor is None:
        state = CursorState(caller.user.id, 0, now)
    else:
        state = decode(req.cursor, key, caller.user.id)
    before = state.subs
    if before != now:
        if state.seq > 0:
            if before - now:
                state.phases.append(Phase("remove", before - now, state.seq))
            if now - before:
                state.phases.append(Phase("backfill", now - before, state.seq))
        state.subs = now

    changes: list[Row[Any]] = []
    removed: dict[tuple[str, str], None] = {}  # (collection, record_id as text)
    role = caller.role
    budget = limit
    while state.phases and budget > 0:
        phase = state.phases[0]
        query = _records(postgresql).where(
            scopes.where_visible(phase.subs), col(Record.seq) > phase.after
        )
        if phase.kind == "backfill":
            # Newer versions arrive with the incremental part; this is what the device missed.
            query = query.where(
                col(Record.seq) <= phase.upto,
                scopes.where_visible(now),
                col(Record.deleted).is_(False),
            )
        # A removal scan has no upper bound: a record the device holds may have changed
        # since, and it must go whatever its number is now.
        rows = list(connection.execute(query.order_by(col(Record.seq)).limit(budget)).all())
        for record in rows:
            if phase.kind == "backfill":
                changes.append(record)
            elif not scopes.visible(now, record.bucket, record.scope_collection):
                removed[(record.collection, record.record_id)] = None
        if len(rows) < budget:
            state.phases.pop(0)
        else:
            phase.after = rows[-1].seq
        budget -= len(rows)

    more = bool(state.phases)
    if budget > 0 and not state.phases:
        if committed is None:
            committed = int(connection.execute(_COUNTER).scalar_one())
        if committed > state.seq:  # else nothing was numbered since: no query to make
            rows = _in_seq_order(connection, postgresql, now, state.seq, committed, budget + 1)
            more = len(rows) > budget
            rows = rows[:budget]
            high = rows[-1].seq if more else committed
            changes.extend(rows)
            _left_scope(connection, state.seq, high, before | now, now, removed)
            state.seq = high

    return {
        "changes": [_wire(record, role) for record in changes],
        "removed": [{"collection": c, "record_id": r} for c, r in removed],
        "cursor": encode(state, key),
        "has_more": more,
    }


_COUNTER = text("SELECT last_seq FROM seq_counter WHERE id = 1")


def _in_seq_order(
    connection: Connection,
    postgresql: bool,
    subs: frozenset[Subscription],
    after: int,
    upto: int,
    limit: int,
) -> list[Row[Any]]:
    """The first `limit` visible records numbered in (after, upto], in seq order.

    For several whole buckets (a cleaner's, a class teacher's) one `bucket IN (...)`
    query would read and sort every record past the cursor for each page, which grows with
    the square of a big initial pull on SQLite; instead each bucket is read in the order
    of the (bucket, seq) index, at most `limit` of each, and the pieces merged here, as
    they come (in one UNION ALL query, SQLite copied every row of each piece into a
    temporary b-tree to sort it again).
    """
    pieces = [
        connection.execute(query, params).all()
        for query, params in _page_queries(postgresql, subs, after, upto, limit)
    ]
    if len(pieces) == 1:
        return list(pieces[0])
    # Distinct whole buckets: no record is in two of them, so the pieces never overlap.
    return list(islice(heapq.merge(*pieces, key=_seq), limit))


def _page_queries(
    postgresql: bool, subs: frozenset[Subscription], after: int, upto: int, limit: int
) -> list[tuple[Select[*tuple[Any, ...]], dict[str, Any]]]:
    """The statements `_in_seq_order` reads a page with, and their parameters: one per
    whole bucket, or one."""
    in_range = {"after": after, "upto": upto, "limit": limit}
    buckets = sorted(s.bucket for s in subs)
    if len(buckets) < 2 or any(s.collections or s.bucket.endswith("*") for s in subs):
        query = (
            _records(postgresql)
            .where(
                scopes.where_visible(subs),
                col(Record.seq) > _AFTER,
                col(Record.seq) <= _UPTO,
            )
            .order_by(col(Record.seq))
            .limit(_LIMIT)
        )
        return [(query, in_range)]
    page = _BUCKET_PAGE[postgresql]
    return [(page, {"bucket": bucket, **in_range}) for bucket in buckets]


_AFTER, _UPTO = bindparam("after", type_=BigInteger), bindparam("upto", type_=BigInteger)
_LIMIT = bindparam("limit", type_=Integer)
# One bucket's page, built once per dialect (most pulls are whole buckets: a cleaner's, a
# class teacher's): only its parameters change from pull to pull.
_BUCKET_PAGE = {
    postgresql: _records(postgresql)
    .where(
        col(Record.bucket) == bindparam("bucket", type_=String),
        col(Record.seq) > _AFTER,
        col(Record.seq) <= _UPTO,
    )
    .order_by(col(Record.seq))
    .limit(_LIMIT)
    for postgresql in (False, True)
}


def _seq(row: Row[Any]) -> int:
    return int(row.seq)


def _moves_query(subs: frozenset[Subscription], after: int, upto: int) -> Any:
    """The moves numbered in (after, upto] out of a bucket the subscriptions read: by the
    (from_bucket, seq) index, so a pull never reads the moves of other scopes."""
    return (
        select_columns(
            col(Move.seq),
            col(Move.collection),
            col(Move.record_id),
            col(Move.from_bucket),
            col(Move.scope_collection),
        )
        .where(
            scopes.where_visible(subs, col(Move.from_bucket), col(Move.scope_collection)),
            col(Move.seq) > after,
            col(Move.seq) <= upto,
        )
        .order_by(col(Move.seq))
    )


def _left_scope(
    connection: Connection,
    after: int,
    upto: int,
    could_have: frozenset[Subscription],
    now: frozenset[Subscription],
    removed: dict[tuple[str, str], None],
) -> None:
    """Records that moved out of a bucket the device read, and are not readable now."""
    moved = [
        move
        for move in connection.execute(_moves_query(could_have, after, upto)).all()
        if scopes.visible(could_have, move.from_bucket, move.scope_collection)
    ]
    where = _where_now(connection, moved)
    for move in moved:
        now_in = where.get((move.collection, move.record_id))
        if now_in is None or not scopes.visible(now, *now_in):
            removed[(move.collection, str(move.record_id))] = None


def _where_now(
    connection: Connection, moves: list[Row[Any]]
) -> dict[tuple[str, Any], tuple[str, str]]:
    """(bucket, scope collection) of the records that moved, as they are now (absent: gone),
    read a collection at a time by the primary key: a retention sweep moves hundreds of
    records out of one class at once, and reading them one by one took 0.5 ms each."""
    ids: dict[str, set[Any]] = {}
    for move in moves:
        ids.setdefault(move.collection, set()).add(move.record_id)
    found: dict[tuple[str, Any], tuple[str, str]] = {}
    for collection, record_ids in ids.items():
        ordered = sorted(record_ids)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            rows = connection.execute(
                select_columns(
                    col(Record.record_id), col(Record.bucket), col(Record.scope_collection)
                ).where(col(Record.collection) == collection, col(Record.record_id).in_(chunk))
            )
            found.update(((collection, r.record_id), (r.bucket, r.scope_collection)) for r in rows)
    return found


def _wire(record: Row[Any], role: Role) -> dict[str, Any]:
    hidden = scopes.strip_confidential(role, record.scope_collection)
    fields: Any = orjson.Fragment(record.fields)
    field_hlc: Any = orjson.Fragment(record.field_hlc)
    if hidden:
        # Only these few records are decoded, to leave out what the role may not read.
        fields = orjson.loads(record.fields)
        field_hlc = orjson.loads(record.field_hlc)
        if record.collection == "conflicts":
            if fields.get("field") in hidden:
                fields = {
                    **fields,
                    "winner": {**fields["winner"], "value": None},
                    "loser": {**fields["loser"], "value": None},
                }
        else:
            fields = {k: v for k, v in fields.items() if k not in hidden}
            field_hlc = {k: v for k, v in field_hlc.items() if k.partition(".")[0] not in hidden}
    return {
        "collection": record.collection,
        "record_id": record.record_id,
        "seq": record.seq,
        "fields": fields,
        "field_hlc": field_hlc,
        "deleted": record.deleted,
        "updated_by": record.updated_by,
        "updated_at": record.updated_at,
    }
