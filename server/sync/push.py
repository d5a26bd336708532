"""Push: apply a device's batch, each change on its own merit.

Checks run in the protocol's order and a change gets the code of the first it fails:
collection known, the user may write it, HLC, fields known, values and references valid.
Whether a class teacher may write *this* record depends on values (the class a new sick
case names), so that part of "may write" is checked once the values are known to be valid.
One bad change never blocks the others: it is answered `rejected` and the rest go on.

The whole batch is checked and merged before the change-number lock is taken (see
`server.records`): reads, validation and merging run while other pushes commit. Under the
lock the writer learns what was committed meanwhile; if none of it touches what this
batch read (the usual case), the plan is written as it is, renumbered. Otherwise (a record
it read changed, a change of the batch was applied by a concurrent retry, a record moved
buckets, or a class teacher's classes changed) the batch is checked and merged again under
the lock, on the records as they are now.
"""

import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from pydantic import TypeAdapter, ValidationError
from sqlmodel import Session

from server.accounts import Authenticated
from server.errors import ApiError
from server.records import CHANGES, Interference, RecordRow, RecordWriter, as_uuid, ids_in
from server.records.rows import PURGED, _keys_in
from server.sync import scopes
from server.sync.rules import BrokenReference, check_references, referenced
from shared.health import close_problem
from shared.hlc import Clock, InvalidHLC, check_not_ahead, wall_clock_ms
from shared.merge import merge, names_entries
from shared.schemas.collections import (
    COLLECTIONS,
    SCHOOL_SETTINGS_ID,
    Collection,
    InvalidValue,
    UnknownField,
    first_error,
    validate_field,
    validate_record,
)
from shared.schemas.types import MapKey
from shared.schemas.vocabulary import Role
from shared.schemas.wire import (
    MAX_BATCH_CHANGES,
    Change,
    ChangeResult,
    ChangeStatus,
    ErrorDetail,
    PushRequest,
    PushResponse,
)


