"""What the lead sets up: areas, checklists, classes with their teachers, and students.

These are synced collections, written through the same change log as every device's
edits, so that they reach the phones at their next pull.
"""

import uuid
from collections.abc import Mapping
from typing import Any

from server import records
from server.errors import ApiError
from server.models import Record
from server.records import RecordWriter
from server.sync.rules import BrokenReference, check_references
from shared.merge import merge
from shared.schemas.collections import (
    COLLECTIONS,
    InvalidValue,
    UnknownField,
    validate_field,
    validate_record,
)

# The collections a lead edits through the administration API.
SETUP_COLLECTIONS = ("areas", "checklist_templates", "classes", "students")

# collection → (collection pointing at it, field that points): what blocks a delete.
_DEPENDENTS: Mapping[str, tuple[str, str]] = {
    "checklist_templates": ("areas", "checklist_template_id"),
    "classes": ("students", "class_id"),
}


def create(
    writer: RecordWriter,
    author: uuid.UUID | None,
    collection: str,
    fields: Mapping[str, Any],
    record_id: uuid.UUID | None = None,
) -> Record:
    """Add a record after checking its fields and what they point at."""
    values = _validated_record(collection, fields)
    _check_references(writer, collection, values)
    record, _ = writer.write(
        collection,
        record_id or uuid.uuid4(),
        values,
        hlc=writer.clock.now(),
        author=author,
        device_id=None,
    )
    return record


def update(
    writer: RecordWriter,
    author: uuid.UUID | None,
    collection: str,
    record_id: uuid.UUID,
    changes: Mapping[str, Any],
) -> Record:
    """Change some fields (or map entries) of a record."""
    record = _existing(writer, collection, record_id)
    if not changes:
        raise ApiError(422, "invalid_value", "Nothing to change: send at least one field.")
    spec = COLLECTIONS[collection]
    try:
        cleaned = {key: validate_field(spec, key, value) for key, value in changes.items()}
    except UnknownField as exc:
        raise ApiError(422, "unknown_field", str(exc)) from exc
    except InvalidValue as exc:
        raise ApiError(422, "invalid_value", str(exc)) from exc
    hlc = writer.clock.now()
    merged = merge(record.fields, record.field_hlc, cleaned, hlc, spec.map_fields).fields
    _check_references(writer, collection, _validated_record(collection, merged), record.fields)
    # The lead edits what they see now: base_seq is the record's current number.
    record, _ = writer.write(
        collection,
        record_id,
        cleaned,
        hlc=hlc,
        author=author,
        device_id=None,
        base_seq=record.seq,
    )
    return record


def delete(
    writer: RecordWriter, author: uuid.UUID | None, collection: str, record_id: uuid.UUID
) -> Record:
    """Tombstone a record nothing live still points at."""
    current = _existing(writer, collection, record_id)
    if collection in _DEPENDENTS:
        dependent, field = _DEPENDENTS[collection]
        users = [
            r
            for r in records.live(writer.session, dependent)
            if r.fields.get(field) == str(record_id)
        ]
        if users:
            raise ApiError(
                409,
                "in_use",
                f"{len(users)} {dependent} still use this record; move or delete them first.",
            )
    record, _ = writer.write(
        collection,
        record_id,
        {},
        hlc=writer.clock.now(),
        author=author,
        device_id=None,
        base_seq=current.seq,
        deleted=True,
    )
    return record


def _existing(writer: RecordWriter, collection: str, record_id: uuid.UUID) -> Record:
    record = writer.get_live(collection, record_id)
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


def _check_references(
    writer: RecordWriter,
    collection: str,
    values: Mapping[str, Any],
    before: Mapping[str, Any] | None = None,
) -> None:
    try:
        check_references(writer, collection, values, before=before)
    except BrokenReference as exc:
        raise ApiError(422, "invalid_value", str(exc)) from exc
