"""One schema per synced collection: the single definition of each record's fields.

A record's fields merge one by one (and a map field entry by entry), so besides the
whole-record models this module can validate a single field or map entry on its own:
that is what a push carries.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, cast
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from shared.schemas.plain_records import plain_validator
from shared.schemas.text_records import text_validator
from shared.schemas.types import (
    Day,
    DeviceId,
    FrequencyDays,
    ISODateKey,
    Label,
    MapKey,
    Moment,
    Name,
    Note,
    OneLineText,
    PersonName,
    ShortNote,
    TemperatureC,
    Text,
)
from shared.schemas.vocabulary import (
    AbsenceKind,
    AreaKind,
    CaseOrigin,
    CaseStatus,
    CheckSlot,
    ConcentrationUnit,
    FollowUpMethod,
    InterventionKind,
    Mood,
    ReferralStatus,
    RiskLevel,
    Role,
    SkipReason,
    SymptomCategory,
)


class RecordSchema(BaseModel):
    """Base of every collection schema: unknown fields are errors, not silently kept."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Dosage(RecordSchema):
    """A disinfectant and how strong it was made up: prescribed by a checklist item, and
    recorded by the cleaner who used it."""

    disinfectant: Label
    concentration: float = Field(gt=0, le=1_000_000)
    unit: ConcentrationUnit = ConcentrationUnit.MG_PER_L

    @model_validator(mode="after")
    def _possible(self) -> "Dosage":
        if self.unit is ConcentrationUnit.PERCENT and self.concentration > 100:
            raise PydanticCustomError(
                "percent_over_100", "a concentration in percent is at most 100"
            )
        return self


# A number as a meter shows it (a reading, a concentration's bound): finite and bounded.
Measure = Annotated[float, Field(ge=-1_000_000, le=1_000_000, allow_inf_nan=False)]


class ReadingAsked(RecordSchema):
    """A checklist item that asks for a reading (a cold room's temperature in °C): its unit
    and, where the school sets one, the allowed range; a value outside it is flagged."""

    unit: Annotated[OneLineText, Field(min_length=1, max_length=16)]
    low: Measure | None = None
    high: Measure | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "ReadingAsked":
        if self.low is not None and self.high is not None and self.low > self.high:
            raise PydanticCustomError(
                "low_above_high", "the lowest allowed reading is above the highest"
            )
        return self


class ChecklistItem(RecordSchema):
    zh: Label
    en: Label | None = None
    order: int = Field(default=0, ge=0, le=10_000)
    # Set when the cleaner must record the disinfectant and concentration used for this
    # item; it is what the school prescribes, offered to the cleaner as the default.
    dosage: Dosage | None = None
    # Set when the cleaner must record a reading (a number in `unit`) for this item.
    reading: ReadingAsked | None = None
    # Taken off the checklist. A map entry cannot be removed (entries merge one by one, and
    # rounds already recorded name it), so an item leaves by being marked.
    retired: bool = False


class Area(RecordSchema):
    name: Name
    name_en: Name | None = None
    kind: AreaKind
    frequency_days: FrequencyDays
    checklist_template_id: UUID
    active: bool = True
    walk_order: int = Field(default=0, ge=0, le=100_000)
    # The cleaners responsible for the area (责任落实到人); the lead reassigns them.
    cleaner_ids: list[UUID] = Field(default_factory=list, max_length=20)


class ChecklistTemplate(RecordSchema):
    name: Name
    name_en: Name | None = None
    items: dict[MapKey, ChecklistItem] = Field(min_length=1, max_length=100)


class RoundItem(RecordSchema):
    done: bool
    at: Moment | None = None
    note: ShortNote = ""
    dosage: Dosage | None = None  # what was used, where the checklist item asks for it
    reading: Measure | None = None  # what the meter showed, where the item asks for it
    # Why an item was not done; a ticked item (`done`) needs none.
    skipped: SkipReason | None = None


class DisinfectionRound(RecordSchema):
    area_id: UUID
    round_date: Day
    cleaner_id: UUID
    items: dict[MapKey, RoundItem] = Field(default_factory=dict, max_length=100)
    completed_at: Moment | None = None
    note: ShortNote = ""


class SchoolClass(RecordSchema):
    name: Name
    name_en: Name | None = None
    teacher_ids: list[UUID] = Field(default_factory=list, max_length=10)


class Student(RecordSchema):
    name: PersonName
    class_id: UUID
    student_no: OneLineText | None = Field(default=None, min_length=1, max_length=32)