class Rejected(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class _Batch:
    writer: RecordWriter
    user_id: uuid.UUID
    role: Role
    device_id: str
    now_ms: int
    my_class_buckets: set[str] = field(default_factory=set)
    # Records of the batch the retention purge deleted (a change to one is refused).
    purged: set[tuple[str, uuid.UUID]] = field(default_factory=set)
    user_text: str = field(init=False, default="")  # user_id as fields name people

    def __post_init__(self) -> None:
        self.user_text = str(self.user_id)


# Optimistic writes tried before a push waits for the lock (PostgreSQL).
ATTEMPTS = 4


def push(session: Session, clock: Clock, caller: Authenticated, req: PushRequest) -> PushResponse:
    if req.device_id != caller.device_id:
        raise ApiError(403, "forbidden", "This sign-in belongs to another device.")
    if len(req.changes) > MAX_BATCH_CHANGES:
        raise ApiError(
            413, "batch_too_large", f"A batch is at most {MAX_BATCH_CHANGES} changes; split it."
        )
    user_id, role = caller.user.id, caller.role  # before the rollback expires the user
    session.rollback()  # end the sign-in check's reads
    writer = RecordWriter(session, clock, lock=False)
    batch = _Batch(writer, user_id, role, req.device_id, wall_clock_ms())
    # The records first (with them, the counter the plan is numbered from), then the log:
    # a change applied by a concurrent retry is either seen here or committed after that
    # counter, where the write's check finds it.
    writer.preload(_keys_read(req.changes))
    change_ids = [c.change_id for c in req.changes]
    done = _already_applied(session, change_ids)
    if batch.role is Role.CLASS_TEACHER:
        batch.my_class_buckets = _class_buckets(session, batch.user_id)
    batch.purged = _purged(writer, req.changes)
    results = _plan(batch, req.changes, done)

    if writer.postgresql:
        watch = {"classes"} if batch.role is Role.CLASS_TEACHER else set()
        for _ in range(ATTEMPTS):
            seen = writer.write_if_current(watch)
            if seen is None:  # written and committed
                return _response(writer, results)
            results = _rebase(batch, seen, req.changes, results) or results
    seen = writer.lock()  # held until the commit
    if seen.any:
        results = _rebase(batch, seen, req.changes, results) or results
    writer.finish()
    session.commit()
    return _response(writer, results)


def _rebase(
    batch: _Batch, seen: Interference, changes: list[Change], results: list[ChangeResult]
) -> list[ChangeResult] | None:
    """Others committed after the plan's reads: renumber the plan, or (when it read what
    they wrote) plan again on the records as they are now; the new results if so."""
    writer = batch.writer
    classes = batch.role is Role.CLASS_TEACHER and "classes" in seen.collections()
    if not (writer.stale(seen) or writer.moved or classes):
        writer.rebase(seen, replan=False)
        return None
    writer.rebase(seen, replan=True)
    session = writer.session
    done = _already_applied(session, [c.change_id for c in changes])  # a retry's, maybe
    if classes:
        batch.my_class_buckets = _class_buckets(session, batch.user_id)
    batch.purged = _purged(writer, changes)  # a purge, maybe
    return _plan(batch, changes, done)


def _response(writer: RecordWriter, results: list[ChangeResult]) -> PushResponse:
    for result in results:
        if result.seq is not None and result.status is not ChangeStatus.DUPLICATE:
            result.seq = writer.final_seq(result.seq)
    return PushResponse(results=results)


def _class_buckets(session: Session, user_id: uuid.UUID) -> set[str]:
    return {scopes.class_bucket(c) for c in scopes.class_ids_of(session, user_id)}


def _purged(writer: RecordWriter, changes: list[Change]) -> set[tuple[str, uuid.UUID]]:
    """The records of the batch that the server does not have and the purge deleted: one
    query, made only when the batch names such a record of a collection the purge
    deletes (never for rounds)."""
    absent = {
        (c.collection, c.record_id)
        for c in changes
        if c.collection in scopes.PURGEABLE and writer.row(c.collection, c.record_id) is None
    }
    if not absent:
        return set()
    rows = writer.session.execute(
        sa.select(PURGED.c.collection, PURGED.c.record_id).where(_keys_in(absent, PURGED))
    )
    return {(row.collection, row.record_id) for row in rows}


def _keys_read(changes: list[Change]) -> set[tuple[str, uuid.UUID]]:
    """The records a batch will read: those it writes and those they point at."""
    keys: set[tuple[str, uuid.UUID]] = set()
    for change in changes:
        if change.collection in COLLECTIONS:
            keys.add((change.collection, change.record_id))
            keys.update(referenced(change.collection, change.fields))
    return keys


def _plan(batch: _Batch, changes: list[Change], done: dict[uuid.UUID, int]) -> list[ChangeResult]:
    """Check and merge every change into the writer; the results (seqs maybe provisional)."""
    done = dict(done)
    results: list[ChangeResult] = []
    wholes = _validate_new(batch, changes, done)
    for index, change in enumerate(changes):
        if change.change_id in done:
            results.append(
                ChangeResult(
                    change_id=change.change_id,
                    status=ChangeStatus.DUPLICATE,
                    seq=done[change.change_id],
                    error=None,
                )
            )
            continue
        try:
            record, conflicted = _apply(batch, change, wholes.get(index))
        except Rejected as rejected:
            results.append(
                ChangeResult(
                    change_id=change.change_id,
                    status=ChangeStatus.REJECTED,
                    seq=None,
                    error=ErrorDetail(code=rejected.code, message=rejected.message),
                )
            )
            continue
        done[change.change_id] = record.seq
        status = ChangeStatus.CONFLICT if conflicted else ChangeStatus.APPLIED
        results.append(
            ChangeResult(change_id=change.change_id, status=status, seq=record.seq, error=None)
        )
    return results


def _already_applied(session: Session, change_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    done: dict[uuid.UUID, int] = {}
    for start in range(0, len(change_ids), 500):
        rows = session.execute(
            sa.select(CHANGES.c.change_id, CHANGES.c.seq).where(
                ids_in(CHANGES.c.change_id, change_ids[start : start + 500])
            )
        )
        done.update({row.change_id: row.seq for row in rows})
    return done


# A new record validated whole, or why it is not valid.
_Whole = dict[str, Any] | InvalidValue | UnknownField


def _validate_new(
    batch: _Batch, changes: list[Change], done: dict[uuid.UUID, int]
) -> dict[int, _Whole]:
    """The records a batch creates, validated in one pass before its changes are checked
    one by one: one validator called in a tight loop runs much faster than the same calls
    spread among the other checks (a push is mostly new records). Only a head start:
    `_check_new` asks for the same validation at its turn, in the protocol's order."""
    wholes: dict[int, _Whole] = {}
    for index, change in enumerate(changes):
        spec = COLLECTIONS.get(change.collection)
        if (
            spec is None
            or spec.name == "conflicts"
            or batch.role not in spec.writers
            or not change.fields
            or change.change_id in done
            or names_entries(change.fields)
            or batch.writer.row(change.collection, change.record_id) is not None
        ):
            continue
        try:
            wholes[index] = validate_record(spec, change.fields)
        except (InvalidValue, UnknownField) as exc:
            wholes[index] = exc
    return wholes


def _apply(batch: _Batch, change: Change, whole: _Whole | None = None) -> tuple[RecordRow, bool]:
    spec = COLLECTIONS.get(change.collection)
    if spec is None:
        raise Rejected("unknown_collection", f"There is no collection {change.collection!r}.")
    existing = batch.writer.row(change.collection, change.record_id)
    _may_write(batch, spec, existing, change)
    _check_hlc(batch, change.hlc)
    if existing is None and (change.collection, change.record_id) in batch.purged:
        raise Rejected("record_removed", _REMOVED)
    if spec.name == "conflicts":
        cleaned = _clean_fields(spec, change)
        _check_settling(batch, existing, cleaned, change)
    elif existing is None and change.fields:
        cleaned = _check_new(batch, spec, change, whole)  # kept whole, defaults filled in
    else:
        cleaned = _clean_fields(spec, change)
        _check_values(batch, spec, existing, cleaned, change)
    record, losses = batch.writer.write_row(
        change.collection,
        change.record_id,
        cleaned,
        hlc=change.hlc,
        author=batch.user_id,
        device_id=batch.device_id,
        base_seq=change.base_seq,
        deleted=change.deleted,
        change_id=change.change_id,
    )
    return record, bool(losses)


# What a counselor says of a referral: taken on or declined, and why.
_REFERRAL_ANSWER = frozenset({"status", "declined_reason"})


def _may_write(batch: _Batch, spec: Collection, existing: RecordRow | None, change: Change) -> None:
    if spec.name == "conflicts":
        return  # anyone who can read the record it points at; checked with the values
    if batch.role not in spec.writers:
        raise Rejected("forbidden", f"A {batch.role.value} may not write {spec.name}.")
    if spec.append_only and existing is not None:
        raise Rejected("forbidden", f"A {spec.name} entry is never changed or removed.")
    if batch.role is Role.COUNSELOR and spec.name == "referrals":
        # The teacher's words are the teacher's: a counselor only answers a referral.
        named = {key.partition(".")[0] for key in change.fields}
        if existing is None or change.deleted or named - _REFERRAL_ANSWER:
            raise Rejected(
                "forbidden", "A counselor answers a referral (status, declined_reason) only."
            )
    if batch.role is Role.CLASS_TEACHER and spec.name == "referrals":
        # The answer is the counselor's: a teacher's referral is new until answered.
        answered = change.fields.get("status") not in (None, "new") or change.fields.get(
            "declined_reason"
        )
        if answered:
            raise Rejected("forbidden", "A referral is answered by a counselor, not its teacher.")
    if existing is None or batch.role is not Role.CLASS_TEACHER:
        return
    if spec.name == "referrals":
        if existing.created_by != batch.user_id:
            raise Rejected("forbidden", "Only the teacher who made a referral may change it.")
    elif scopes.live_bucket(existing.bucket) not in batch.my_class_buckets:
        # An archived case is still the class's: an edit made offline before it left the
        # phones is kept (and leaves them again).
        raise Rejected("forbidden", f"This {spec.name} record is not in one of your classes.")


def _check_hlc(batch: _Batch, hlc: str) -> None:
    try:
        stamp = check_not_ahead(hlc, batch.now_ms)
    except InvalidHLC as exc:
        raise Rejected("invalid_hlc", str(exc)) from exc
    if stamp.node != batch.device_id:
        raise Rejected("invalid_hlc", "An HLC's node must be the pushing device's id.")
    batch.writer.clock.observe(hlc)


_MAP_KEY: TypeAdapter[str] = TypeAdapter(MapKey)


@lru_cache(maxsize=4096)
def _field_key(collection: str, key: str) -> str | None:
    """Why `key` is not a field (or map entry) of `collection`; None when it is one."""
    spec = COLLECTIONS[collection]
    name, dot, entry = key.partition(".")
    if name not in spec.schema.model_fields:
        return f"{collection} has no field {name!r}"
    if not dot:
        return None
    if name not in spec.map_fields:
        return f"{collection}.{name} is not a map"
    try:
        _MAP_KEY.validate_python(entry)
        annotation: Any = spec.schema.model_fields[name].annotation
        _entry_key_adapter(annotation.__args__[0]).validate_python(entry)
    except ValidationError:
        return f"{key!r} is not a valid map entry name"
    return None


@lru_cache(maxsize=64)
def _entry_key_adapter(annotation: Any) -> TypeAdapter[Any]:
    return TypeAdapter(annotation)


def _check_keys(spec: Collection, change: Change) -> None:
    names = spec.schema.model_fields  # a plain field name is a key; the rest are checked
    for key in change.fields:
        if key in names:
            continue
        problem = _field_key(spec.name, key)
        if problem is not None:
            raise Rejected("unknown_field", problem)


def _clean_fields(spec: Collection, change: Change) -> dict[str, Any]:
    _check_keys(spec, change)
    cleaned: dict[str, Any] = {}
    invalid: str | None = None
    for key, value in change.fields.items():
        try:
            cleaned[key] = validate_field(spec, key, value)
        except UnknownField as exc:  # pragma: no cover - the keys were checked above
            raise Rejected("unknown_field", str(exc)) from exc
        except InvalidValue as exc:
            invalid = invalid or str(exc)
    if invalid is not None:
        raise Rejected("invalid_value", invalid)
    if not cleaned and not change.deleted:
        raise Rejected("invalid_value", "A change must set at least one field or delete.")
    return cleaned


def _check_new(
    batch: _Batch, spec: Collection, change: Change, whole: _Whole | None = None
) -> dict[str, Any]:
    """A change that creates its record: validated once, whole (`whole`, when that was
    done already); the record with defaults."""
    _check_keys(spec, change)
    _check_settings_id(spec, change)
    if whole is None:
        fields = change.fields
        if names_entries(fields):  # map entries: folded into their maps
            fields = merge({}, {}, fields, change.hlc, spec.map_fields).fields
        try:
            whole = validate_record(spec, fields)
        except (InvalidValue, UnknownField) as exc:
            whole = exc
    if isinstance(whole, InvalidValue | UnknownField):
        raise Rejected("invalid_value", f"A new record needs: {whole}") from whole
    _check_links(batch, spec, None, whole, whole, {}, change)
    return whole


_REMOVED = (
    "This record is no longer on the server (a case closed longer ago than the school keeps"
    " them is deleted, with what went with it); the change cannot be saved."
)


def _check_settings_id(spec: Collection, change: Change) -> None:
    if spec.name == "school_settings" and change.record_id != SCHOOL_SETTINGS_ID:
        raise Rejected("invalid_value", f"The school's settings are record {SCHOOL_SETTINGS_ID}.")


def _check_values(
    batch: _Batch,
    spec: Collection,
    existing: RecordRow | None,
    cleaned: dict[str, Any],
    change: Change,
) -> None:
    """Check the values and references of a change to an existing record (or a delete)."""
    _check_settings_id(spec, change)
    if change.deleted and not cleaned:
        return
    base = existing.fields if existing is not None else {}
    base_hlc = existing.field_hlc if existing is not None else {}
    merged = merge(base, base_hlc, cleaned, change.hlc, spec.map_fields).fields
    if existing is None or not existing.deleted:
        try:
            spec.schema.model_validate(merged)
        except ValidationError as exc:
            what = "A new record needs" if existing is None else "The record would break"
            raise Rejected("invalid_value", f"{what}: {first_error(exc)}") from exc
    _check_links(batch, spec, existing, merged, cleaned, base, change)


def _check_links(
    batch: _Batch,
    spec: Collection,
    existing: RecordRow | None,
    merged: dict[str, Any],
    cleaned: dict[str, Any],
    base: dict[str, Any],
    change: Change,
) -> None:
    """References, a cleaner's own rounds, a class teacher's own classes."""
    changed = {key.partition(".")[0] for key in change.fields}
    try:
        check_references(batch.writer, spec.name, merged, changed, before=base)
    except BrokenReference as exc:
        raise Rejected("invalid_value", str(exc)) from exc
    # The value this change writes, not what the merge kept: a lead may have reassigned it.
    own = cleaned.get("cleaner_id") == batch.user_text
    if batch.role is Role.CLEANER and "cleaner_id" in changed and not own:
        raise Rejected("invalid_value", "cleaner_id: a cleaner records their own rounds")
    if spec.append_only and (
        change.deleted
        or merged.get("viewer_id") != batch.user_text
        or merged.get("device_id") != batch.device_id
    ):
        raise Rejected(
            "invalid_value", f"A {spec.name} entry names its own writer and device, once."
        )
    if spec.name == "sick_cases":
        problem = close_problem(merged, changed)
        if problem:
            raise Rejected("invalid_value", problem)
    if batch.role is Role.CLASS_TEACHER:
        _check_teacher_scope(batch, spec, existing, merged)


def _check_teacher_scope(
    batch: _Batch, spec: Collection, existing: RecordRow | None, merged: dict[str, Any]
) -> None:
    writer = batch.writer
    if spec.name in ("sick_cases", "temperature_checks", "absences"):
        bucket = scopes.class_bucket(str(merged.get("class_id")))
    elif spec.name == "follow_ups":
        case = writer.live_row("sick_cases", as_uuid(merged.get("case_id")))
        bucket = scopes.live_bucket(case.bucket) if case is not None else ""
    elif spec.name == "referrals" and existing is None:
        student = writer.live_row("students", as_uuid(merged.get("student_id")))
        bucket = student.bucket if student is not None else ""
    else:
        return
    if bucket not in batch.my_class_buckets:
        raise Rejected("forbidden", f"This {spec.name} record is not in one of your classes.")


def _check_settling(
    batch: _Batch, existing: RecordRow | None, cleaned: dict[str, Any], change: Change
) -> None:
    if existing is None or change.deleted or set(cleaned) - {"settled_by"}:
        raise Rejected("forbidden", "Conflict records are kept by the server; only settle them.")
    subs = scopes.subscriptions(
        batch.role,
        batch.user_id,
        (b.removeprefix(scopes.CLASS_PREFIX) for b in batch.my_class_buckets),
    )
    if not scopes.visible(subs, existing.bucket, existing.scope_collection):
        raise Rejected("forbidden", "This conflict is about a record you cannot read.")
    if cleaned.get("settled_by") not in (None, batch.user_text):
        raise Rejected("invalid_value", "settled_by: settle a conflict in your own name")
    if existing.fields.get("field") in scopes.strip_confidential(
        batch.role, existing.scope_collection
    ):
        raise Rejected("forbidden", "This conflict is about a confidential field.")
