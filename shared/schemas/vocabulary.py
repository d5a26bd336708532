"""The fixed vocabularies of the sync protocol; the UI translates them, clients rely on them."""

from enum import StrEnum


class Role(StrEnum):
    CLEANER = "cleaner"
    CLASS_TEACHER = "class_teacher"
    COUNSELOR = "counselor"
    LEAD = "lead"


class AreaKind(StrEnum):
    CLASSROOM = "classroom"
    DORM = "dorm"
    CANTEEN = "canteen"
    TOILET = "toilet"
    PUBLIC_AREA = "public_area"
    VENTILATION = "ventilation"
    COLD_CHAIN = "cold_chain"
    PARCEL_POINT = "parcel_point"


class ConcentrationUnit(StrEnum):
    MG_PER_L = "mg_per_l"  # chlorine solutions: 500 mg/L available chlorine
    PERCENT = "percent"  # alcohol: 75 %


class SkipReason(StrEnum):
    """Why a checklist item was not done: a round is complete when every item in use is
    either ticked or has one of these."""

    AREA_LOCKED = "area_locked"
    OUT_OF_SUPPLIES = "out_of_supplies"  # disinfectant or materials ran out
    AREA_IN_USE = "area_in_use"  # people inside, an exam, a meeting
    EQUIPMENT_BROKEN = "equipment_broken"
    OTHER = "other"  # said in the item's note


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class FollowUpMethod(StrEnum):
    HOME_VISIT = "home_visit"
    PHONE = "phone"
    VIDEO = "video"


class Mood(StrEnum):
    GOOD = "good"
    OKAY = "okay"
    LOW = "low"
    DISTRESSED = "distressed"


class ReferralStatus(StrEnum):
    NEW = "new"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CLOSED = "closed"


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRISIS = "crisis"


class InterventionKind(StrEnum):
    INDIVIDUAL_TALK = "individual_talk"
    GROUP_SESSION = "group_session"
    PARENT_CONTACT = "parent_contact"
    TEACHER_CONSULT = "teacher_consult"
    REFERRAL_OUT = "referral_out"
    CRISIS_RESPONSE = "crisis_response"


class CheckSlot(StrEnum):
    """When in the school day a class is checked (晨午检: morning and noon by default)."""

    MORNING = "morning"
    NOON = "noon"
    AFTERNOON = "afternoon"
    EVENING = "evening"  # boarding schools' evening check


class AbsenceKind(StrEnum):
    ILLNESS = "illness"  # 因病缺勤: its cause is followed up the same day (病因追查)
    PERSONAL = "personal"
    OTHER = "other"


class SymptomCategory(StrEnum):
    FEVER = "fever"
    RESPIRATORY = "respiratory"
    GASTROINTESTINAL = "gastrointestinal"
    RASH = "rash"
    OTHER = "other"


class CaseOrigin(StrEnum):
    """How a counseling case came to the counselor."""

    REFERRAL = "referral"  # a teacher's referral
    SELF = "self"  # the student came
    PARENT = "parent"
    WALK_IN = "walk_in"
    OTHER = "other"
