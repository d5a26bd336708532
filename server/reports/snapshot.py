"""What a report reads: the school's live records and people, loaded once per request."""

import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from server.config import Settings
from server.models import Record, User
from shared.schedule import SchoolCalendar
from shared.schemas.collections import SCHOOL_SETTINGS_ID

COLLECTIONS_READ = (
    "areas",
    "disinfection_rounds",
    "checklist_templates",
    "classes",
    "students",
    "sick_cases",
    "follow_ups",
    "temperature_checks",
    "absences",
    "counseling_cases",
    "interventions",
    "school_settings",
)


@dataclass
class SchoolSnapshot:
    calendar: SchoolCalendar
    records: dict[str, dict[str, Record]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # user id → display name

    def live(self, collection: str) -> dict[str, dict[str, Any]]:
        return {rid: r.fields for rid, r in self.records.get(collection, {}).items()}

    def name(self, user_id: Any) -> str:
        return self.names.get(str(user_id), "") if user_id else ""

    def names_of(self, user_ids: Any) -> list[str]:
        """Display names of the people listed (an area's responsible cleaners), known ones."""
        if not isinstance(user_ids, list):
            return []
        return [n for n in (self.name(u) for u in user_ids) if n]

    def label(self, fields: Mapping[str, Any], lang: str) -> str:
        """A record's name in `lang`: its English name where it has one, else the Chinese."""
        english = fields.get("name_en") if lang == "en" else None
        return str(english or fields.get("name") or "")

    def by(self, key: str, collection: str, value: str) -> list[tuple[str, dict[str, Any]]]:
        """Live records of `collection` whose field `key` equals `value`."""
        return [
            (rid, fields)
            for rid, fields in self.live(collection).items()
            if str(fields.get(key)) == value
        ]

    def visit_days(self) -> dict[str, list[date]]:
        days: dict[str, list[date]] = defaultdict(list)
        for fields in self.live("follow_ups").values():
            days[str(fields["case_id"])].append(date.fromisoformat(fields["visit_date"]))
        return days

    def contact_days(self) -> dict[str, list[date]]:
        days: dict[str, list[date]] = defaultdict(list)
        for fields in self.live("interventions").values():
            days[str(fields["case_id"])].append(date.fromisoformat(fields["held_on"]))
        return days


def load(session: Session, settings: Settings) -> SchoolSnapshot:
    rows = session.exec(
        select(Record).where(
            col(Record.collection).in_(COLLECTIONS_READ), col(Record.deleted).is_(False)
        )
    )
    records: dict[str, dict[str, Record]] = defaultdict(dict)
    for record in rows:
        records[record.collection][str(record.record_id)] = record
    school = records.get("school_settings", {}).get(str(SCHOOL_SETTINGS_ID))
    calendar = SchoolCalendar.from_settings(
        school.fields if school else None, settings.school_timezone
    )
    names = {str(u.id): u.display_name for u in session.exec(select(User))}
    return SchoolSnapshot(calendar, dict(records), names)


def user_uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