class SickCase(RecordSchema):
    student_id: UUID
    class_id: UUID
    onset_date: Day
    # The day the teacher started following the case (daily follow-ups count from it).
    opened_on: Day | None = None
    symptoms: Text
    status: CaseStatus = CaseStatus.OPEN
    returned_on: Day | None = None
    medical_care: ShortNote = ""
    # 复课证明: who issued the return clearance and when, or why none was needed. Closing
    # a case needs one or the other (shared.health.close_problem; the server refuses).
    clearance_by: Label | None = None
    clearance_on: Day | None = None
    clearance_waived: ShortNote = ""
    symptom: SymptomCategory | None = None

    @model_validator(mode="after")
    def _closed_when_back(self) -> "SickCase":
        if self.status is CaseStatus.CLOSED and self.returned_on is None:
            raise PydanticCustomError(
                "closed_needs_return_day",
                "a closed case needs returned_on, the day the student was back",
            )
        return self


class TemperatureCheck(RecordSchema):
    """晨午检: one check of a class in one slot of a school day: who was there, who was
    absent, who had a fever (by name, each a tap from a sick case), who checked, when.

    Records made before slots existed have no `day` or `slot`: they read as the school day
    of `checked_at` and the slot of its time (shared.health.check_day / check_slot)."""

    class_id: UUID
    checked_at: Moment
    day: Day | None = None
    slot: CheckSlot | None = None
    students_checked: int = Field(ge=0, le=300)  # present and checked
    absent: int = Field(default=0, ge=0, le=300)
    fever_count: int = Field(ge=0, le=300)
    fever_student_ids: list[UUID] = Field(default_factory=list, max_length=300)
    checked_by: UUID | None = None
    note: ShortNote = ""

    @model_validator(mode="after")
    def _fever_within_checked(self) -> "TemperatureCheck":
        if self.fever_count > self.students_checked:
            raise PydanticCustomError(
                "fever_over_checked", "fever_count cannot exceed students_checked"
            )
        if len(set(self.fever_student_ids)) > self.fever_count:
            raise PydanticCustomError(
                "fever_names_over_count", "more students named with fever than fever_count"
            )
        return self


class Absence(RecordSchema):
    """One absent student on one school day (因病缺勤登记). An illness absence carries its
    cause, followed up the same day (病因追查), and may lead to a sick case."""

    student_id: UUID
    class_id: UUID
    day: Day
    kind: AbsenceKind
    symptom: SymptomCategory | None = None
    saw_doctor: bool | None = None
    diagnosis: ShortNote = ""
    infectious: bool | None = None
    case_id: UUID | None = None
    note: ShortNote = ""


class FollowUp(RecordSchema):
    case_id: UUID
    visit_date: Day
    method: FollowUpMethod
    temperature_c: TemperatureC | None = None
    condition: Text = ""
    mood: Mood | None = None
    note: Note = ""
    next_step: ShortNote = ""


class Referral(RecordSchema):
    student_id: UUID
    reason: Text
    status: ReferralStatus = ReferralStatus.NEW
    # Why the counselor declined it: the teacher who referred reads it.
    declined_reason: ShortNote = ""


class CounselingCase(RecordSchema):
    student_id: UUID
    opened_on: Day | None = None
    risk_level: RiskLevel
    status: CaseStatus = CaseStatus.OPEN
    next_follow_up: Day | None = None
    referral_id: UUID | None = None
    origin: CaseOrigin = CaseOrigin.REFERRAL
    # The counselor who holds the case: the lead is told who holds a crisis (never notes).
    counselor_id: UUID | None = None
    # What became of the student, said when the case is closed: as confidential as the note.
    outcome: ShortNote = ""
    note: Note = ""


class CaseView(RecordSchema):
    """An audit entry: someone opened a counseling case (who, which, when, on which
    device). Never changed or removed; no content of the case."""

    case_id: UUID
    viewed_at: Moment
    viewer_id: UUID
    device_id: DeviceId


class Intervention(RecordSchema):
    case_id: UUID
    held_on: Day
    kind: InterventionKind
    note: Note = ""
    risk_level: RiskLevel | None = None


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc
    return name


