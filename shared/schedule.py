"""What is due: the school's rules as pure functions, run alike on phones and the server.

- An area is due when its last completed round is at least `frequency_days` calendar days
  old; it is overdue once that day has passed without one. Days the school is closed are
  neither: a due day that falls on one moves to the next open day.
- An open sick case needs a follow-up every calendar day from the day it was opened until
  the day the student is back; a past day without one is missed.
- While a class has an open sick case, it needs `checks_per_day` temperature checks a day.
- A counseling case needs a contact within the longest interval of its current risk level
  (or by the next contact the counselor set, if sooner and not yet met by a contact).
Days are the school's days: instants are turned into dates in the school's time zone.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shared.schemas.vocabulary import RiskLevel

DEFAULT_CONTACT_INTERVALS: Mapping[str, int] = {
    RiskLevel.CRISIS: 1,
    RiskLevel.HIGH: 3,
    RiskLevel.MEDIUM: 7,
    RiskLevel.LOW: 30,
}
DEFAULT_CHECKS_PER_DAY = 2
RISK_ORDER = {RiskLevel.CRISIS: 0, RiskLevel.HIGH: 1, RiskLevel.MEDIUM: 2, RiskLevel.LOW: 3}
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class SchoolCalendar:
    """The school's time zone and closed days, and its counting rules' settings."""

    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    closed: frozenset[date] = frozenset()
    closed_weekdays: frozenset[int] = frozenset()  # 0 Monday … 6 Sunday
    opened: frozenset[date] = frozenset()  # make-up school days on a closed weekday
    checks_per_day: int = DEFAULT_CHECKS_PER_DAY
    contact_intervals: Mapping[str, int] = field(
        default_factory=lambda: dict(DEFAULT_CONTACT_INTERVALS)
    )

    @classmethod
    def from_settings(cls, fields: Mapping[str, Any] | None, default_zone: str) -> "SchoolCalendar":
        """The calendar from a `school_settings` record's fields (or the defaults)."""
        fields = fields or {}
        intervals = dict(DEFAULT_CONTACT_INTERVALS)
        intervals.update(fields.get("contact_interval_days") or {})
        return cls(
            timezone=ZoneInfo(fields.get("timezone") or default_zone),
            closed=_days_set(fields.get("closed_days")),
            closed_weekdays=frozenset(int(d) for d in (fields.get("closed_weekdays") or [])),
            opened=_days_set(fields.get("open_days")),
            checks_per_day=int(fields.get("temperature_checks_per_day") or DEFAULT_CHECKS_PER_DAY),
            contact_intervals=intervals,
        )

    def is_open(self, day: date) -> bool:
        """A holiday is closed; a closed weekday is too, unless it is a make-up day."""
        if day in self.closed:
            return False
        return day.weekday() not in self.closed_weekdays or day in self.opened

    def day_of(self, instant: datetime | str) -> date:
        """The school day an instant falls on."""
        if isinstance(instant, str):
            instant = datetime.fromisoformat(instant)
        return instant.astimezone(self.timezone).date()

    def today(self, now: datetime) -> date:
        return self.day_of(now)

    def next_open(self, day: date) -> date:
        for _ in range(800):  # a calendar closed on every day would otherwise never end
            if self.is_open(day):
                return day
            day += ONE_DAY
        return day


def _days_set(days: Mapping[str, Any] | None) -> frozenset[date]:
    """The dates of a closed/open days map (an entry set to None was taken back)."""
    return frozenset(date.fromisoformat(d) for d, label in (days or {}).items() if label)


def _days(start: date, end: date) -> Iterable[date]:
    """start … end, both included."""
    day = start
    while day <= end:
        yield day
        day += ONE_DAY


# Disinfection ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AreaToday:
    area_id: str
    status: str  # done | due | overdue | not_due | closed
    due_on: date | None
    last_done: date | None
    overdue_days: int = 0


RoundTest = Callable[[Mapping[str, Any]], bool]


def round_days(
    rounds: Iterable[Mapping[str, Any]],
    calendar: SchoolCalendar,
    complete: RoundTest | None = None,
    *,
    incomplete: bool = False,
) -> dict[str, list[date]]:
    """Per area, the sorted days on which a round was completed (started ones don't count).

    With `complete` (shared.rounds.completeness), only rounds that leave nothing undone
    count; `incomplete=True` gives instead the days of rounds completed with items left.
    """
    done: dict[str, set[date]] = {}
    for fields in rounds:
        if fields.get("completed_at"):
            whole = complete is None or complete(fields)
            if whole != incomplete:
                done.setdefault(str(fields["area_id"]), set()).add(
                    calendar.day_of(fields["completed_at"])
                )
    return {area: sorted(days) for area, days in done.items()}


def next_due(last_done: date | None, frequency_days: int, calendar: SchoolCalendar) -> date | None:
    """The first open day the area needs a round again (None: never done, due at once)."""
    if last_done is None:
        return None
    return calendar.next_open(last_done + timedelta(days=frequency_days))


def area_today(
    area_id: str,
    frequency_days: int,
    done_days: list[date],
    today: date,
    calendar: SchoolCalendar,
) -> AreaToday:
    """Where one area stands on `today`."""
    before = [d for d in done_days if d < today]
    last = before[-1] if before else None
    due_on = next_due(last, frequency_days, calendar)
    if today in done_days:
        return AreaToday(area_id, "done", due_on, today)
    if not calendar.is_open(today):
        return AreaToday(area_id, "closed", due_on, last)
    if due_on is None or due_on == today:
        return AreaToday(area_id, "due", due_on or today, last)
    if due_on > today:
        return AreaToday(area_id, "not_due", due_on, last)
    overdue = sum(1 for d in _days(due_on, today - ONE_DAY) if calendar.is_open(d))
    return AreaToday(area_id, "overdue", due_on, last, overdue)


