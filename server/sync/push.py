"""Push: apply a device's batch, each change on its own merit.

Checks run in the protocol's order and a change gets the code of the first it fails:
collection known, the user may write it, HLC, fields known, values and references valid.
Whether a class teacher may write *this* record depends on values (the class a new sick
case names), so that part of "may write" is checked once the values are known to be valid.
One bad change never blocks the others: it is answered `rejected` and the rest go on.
"""

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from server.accounts import Authenticated
from server.errors import ApiError
from server.models import ChangeLog, Record
from server.records import RecordWriter
from server.sync import scopes
from server.sync.rules import BrokenReference, check_references
from shared.hlc import Clock, InvalidHLC, check_not_ahead, wall_clock_ms
from shared.merge import merge
from shared.schemas.collections import (
    COLLECTIONS,
    SCHOOL_SETTINGS_ID,
    Collection,
    InvalidValue,
    UnknownField,
    validate_field,
    validate_record,
)
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
    caller: Authenticated
    device_id: str
    now_ms: int
    my_class_buckets: set[str] = field(default_factory=set)

    @property
    def role(self) -> Role:
        return self.caller.role


def push(session: Session, clock: Clock, caller: Authenticated, req: PushRequest) -> PushResponse:
    if req.device_id != caller.device_id:
        raise ApiError(403, "forbidden", "This sign-in belongs to another device.")
    if len(req.changes) > MAX_BATCH_CHANGES:
        raise ApiError(
            413, "batch_too_large", f"A batch is at most {MAX_BATCH_CHANGES} changes; split it."
        )
    session.rollback()  # end the sign-in check's reads; the writer's lock begins anew
    writer = RecordWriter(session, clock)
    done = _already_applied(session, [c.change_id for c in req.changes])
    writer.preload((c.collection, c.record_id) for c in req.changes if c.collection in COLLECTIONS)
    batch = _Batch(writer, caller, req.device_id, wall_clock_ms())
    if caller.role is Role.CLASS_TEACHER:
        batch.my_class_buckets = {
            scopes.class_bucket(c) for c in scopes.class_ids_of(session, caller.user.id)
        }
    results: list[ChangeResult] = []
    for change in req.changes:
        if change.change_id in done:
            results.append(
                ChangeResult(
                    change_id=change.change_id,
                    status=ChangeStatus.DUPLICATE,
                    seq=done[change.change_id],
                )
            )
            continue
        try:
            record, conflicted = _apply(batch, change)
        except Rejected as rejected:
            results.append(
                ChangeResult(
                    change_id=change.change_id,
                    status=ChangeStatus.REJECTED,
                    error=ErrorDetail(code=rejected.code, message=rejected.message),
                )
            )
            continue
        done[change.change_id] = record.seq
        status = ChangeStatus.CONFLICT if conflicted else ChangeStatus.APPLIED
        results.append(ChangeResult(change_id=change.change_id, status=status, seq=record.seq))
    writer.finish()
    session.commit()
    return PushResponse(results=results)


