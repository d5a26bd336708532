"""Pull: what changed in the device's scope since its cursor, a page at a time.

Change numbers are handed out in commit order (see `server.records`), so reading records
numbered up to the counter's committed value never skips one that commits later: any
later commit gets a larger number. When the user's scope changed since the cursor was made,
the page first removes what left it and backfills what joined it, then goes on.
"""

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from server.accounts import Authenticated
from server.models import Move, Record, ServerKey
from server.sync import scopes
from server.sync.cursor import CursorState, Phase, decode, encode
from server.sync.scopes import Subscription
from shared.schemas.vocabulary import Role
from shared.schemas.wire import MAX_PULL_LIMIT, PullRequest


def cursor_key(session: Session) -> bytes:
    key = session.get(ServerKey, "cursor")
    if key is None:  # pragma: no cover - made by the first migration
        raise RuntimeError("the database has no cursor key; run migrations")
    return bytes.fromhex(key.value)


def current_subscriptions(session: Session, caller: Authenticated) -> frozenset[Subscription]:
    class_ids = (
        scopes.class_ids_of(session, caller.user.id) if caller.role is Role.CLASS_TEACHER else []
    )
    return scopes.subscriptions(caller.role, caller.user.id, class_ids)


def pull(session: Session, caller: Authenticated, req: PullRequest, key: bytes) -> dict[str, Any]:
    """One page of changes and removals, as the wire's JSON-ready dict."""
    limit = min(req.limit, MAX_PULL_LIMIT)
    now = current_subscriptions(session, caller)
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

    changes: list[Record] = []
    removed: dict[tuple[str, uuid.UUID], None] = {}
    budget = limit
    while state.phases and budget > 0:
        phase = state.phases[0]
        query = select(Record).where(
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
        rows = list(session.exec(query.order_by(col(Record.seq)).limit(budget)))
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
        committed = int(
            session.execute(text("SELECT last_seq FROM seq_counter WHERE id = 1")).scalar_one()
        )
        rows = list(
            session.exec(
                select(Record)
                .options(defer(Record.field_meta))  # type: ignore[arg-type]
                .where(
                    scopes.where_visible(now),
                    col(Record.seq) > state.seq,
                    col(Record.seq) <= committed,
                )
                .order_by(col(Record.seq))
                .limit(budget + 1)
            )
        )
        more = len(rows) > budget
        rows = rows[:budget]
        high = rows[-1].seq if more else committed
        changes.extend(rows)
        _left_scope(session, state.seq, high, before | now, now, removed)
        state.seq = high

    return {
        "changes": [_wire(record, caller.role) for record in changes],
        "removed": [{"collection": c, "record_id": r} for c, r in removed],
        "cursor": encode(state, key),
        "has_more": more,
    }


def _left_scope(
    session: Session,
    after: int,
    upto: int,
    could_have: frozenset[Subscription],
    now: frozenset[Subscription],
    removed: dict[tuple[str, uuid.UUID], None],
) -> None:
    """Records that moved out of a bucket the device read, and are not readable now."""
    moves = session.exec(
        select(Move).where(col(Move.seq) > after, col(Move.seq) <= upto).order_by(col(Move.seq))
    )
    for move in moves:
        if not scopes.visible(could_have, move.from_bucket, move.scope_collection):
            continue
        record = session.get(Record, (move.collection, move.record_id))
        if record is None or not scopes.visible(now, record.bucket, record.scope_collection):
            removed[(move.collection, move.record_id)] = None


def _wire(record: Record, role: Role) -> dict[str, Any]:
    hidden = scopes.strip_confidential(role, record.scope_collection)
    fields = record.fields
    field_hlc = record.field_hlc
    if hidden:
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
