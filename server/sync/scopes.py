"""Who receives what: buckets, subscriptions, and the per-record write rules.

Every record lives in one bucket, derived from its fields:
- `disinfection`: areas, checklist templates, rounds;
- `class:<class_id>`: a class, its students, its sick cases and their follow-ups, its
  晨午检 checks and its absence register;
- `referrals:<user_id>`: the referrals one class teacher created;
- `counseling`: counseling cases, interventions, and who opened which case (case_views);
- `school`: the school's settings (closed days, intervals), read by everyone;
- `archive:<bucket>`: a sick case or counseling case closed longer than the school keeps
  closed cases on phones, with its follow-ups or interventions; nobody reads it (the lead
  neither), so moving a case there removes it from every phone (`server.retention`).
A conflict record lives in the bucket of the record it points at and is read by its rules.

A user subscribes to (bucket, collections) pairs that follow from their role and, for a
class teacher, from the classes that name them. Pull filters by subscription; when the
subscription changes, the cursor's copy of the old one tells what to remove and backfill.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, Text, and_, cast, false, not_, or_
from sqlalchemy import select as select_columns
from sqlmodel import Session, col

from server.models import Record
from shared.schemas.collections import COLLECTIONS
from shared.schemas.vocabulary import Role

DISINFECTION = "disinfection"
COUNSELING = "counseling"
SCHOOL = "school"
CLASS_PREFIX = "class:"
REFERRALS_PREFIX = "referrals:"
ARCHIVE_PREFIX = "archive:"
# The cases that leave phones once closed long enough, and what goes with each of them.
ARCHIVED_CASES = {"sick_cases": "follow_ups", "counseling_cases": "interventions"}
# What the retention purge may delete: those cases, what follows them, conflicts about them.
PURGEABLE = frozenset({*ARCHIVED_CASES, *ARCHIVED_CASES.values(), "conflicts"})

_DISINFECTION_COLLECTIONS = {"areas", "checklist_templates", "disinfection_rounds"}
_CLASS_COLLECTIONS = {
    "classes",
    "students",
    "sick_cases",
    "follow_ups",
    "temperature_checks",
    "absences",
}
_COUNSELING_COLLECTIONS = {"counseling_cases", "interventions", "case_views"}
# Fields that only counselors read; the lead gets the record without them.
CONFIDENTIAL = {name: set(c.confidential) for name, c in COLLECTIONS.items() if c.confidential}


def class_bucket(class_id: str | uuid.UUID) -> str:
    return f"{CLASS_PREFIX}{class_id}"


def archived(bucket: str) -> bool:
    return bucket.startswith(ARCHIVE_PREFIX)


def live_bucket(bucket: str) -> str:
    """Where an archived record lived on phones (a live bucket is its own)."""
    return bucket.removeprefix(ARCHIVE_PREFIX)


def bucket_for(
    collection: str,
    record_id: uuid.UUID,
    fields: dict[str, object],
    created_by: uuid.UUID | None,
    case_bucket: str | None = None,
    *,
    archive: bool = False,
) -> str:
    """The bucket a record lives in, from its (merged) fields.

    `case_bucket` is the bucket of a follow-up's sick case or an intervention's counseling
    case, which the caller looks up: they live, and are archived, with their case.
    `archive` says that this case has been closed longer than phones keep closed cases.
    """
    live = _live_bucket_for(collection, record_id, fields, created_by, case_bucket)
    return ARCHIVE_PREFIX + live if archive and not archived(live) else live


def _live_bucket_for(
    collection: str,
    record_id: uuid.UUID,
    fields: dict[str, object],
    created_by: uuid.UUID | None,
    case_bucket: str | None,
) -> str:
    if collection in _DISINFECTION_COLLECTIONS:
        return DISINFECTION
    if collection == "interventions" and case_bucket is not None:
        return case_bucket
    if collection in _COUNSELING_COLLECTIONS:
        return COUNSELING
    if collection == "classes":
        return class_bucket(record_id)
    if collection == "school_settings":
        return SCHOOL
    if collection in ("students", "sick_cases", "temperature_checks", "absences"):
        return class_bucket(str(fields.get("class_id")))
    if collection == "follow_ups":
        return case_bucket or f"{CLASS_PREFIX}unknown"
    if collection == "referrals":
        return f"{REFERRALS_PREFIX}{created_by}"
    raise ValueError(f"no bucket rule for {collection}")


@dataclass(frozen=True, order=True)
class Subscription:
    """A bucket (or `prefix*`) and the collections read from it (empty: all of them)."""

    bucket: str
    collections: tuple[str, ...] = ()

    def matches(self, bucket: str, scope_collection: str) -> bool:
        if archived(bucket):
            return False  # the server keeps it; no phone reads it
        if self.bucket.endswith("*"):
            if not bucket.startswith(self.bucket[:-1]):
                return False
        elif bucket != self.bucket:
            return False
        return not self.collections or scope_collection in self.collections

    def encode(self) -> str:
        return f"{self.bucket}|{','.join(self.collections)}"

    @classmethod
    def decode(cls, text: str) -> "Subscription":
        bucket, _, collections = text.partition("|")
        return cls(bucket, tuple(c for c in collections.split(",") if c))


def subscriptions(
    role: Role, user_id: uuid.UUID, class_ids: Iterable[str]
) -> frozenset[Subscription]:
    """What a user may read."""
    if role is Role.LEAD:
        return frozenset({Subscription("*")})
    school = Subscription(SCHOOL)  # the school's rules: everyone counts by them
    if role is Role.CLEANER:
        return frozenset({school, Subscription(DISINFECTION)})
    if role is Role.COUNSELOR:
        return frozenset(
            {
                school,
                Subscription(f"{CLASS_PREFIX}*", ("students",)),
                Subscription(f"{REFERRALS_PREFIX}*"),
                Subscription(COUNSELING),
            }
        )
    return frozenset(
        {Subscription(class_bucket(c)) for c in class_ids}
        | {school, Subscription(f"{REFERRALS_PREFIX}{user_id}")}
    )


def class_ids_query(user_id: uuid.UUID) -> Any:
    """The classes whose stored fields mention this user: their ids and fields' text.

    The filter is on the text, so that a class that does not name the user is never decoded
    (nor its clocks and authors read); `class_ids_of` then checks `teacher_ids` itself.
    """
    return select_columns(col(Record.record_id), cast(col(Record.fields), Text)).where(
        col(Record.collection) == "classes",
        col(Record.deleted).is_(False),
        cast(col(Record.fields), Text).contains(str(user_id), autoescape=True),
    )


def class_ids_of(session: Session | Connection, user_id: uuid.UUID) -> list[str]:
    """The classes that name this user among their teachers."""
    me = str(user_id)
    return [
        str(record_id)
        for record_id, fields in session.execute(class_ids_query(user_id))
        if me in orjson.loads(fields).get("teacher_ids", [])
    ]


def visible(subs: Iterable[Subscription], bucket: str, scope_collection: str) -> bool:
    return any(s.matches(bucket, scope_collection) for s in subs)


def where_visible(
    subs: Iterable[Subscription],
    bucket: Any = None,
    scope_collection: Any = None,
) -> ColumnElement[bool]:
    """SQL filter on `records` (or on other columns naming a bucket and a scope
    collection, such as `moves`') for what the subscriptions read."""
    bucket_col = col(Record.bucket) if bucket is None else bucket
    collection_col = col(Record.scope_collection) if scope_collection is None else scope_collection
    exact: list[str] = []
    clauses: list[ColumnElement[bool]] = []
    for sub in subs:
        if sub.bucket == "*" and not sub.collections:
            return not_(bucket_col.startswith(ARCHIVE_PREFIX, autoescape=True))
        if sub.bucket.endswith("*"):
            bucket_clause = bucket_col.startswith(sub.bucket[:-1], autoescape=True)
        elif not sub.collections:
            exact.append(sub.bucket)
            continue
        else:
            bucket_clause = bucket_col == sub.bucket
        if sub.collections:
            clauses.append(and_(bucket_clause, collection_col.in_(sub.collections)))
        else:
            clauses.append(bucket_clause)
    if exact:
        clauses.append(bucket_col.in_(exact))
    return or_(*clauses) if clauses else false()


def strip_confidential(role: Role, scope_collection: str) -> set[str]:
    """The fields to leave out of a record of `scope_collection` sent to `role`."""
    if role is Role.LEAD:
        return CONFIDENTIAL.get(scope_collection, set())
    return set()