def _already_applied(session: Session, change_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    done: dict[uuid.UUID, int] = {}
    for start in range(0, len(change_ids), 500):
        rows = session.exec(
            select(ChangeLog.change_id, ChangeLog.seq).where(
                col(ChangeLog.change_id).in_(change_ids[start : start + 500])
            )
        )
        done.update(dict(rows.all()))
    return done


def _apply(batch: _Batch, change: Change) -> tuple[Record, bool]:
    spec = COLLECTIONS.get(change.collection)
    if spec is None:
        raise Rejected("unknown_collection", f"There is no collection {change.collection!r}.")
    existing = batch.writer.get(change.collection, change.record_id)
    _may_write(batch, spec, existing)
    _check_hlc(batch, change.hlc)
    cleaned = _clean_fields(spec, change)
    if spec.name == "conflicts":
        _check_settling(batch, existing, cleaned, change)
    else:
        whole = _check_values(batch, spec, existing, cleaned, change)
        if whole is not None:
            cleaned = whole  # a new record is kept whole, its defaults filled in
    record, losses = batch.writer.write(
        change.collection,
        change.record_id,
        cleaned,
        hlc=change.hlc,
        author=batch.caller.user.id,
        device_id=batch.device_id,
        base_seq=change.base_seq,
        deleted=change.deleted,
        change_id=change.change_id,
    )
    return record, bool(losses)


def _may_write(batch: _Batch, spec: Collection, existing: Record | None) -> None:
    if spec.name == "conflicts":
        return  # anyone who can read the record it points at; checked with the values
    if batch.role not in spec.writers:
        raise Rejected("forbidden", f"A {batch.role.value} may not write {spec.name}.")
    if existing is None or batch.role is not Role.CLASS_TEACHER:
        return
    if spec.name == "referrals":
        if existing.created_by != batch.caller.user.id:
            raise Rejected("forbidden", "Only the teacher who made a referral may change it.")
    elif existing.bucket not in batch.my_class_buckets:
        raise Rejected("forbidden", f"This {spec.name} record is not in one of your classes.")


def _check_hlc(batch: _Batch, hlc: str) -> None:
    try:
        stamp = check_not_ahead(hlc, batch.now_ms)
    except InvalidHLC as exc:
        raise Rejected("invalid_hlc", str(exc)) from exc
    if stamp.node != batch.device_id:
        raise Rejected("invalid_hlc", "An HLC's node must be the pushing device's id.")
    batch.writer.clock.observe(hlc)


def _clean_fields(spec: Collection, change: Change) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    invalid: str | None = None
    for key, value in change.fields.items():
        try:
            cleaned[key] = validate_field(spec, key, value)
        except UnknownField as exc:
            raise Rejected("unknown_field", str(exc)) from exc
        except InvalidValue as exc:
            invalid = invalid or str(exc)
    if invalid is not None:
        raise Rejected("invalid_value", invalid)
    if not cleaned and not change.deleted:
        raise Rejected("invalid_value", "A change must set at least one field or delete.")
    return cleaned


def _check_values(
    batch: _Batch,
    spec: Collection,
    existing: Record | None,
    cleaned: dict[str, Any],
    change: Change,
) -> dict[str, Any] | None:
    """Check values and references; returns the whole record when the change creates it."""
    if spec.name == "school_settings" and change.record_id != SCHOOL_SETTINGS_ID:
        raise Rejected("invalid_value", f"The school's settings are record {SCHOOL_SETTINGS_ID}.")
    if change.deleted and not cleaned:
        return None
    base = existing.fields if existing is not None else {}
    base_hlc = existing.field_hlc if existing is not None else {}
    merged = merge(base, base_hlc, cleaned, change.hlc, spec.map_fields).fields
    whole = None
    if existing is None or not existing.deleted:
        try:
            whole = validate_record(spec, merged)
        except (InvalidValue, UnknownField) as exc:
            what = "A new record needs" if existing is None else "The record would break"
            raise Rejected("invalid_value", f"{what}: {exc}") from exc
    changed = {key.partition(".")[0] for key in cleaned}
    try:
        check_references(batch.writer, spec.name, merged, changed, before=base)
    except BrokenReference as exc:
        raise Rejected("invalid_value", str(exc)) from exc
    # The value this change writes, not what the merge kept: a lead may have reassigned it.
    own = cleaned.get("cleaner_id") == str(batch.caller.user.id)
    if batch.role is Role.CLEANER and "cleaner_id" in changed and not own:
        raise Rejected("invalid_value", "cleaner_id: a cleaner records their own rounds")
    if batch.role is Role.CLASS_TEACHER:
        _check_teacher_scope(batch, spec, existing, merged)
    return whole if existing is None else None


def _check_teacher_scope(
    batch: _Batch, spec: Collection, existing: Record | None, merged: dict[str, Any]
) -> None:
    writer = batch.writer
    if spec.name in ("sick_cases", "temperature_checks"):
        bucket = scopes.class_bucket(str(merged.get("class_id")))
    elif spec.name == "follow_ups":
        case = writer.get_live("sick_cases", uuid.UUID(str(merged.get("case_id"))))
        bucket = case.bucket if case is not None else ""
    elif spec.name == "referrals" and existing is None:
        student = writer.get_live("students", uuid.UUID(str(merged.get("student_id"))))
        bucket = student.bucket if student is not None else ""
    else:
        return
    if bucket not in batch.my_class_buckets:
        raise Rejected("forbidden", f"This {spec.name} record is not in one of your classes.")


def _check_settling(
    batch: _Batch, existing: Record | None, cleaned: dict[str, Any], change: Change
) -> None:
    if existing is None or change.deleted or set(cleaned) - {"settled_by"}:
        raise Rejected("forbidden", "Conflict records are kept by the server; only settle them.")
    subs = scopes.subscriptions(
        batch.role,
        batch.caller.user.id,
        (b.removeprefix(scopes.CLASS_PREFIX) for b in batch.my_class_buckets),
    )
    if not scopes.visible(subs, existing.bucket, existing.scope_collection):
        raise Rejected("forbidden", "This conflict is about a record you cannot read.")
    if cleaned.get("settled_by") not in (None, str(batch.caller.user.id)):
        raise Rejected("invalid_value", "settled_by: settle a conflict in your own name")
    if existing.fields.get("field") in scopes.strip_confidential(
        batch.role, existing.scope_collection
    ):
        raise Rejected("forbidden", "This conflict is about a confidential field.")
