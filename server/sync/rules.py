"""What a record may point at, checked the same way for the lead's API and device pushes."""

import uuid
from collections.abc import Collection, Iterator, Mapping
from typing import Any

from server.records import RecordWriter, as_uuid
from shared.schemas.vocabulary import Role

# field → collection whose live record it must name, per collection.
_POINTS_AT: Mapping[str, Mapping[str, str]] = {
    "areas": {"checklist_template_id": "checklist_templates"},
    "disinfection_rounds": {"area_id": "areas"},
    "students": {"class_id": "classes"},
    "sick_cases": {"student_id": "students", "class_id": "classes"},
    "follow_ups": {"case_id": "sick_cases"},
    "temperature_checks": {"class_id": "classes"},
    "absences": {"student_id": "students", "class_id": "classes", "case_id": "sick_cases"},
    "referrals": {"student_id": "students"},
    "counseling_cases": {"student_id": "students", "referral_id": "referrals"},
    "interventions": {"case_id": "counseling_cases"},
    "case_views": {"case_id": "counseling_cases"},
}


class BrokenReference(ValueError):
    """A field names a record or person that does not exist (or cannot be named there)."""


def check_references(
    writer: RecordWriter,
    collection: str,
    values: Mapping[str, Any],
    changed: Collection[str] | None = None,
    before: Mapping[str, Any] | None = None,
) -> None:
    """Check what `values` (a whole record) points at; only `changed` fields when given.

    `before` is the record as it was: a teacher already listed on a class stays valid even
    if their account was disabled since, so a class can still get a new teacher.
    """

    def wanted(name: str) -> bool:
        return changed is None or name in changed

    for name, target in _POINTS_AT.get(collection, {}).items():
        value = values.get(name)
        if value is None or not wanted(name):
            continue
        if writer.live_row(target, as_uuid(value)) is None:
            raise BrokenReference(f"{name}: no {target} record {value}")
    if collection == "classes" and wanted("teacher_ids"):
        already = set((before or {}).get("teacher_ids", []))
        for teacher_id in values.get("teacher_ids", []):
            if teacher_id in already:
                continue
            _require_user(writer, teacher_id, {Role.CLASS_TEACHER}, "an active class teacher")
    if collection == "disinfection_rounds" and wanted("cleaner_id"):
        _require_user(writer, values["cleaner_id"], {Role.CLEANER, Role.LEAD}, "a cleaner")
    # A sick case or an absence lives in its class's bucket: the class must be the
    # student's, or a teacher could file one of another class's students under their own.
    if collection in ("sick_cases", "absences") and (wanted("student_id") or wanted("class_id")):
        student = writer.live_row("students", as_uuid(values["student_id"]))
        if student is not None and student.fields.get("class_id") != values.get("class_id"):
            raise BrokenReference("class_id: the student is not in this class")
    if collection == "absences" and values.get("case_id") and wanted("case_id"):
        case = writer.live_row("sick_cases", as_uuid(values["case_id"]))
        if case is not None and case.fields.get("student_id") != values.get("student_id"):
            raise BrokenReference("case_id: the sick case is another student's")


def referenced(collection: str, values: Mapping[str, Any]) -> Iterator[tuple[str, uuid.UUID]]:
    """The records `values` points at (to read them in one query before checking)."""
    for name, target in _POINTS_AT.get(collection, {}).items():
        value = values.get(name)
        if isinstance(value, str):
            try:
                yield target, as_uuid(value)
            except ValueError:
                continue


def _require_user(writer: RecordWriter, user_id: Any, roles: set[Role], what: str) -> None:
    if not writer.user_is(as_uuid(user_id), roles):
        raise BrokenReference(f"{user_id} is not {what}")