class SchoolSettings(RecordSchema):
    """The school's own rules (one record, id SCHOOL_SETTINGS_ID), set by the lead."""

    timezone: Annotated[OneLineText, AfterValidator(_zone)] = "Asia/Shanghai"
    # Days the school is closed (date → what it is, e.g. "国庆节"); nothing is due then.
    # A map entry cannot be removed (entries merge one by one): None opens the day again.
    closed_days: dict[ISODateKey, Label | None] = Field(default_factory=dict, max_length=2000)
    # Weekdays the school is closed every week (0 Monday … 6 Sunday), and the days it opens
    # on one of them all the same (调休, a make-up school day: date → what it is).
    closed_weekdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(
        default_factory=list, max_length=7
    )
    open_days: dict[ISODateKey, Label | None] = Field(default_factory=dict, max_length=400)
    temperature_checks_per_day: int = Field(default=2, ge=1, le=12)
    # 晨午检: the slots every class is checked in on each school day.
    check_slots: list[CheckSlot] = Field(
        default_factory=lambda: [CheckSlot.MORNING, CheckSlot.NOON], min_length=1, max_length=4
    )
    # Cluster alert: this many illness absences of one class with one symptom on a day, or
    # `cluster_window_count` within `cluster_window_days` consecutive school days.
    cluster_day_count: int = Field(default=3, ge=2, le=100)
    cluster_window_count: int = Field(default=5, ge=2, le=300)
    cluster_window_days: int = Field(default=3, ge=1, le=30)
    # Whether a student's return needs a clearance (复课证明) by default; "not required"
    # always needs a reason.
    clearance_required: bool = True
    # A phone left alone this long locks (only a person's input counts, never sync).
    idle_lock_minutes: int = Field(default=5, ge=1, le=120)
    # Closed sick cases and counseling cases (with their follow-ups and interventions)
    # leave every phone this many days after they were closed; the server keeps them.
    closed_cases_on_phones_days: int = Field(default=30, ge=1, le=3650)
    # Longest days between contacts, per risk level.
    contact_interval_days: dict[RiskLevel, Annotated[int, Field(ge=1, le=365)]] = Field(
        default_factory=dict
    )


SCHOOL_SETTINGS_ID = uuid5(NAMESPACE_URL, "carerounds:school_settings")


class ConflictValue(RecordSchema):
    value: Any
    hlc: str
    author: str | None = None
    device: str | None = None


class Conflict(RecordSchema):
    """A losing value kept beside the winner; settling it is an ordinary change."""

    collection: str
    record_id: UUID
    field: str
    winner: ConflictValue
    loser: ConflictValue
    settled_by: UUID | None = None


@dataclass(frozen=True)
class Collection:
    """What the protocol says of one collection besides its fields."""

    name: str
    schema: type[RecordSchema]
    writers: frozenset[Role]
    map_fields: frozenset[str] = frozenset()
    # Fields only the collection's own writers may read (a lead sees counts, never these).
    confidential: frozenset[str] = frozenset()
    # An audit trail: a record is written once, never changed or removed.
    append_only: bool = False


_LEAD = frozenset({Role.LEAD})

COLLECTIONS: Mapping[str, Collection] = {
    c.name: c
    for c in (
        Collection("areas", Area, _LEAD),
        Collection("checklist_templates", ChecklistTemplate, _LEAD, frozenset({"items"})),
        Collection(
            "disinfection_rounds",
            DisinfectionRound,
            frozenset({Role.CLEANER, Role.LEAD}),
            frozenset({"items"}),
        ),
        Collection("classes", SchoolClass, _LEAD),
        Collection("students", Student, _LEAD),
        Collection("sick_cases", SickCase, frozenset({Role.CLASS_TEACHER})),
        Collection("temperature_checks", TemperatureCheck, frozenset({Role.CLASS_TEACHER})),
        Collection("absences", Absence, frozenset({Role.CLASS_TEACHER})),
        Collection("follow_ups", FollowUp, frozenset({Role.CLASS_TEACHER})),
        Collection("referrals", Referral, frozenset({Role.CLASS_TEACHER, Role.COUNSELOR})),
        Collection(
            "counseling_cases",
            CounselingCase,
            frozenset({Role.COUNSELOR}),
            confidential=frozenset({"note", "outcome"}),
        ),
        Collection(
            "interventions",
            Intervention,
            frozenset({Role.COUNSELOR}),
            confidential=frozenset({"note"}),
        ),
        Collection("case_views", CaseView, frozenset({Role.COUNSELOR}), append_only=True),
        Collection(
            "school_settings",
            SchoolSettings,
            _LEAD,
            frozenset({"closed_days", "open_days", "contact_interval_days"}),
        ),
        # Written by the server when it keeps a losing value; settled by readers.
        Collection("conflicts", Conflict, frozenset()),
    )
}


class UnknownField(ValueError):
    """A change names a field its collection does not have."""


