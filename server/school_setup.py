"""What the lead sets up: areas, checklists, classes with their teachers, and students.

These are synced collections, written through the same change log as every device's
edits, so that they reach the phones at their next pull.
"""

import uuid
from collections.abc import Mapping
from typing import Any

from sqlmodel import Session

from server import records
from server.errors import ApiError
from server.models import Record, User
from server.sync.merge import merge
from shared.hlc import Clock
from shared.schemas.collections import (
    COLLECTIONS,
    InvalidValue,
    UnknownField,
    validate_field,
    validate_record,
)
from shared.schemas.vocabulary import Role

# The collections a lead edits through the administration API.
SETUP_COLLECTIONS = ("areas", "checklist_templates", "classes", "students")

# collection → (field that points elsewhere, collection it points at): what blocks a delete.
_DEPENDENTS: Mapping[str, tuple[str, str]] = {
    "checklist_templates": ("areas", "checklist_template_id"),
    "classes": ("students", "class_id"),
}


def create(
    session: Session,
    clock: Clock,
    author: uuid.UUID | None,
    collection: str,
    fields: Mapping[str, Any],
    record_id: uuid.UUID | None = None,
) -> Record:
    """Add a record after checking its fields and what they point at; the caller commits."""
    values = _validated_record(collection, fields)
    _check_references(session, collection, values)
    return records.write(
        session,
        collection,
        record_id or uuid.uuid4(),
        values,
        hlc=clock.now(),
        author=author,
        device_id=None,
    )


def update(
    session: Session,
    clock: Clock,
    author: uuid.UUID | None,
    collection: str,
    record_id: uuid.UUID,
    changes: Mapping[str, Any],
) -> Record:
    """Change some fields (or map entries) of a record; the caller commits."""
    record = _existing(session, collection, record_id)
    if not changes:
        raise ApiError(422, "invalid_value", "Nothing to change: send at least one field.")
    spec = COLLECTIONS[collection]
    try:
        cleaned = {key: validate_field(spec, key, value) for key, value in changes.items()}
    except UnknownField as exc:
        raise ApiError(422, "unknown_field", str(exc)) from exc
    except InvalidValue as exc:
        raise ApiError(422, "invalid_value", str(exc)) from exc
    hlc = clock.now()
    merged = merge(record.fields, record.field_hlc, cleaned, hlc, spec.map_fields).fields
    _check_references(session, collection, _validated_record(collection, merged))
    return records.write(
        session, collection, record_id, cleaned, hlc=hlc, author=author, device_id=None
    )


def delete(
    session: Session, clock: Clock, author: uuid.UUID | None, collection: str, record_id: uuid.UUID
) -> Record:
    """Tombstone a record nothing live still points at; the caller commits."""
    _existing(session, collection, record_id)
    if collection in _DEPENDENTS:
        dependent, field = _DEPENDENTS[collection]
        users = [
            r for r in records.live(session, dependent) if r.fields.get(field) == str(record_id)
        ]
        if users:
            raise ApiError(
                409,
                "in_use",
                f"{len(users)} {dependent} still use this record; move or delete them first.",
            )
    return records.write(
        session,
        collection,
        record_id,
        {},
        hlc=clock.now(),
        author=author,
        device_id=None,
        deleted=True,
    )


def _existing(session: Session, collection: str, record_id: uuid.UUID) -> Record:
    record = records.get_live(session, collection, record_id)
    if record is None:
        raise ApiError(404, "not_found", f"No {collection} record {record_id}.")
    return record


def _validated_record(collection: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return validate_record(COLLECTIONS[collection], fields)
    except UnknownField as exc:
        raise ApiError(422, "unknown_field", str(exc)) from exc
    except InvalidValue as exc:
        raise ApiError(422, "invalid_value", str(exc)) from exc


def _check_references(session: Session, collection: str, values: Mapping[str, Any]) -> None:
    if collection == "areas":
        _require_live(session, "checklist_templates", values["checklist_template_id"])
    elif collection == "students":
        _require_live(session, "classes", values["class_id"])
    elif collection == "classes":
        for teacher_id in values["teacher_ids"]:
            teacher = session.get(User, uuid.UUID(teacher_id))
            if teacher is None or not teacher.active or teacher.role != Role.CLASS_TEACHER:
                raise ApiError(
                    422,
                    "invalid_value",
                    f"teacher_ids: {teacher_id} is not an active class teacher.",
                )


def _require_live(session: Session, collection: str, record_id: str) -> None:
    if records.get_live(session, collection, uuid.UUID(record_id)) is None:
        raise ApiError(422, "invalid_value", f"No {collection} record {record_id}.")
