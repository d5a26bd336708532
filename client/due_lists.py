"""What each person has to do today, computed on the phone from its own store, offline.

The same rules as the lead's reports (shared.schedule), fed with the device's records.
"""

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from client.store import Store
from shared.rounds import RoundTally, tally_of
from shared.schedule import (
    AreaToday,
    CaseDue,
    FollowUpState,
    SchoolCalendar,
    caseload_order,
    counseling_due,
    due_areas,
    follow_up_state,
)
from shared.schemas.collections import SCHOOL_SETTINGS_ID

DEFAULT_ZONE = "Asia/Shanghai"


def calendar_of(store: Store) -> SchoolCalendar:
    settings = store.get("school_settings", str(SCHOOL_SETTINGS_ID))
    return SchoolCalendar.from_settings(settings.fields if settings else None, DEFAULT_ZONE)


def cleaner_today(
    store: Store, now: datetime, tally: Callable[[Mapping[str, Any]], RoundTally] | None = None
) -> list[AreaToday]:
    """Every active area's state today, in walking order (the cleaner's "Today"); a round
    that leaves items undone leaves its area due (shared.rounds)."""
    calendar = calendar_of(store)
    areas = {r.record_id: r.fields for r in store.records("areas")}
    if tally is None:
        templates = {r.record_id: r.fields for r in store.records("checklist_templates")}
        tally = tally_of(areas, templates)
    rounds = [r.fields for r in store.records("disinfection_rounds")]
    complete = tally

    def whole(fields: Mapping[str, Any]) -> bool:
        return complete(fields).complete

    return due_areas(list(areas.items()), rounds, calendar.today(now), calendar, whole)


@dataclass(frozen=True)
class SickStudent:
    case_id: str
    case: dict[str, Any]
    state: FollowUpState


def sick_students(store: Store, now: datetime) -> list[SickStudent]:
    """Open cases of the teacher's classes; those still lacking today's follow-up first."""
    today = calendar_of(store).today(now)
    visits: dict[str, list[date]] = defaultdict(list)
    for record in store.records("follow_ups"):
        visits[str(record.fields["case_id"])].append(
            date.fromisoformat(record.fields["visit_date"])
        )
    result = [
        SickStudent(
            r.record_id,
            r.fields,
            follow_up_state(r.record_id, r.fields, visits[r.record_id], today),
        )
        for r in store.records("sick_cases")
        if r.fields.get("status") == "open"
    ]
    return sorted(result, key=lambda s: (not s.state.needed_today, -len(s.state.missed), s.case_id))


def caseload(store: Store, now: datetime) -> list[CaseDue]:
    """A counselor's open cases: crises first, then whoever is due soonest."""
    calendar = calendar_of(store)
    today = calendar.today(now)
    contacts: dict[str, list[date]] = defaultdict(list)
    for record in store.records("interventions"):
        contacts[str(record.fields["case_id"])].append(date.fromisoformat(record.fields["held_on"]))
    return caseload_order(
        counseling_due(r.record_id, r.fields, contacts[r.record_id], today, calendar)
        for r in store.records("counseling_cases")
        if r.fields.get("status", "open") == "open"
    )