def due_areas(
    areas: Iterable[tuple[str, Mapping[str, Any]]],
    rounds: Iterable[Mapping[str, Any]],
    today: date,
    calendar: SchoolCalendar,
    complete: RoundTest | None = None,
) -> list[AreaToday]:
    """A cleaner's "Today": every active area's state, in walking order (a round with
    items left undone leaves its area due)."""
    done = round_days(rounds, calendar, complete)
    ordered = sorted(
        ((area_id, f) for area_id, f in areas if f.get("active", True)),
        key=lambda item: (item[1].get("walk_order", 0), str(item[1].get("name", ""))),
    )
    return [
        area_today(area_id, int(f["frequency_days"]), done.get(area_id, []), today, calendar)
        for area_id, f in ordered
    ]


@dataclass(frozen=True)
class AreaDay:
    day: date
    outcome: str  # done | late | incomplete | missed | pending | not_due | closed


def area_history(
    frequency_days: int,
    done_days: list[date],
    start: date,
    end: date,
    today: date,
    calendar: SchoolCalendar,
    since: date | None = None,
    incomplete_days: Iterable[date] = (),
) -> list[AreaDay]:
    """Each day of `start`…`end` for one area: done on time, late, missed, or nothing due.

    A missed day is an open day, before today, on which the area was due or overdue and
    got no round; a round done while overdue is late. A day whose round was completed
    with items left undone (and no whole round) is incomplete. Today, not yet done, is
    pending. Nothing is due before `since`, the day the area was set up.
    """
    history = []
    done = set(done_days)
    partial = set(incomplete_days)
    for day in _days(start, end):
        if since is not None and day < since and day not in done:
            history.append(AreaDay(day, "not_due"))
            continue
        before = [d for d in done_days if d < day]
        due_on = next_due(before[-1] if before else None, frequency_days, calendar)
        due = due_on is None or due_on <= day
        if day in done:
            outcome = "late" if due_on is not None and due_on < day else "done"
        elif day in partial and day <= today:
            outcome = "incomplete"
        elif not calendar.is_open(day) or day > today:
            outcome = "closed" if not calendar.is_open(day) else "not_due"
        elif not due:
            outcome = "not_due"
        else:
            outcome = "pending" if day == today else "missed"
        history.append(AreaDay(day, outcome))
    return history


# Sick students --------------------------------------------------------------------------


@dataclass(frozen=True)
class FollowUpState:
    case_id: str
    required: list[date]
    done: list[date]
    missed: list[date]
    needed_today: bool


def case_opened(fields: Mapping[str, Any]) -> date:
    return date.fromisoformat(str(fields.get("opened_on") or fields["onset_date"]))


def case_closed(fields: Mapping[str, Any]) -> date | None:
    """The day the student was back, for a closed case (the schema requires it)."""
    if fields.get("status") != "closed" or not fields.get("returned_on"):
        return None
    return date.fromisoformat(str(fields["returned_on"]))


def follow_up_state(
    case_id: str,
    case: Mapping[str, Any],
    visit_dates: Iterable[date],
    today: date,
) -> FollowUpState:
    """Which days a sick case needed a follow-up, had one, or missed it, up to `today`."""
    opened = case_opened(case)
    closed = case_closed(case)
    last = min(today, closed - ONE_DAY) if closed is not None else today
    required = list(_days(opened, last))
    visits = set(visit_dates)
    done = [d for d in required if d in visits]
    missed = [d for d in required if d not in visits and d < today]
    needed_today = today in required and today not in visits
    return FollowUpState(case_id, required, done, missed, needed_today)


def class_needs_checks(cases: Iterable[Mapping[str, Any]], day: date) -> bool:
    """Whether a class had an open sick case on `day` (it then needs extra temperature checks)."""
    for case in cases:
        opened = case_opened(case)
        closed = case_closed(case)
        if (
            opened <= day
            and (closed is None or day < closed)
            and not (case.get("status") == "closed" and closed is None)
        ):
            return True
    return False


def checks_done(checks: Iterable[Mapping[str, Any]], day: date, calendar: SchoolCalendar) -> int:
    return sum(1 for c in checks if calendar.day_of(c["checked_at"]) == day)


# Counseling -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseDue:
    case_id: str
    risk_level: str
    last_contact: date | None
    due_on: date
    overdue: bool


def counseling_due(
    case_id: str,
    case: Mapping[str, Any],
    contact_dates: Iterable[date],
    today: date,
    calendar: SchoolCalendar,
) -> CaseDue:
    """When a case next needs a contact, by the interval of its *current* risk level."""
    risk = str(case["risk_level"])
    contacts = sorted(contact_dates)
    last = contacts[-1] if contacts else None
    start = last or (date.fromisoformat(str(case["opened_on"])) if case.get("opened_on") else today)
    due_on = start + timedelta(days=int(calendar.contact_intervals[risk]))
    if last is None and not case.get("opened_on"):
        due_on = today
    if case.get("next_follow_up"):
        planned = date.fromisoformat(str(case["next_follow_up"]))
        if last is None or planned > last:  # a contact held on the day or since has met it
            due_on = min(due_on, planned)
    return CaseDue(case_id, risk, last, due_on, today > due_on)


def caseload_order(cases: Iterable[CaseDue]) -> list[CaseDue]:
    """Crises first, then by risk, then whoever is due soonest."""
    return sorted(
        cases, key=lambda c: (RISK_ORDER.get(RiskLevel(c.risk_level), 9), c.due_on, c.case_id)
    )