# Where a value broke its schema and how: the path of field names and map entries from
# the record down (`items`, an item's id, `dosage`, `concentration`), pydantic's error type
# (`greater_than`, `missing`, a custom one such as `fever_over_checked`) and its context
# (`gt`, `max_length`). The screens say it in the user's language from these.
Problem = tuple[tuple[str, ...], str, Mapping[str, Any]]


class InvalidValue(ValueError):
    """A field's value breaks its schema; `problems` say where and what (`Problem`)."""

    def __init__(
        self, message: str, collection: str = "", problems: tuple[Problem, ...] = ()
    ) -> None:
        super().__init__(message)
        self.collection = collection
        self.problems = problems


def problems_of(exc: ValidationError, at: tuple[str, ...] = ()) -> tuple[Problem, ...]:
    return tuple(
        ((*at, *(str(p) for p in err["loc"])), err["type"], dict(err.get("ctx") or {}))
        for err in exc.errors()
    )


def split_field_key(key: str) -> tuple[str, str | None]:
    """`items.wipe_desks` → (`items`, `wipe_desks`); `name` → (`name`, None)."""
    head, dot, entry = key.partition(".")
    return head, (entry if dot else None)


@cache
def _field_adapter(schema: type[RecordSchema], name: str) -> TypeAdapter[Any]:
    info = schema.model_fields[name]
    annotation: Any = info.annotation
    return TypeAdapter(annotation if not info.metadata else _annotated(annotation, info))


def _annotated(annotation: Any, info: Any) -> Any:
    return Annotated[(annotation, *info.metadata)]


@cache
def _entry_key_adapter(schema: type[RecordSchema], name: str) -> TypeAdapter[Any]:
    annotation: Any = schema.model_fields[name].annotation
    return TypeAdapter(annotation.__args__[0])


@cache
def _entry_adapter(schema: type[RecordSchema], name: str) -> TypeAdapter[Any]:
    annotation: Any = schema.model_fields[name].annotation
    return TypeAdapter(annotation.__args__[1])


def validate_field(collection: Collection, key: str, value: Any) -> Any:
    """Validate one pushed field (or map entry) and return it as JSON-ready data.

    Raises:
        UnknownField: the collection has no such field or the key is malformed.
        InvalidValue: the value breaks the field's schema.
    """
    name, entry = split_field_key(key)
    fields = collection.schema.model_fields
    if name not in fields:
        raise UnknownField(f"{collection.name} has no field {name!r}")
    if entry is not None:
        if name not in collection.map_fields:
            raise UnknownField(f"{collection.name}.{name} is not a map")
        try:
            TypeAdapter(MapKey).validate_python(entry)
        except ValidationError as exc:
            raise UnknownField(f"{key!r} is not a valid map entry name") from exc
        try:
            _entry_key_adapter(collection.schema, name).validate_python(entry)
        except ValidationError as exc:  # a well-formed name that is no value: a day in 1999
            message = f"{key}: {first_error(exc)}"
            raise InvalidValue(message, collection.name, problems_of(exc, (name, entry))) from exc
        adapter = _entry_adapter(collection.schema, name)
    else:
        adapter = _field_adapter(collection.schema, name)
    try:
        return adapter.dump_python(adapter.validate_python(value), mode="json")
    except ValidationError as exc:
        where = (name,) if entry is None else (name, entry)
        message = f"{key}: {first_error(exc)}"
        raise InvalidValue(message, collection.name, problems_of(exc, where)) from exc


@cache
def _fast_paths(schema: type[RecordSchema]) -> tuple[Callable[[dict[str, Any]], Any], ...]:
    """The fast paths for `schema`'s records, the narrowest first."""
    return tuple(v for v in (text_validator(schema), plain_validator(schema)) if v is not None)


def validate_record(collection: Collection, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a whole record and return it as JSON-ready data with defaults filled in.

    A valid record takes a fast path (the model's rules, no model objects, the same data
    out): `text_records` when it is written as the dump writes it, else `plain_records`;
    anything they refuse goes through the model, which says why in its own words."""
    fields = dict(fields)
    for fast in _fast_paths(collection.schema):
        try:
            return cast(dict[str, Any], fast(fields))
        except Exception:  # noqa: BLE001, S112 - whatever it is, the next path answers it
            continue
    try:
        return collection.schema.model_validate(fields).model_dump(mode="json")
    except ValidationError as exc:
        if any(err["type"] == "extra_forbidden" for err in exc.errors()):
            raise UnknownField(first_error(exc)) from exc
        raise InvalidValue(first_error(exc), collection.name, problems_of(exc)) from exc


def first_error(exc: ValidationError) -> str:
    """The first validation error of `exc` in one readable sentence."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}" if where else str(err["msg"])
