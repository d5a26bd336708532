"""The collection schemas: whole records, single fields and map entries, writers."""

import json
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.schemas.collections import (
    COLLECTIONS,
    Collection,
    InvalidValue,
    UnknownField,
    split_field_key,
    validate_field,
    validate_record,
)
from shared.schemas.vocabulary import (
    AreaKind,
    CaseStatus,
    FollowUpMethod,
    InterventionKind,
    Mood,
    ReferralStatus,
    RiskLevel,
    Role,
)

AREA_ID = "0b7c1f5e-3a0d-4c55-9d0e-2f8f6f1c9a01"
TEMPLATE_ID = "5f0e8c2a-7b1d-4a3e-8c6f-1d2e3f4a5b60"
CLEANER_ID = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
TEACHER_ID = "c0ffee00-1234-4abc-9def-00112233aabb"
CLASS_ID = "d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6"
STUDENT_ID = "e2f3a4b5-c6d7-4e8f-90a1-b2c3d4e5f6a7"
CASE_ID = "f3a4b5c6-d7e8-4f90-a1b2-c3d4e5f6a7b8"
REFERRAL_ID = "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d"

RECORDS: dict[str, dict[str, Any]] = {
    "areas": {
        "name": "二楼东侧卫生间",
        "name_en": "Second floor east toilet",
        "kind": "toilet",
        "frequency_days": 1,
        "checklist_template_id": TEMPLATE_ID,
        "active": True,
        "walk_order": 12,
        "cleaner_ids": [CLEANER_ID],
    },
    "checklist_templates": {
        "name": "卫生间每日消毒",
        "name_en": "Toilet daily disinfection",
        "items": {
            "wipe_handles": {
                "zh": "擦拭门把手和水龙头",
                "en": "Wipe handles and taps",
                "order": 1,
                "dosage": None,
                "reading": None,
                "retired": False,
            },
            "mop_floor": {
                "zh": "含氯消毒液拖地",
                "en": "Mop with chlorine solution",
                "order": 2,
                "dosage": {
                    "disinfectant": "含氯消毒液",
                    "concentration": 500.0,
                    "unit": "mg_per_l",
                },
                "reading": None,
                "retired": False,
            },
            "ventilate": {
                "zh": "开窗通风30分钟",
                "en": None,
                "order": 3,
                "dosage": None,
                "reading": {"unit": "°C", "low": -25.0, "high": -15.0},
                "retired": True,
            },
        },
    },
    "disinfection_rounds": {
        "area_id": AREA_ID,
        "round_date": "2026-11-29",
        "cleaner_id": CLEANER_ID,
        "items": {
            "wipe_handles": {
                "done": True,
                "at": "2026-11-29T08:15:30Z",
                "note": "",
                "dosage": None,
                "reading": None,
                "skipped": None,
            },
            "mop_floor": {
                "done": True,
                "at": "2026-11-29T16:20:00+08:00",
                "note": "消毒液快用完了",
                "dosage": {"disinfectant": "84消毒液", "concentration": 250.0, "unit": "mg_per_l"},
                "reading": None,
                "skipped": None,
            },
            "ventilate": {
                "done": False,
                "at": None,
                "note": "",
                "dosage": None,
                "reading": None,
                "skipped": "area_locked",
            },
        },
        "completed_at": "2026-11-29T08:40:00Z",
        "note": "窗户插销坏了，已报修",
    },
    "classes": {
        "name": "初二(3)班",
        "name_en": "Grade 8 Class 3",
        "teacher_ids": [TEACHER_ID],
    },
    "students": {"name": "李小明", "class_id": CLASS_ID, "student_no": "2024-0315"},
    "sick_cases": {
        "student_id": STUDENT_ID,
        "class_id": CLASS_ID,
        "onset_date": "2026-11-27",
        "opened_on": "2026-11-28",
        "symptoms": "发热38.5°C，咳嗽，咽痛",
        "status": "closed",
        "returned_on": "2026-12-02",
        "medical_care": "社区医院就诊，诊断为流感",
        "clearance_by": "社区医院 张医生",
        "clearance_on": "2026-12-01",
        "clearance_waived": "",
        "symptom": "fever",
    },
    "follow_ups": {
        "case_id": CASE_ID,
        "visit_date": "2026-11-28",
        "method": "phone",
        "temperature_c": 37.8,
        "condition": "体温下降，仍有咳嗽",
        "mood": "okay",
        "note": "家长说孩子在家按时服药",
        "next_step": "周一再电话回访",
    },
    "referrals": {
        "student_id": STUDENT_ID,
        "reason": "近两周上课注意力不集中，情绪低落，与同学交流减少",
        "status": "accepted",
        "declined_reason": "",
    },
    "counseling_cases": {
        "student_id": STUDENT_ID,
        "opened_on": "2026-11-30",
        "risk_level": "medium",
        "status": "open",
        "next_follow_up": "2026-12-05",
        "referral_id": REFERRAL_ID,
        "origin": "referral",
        "counselor_id": TEACHER_ID,
        "outcome": "",
        "note": "学生表示父母近期离异，睡眠不好",
    },
    "temperature_checks": {
        "class_id": CLASS_ID,
        "checked_at": "2026-11-28T07:40:00+08:00",
        "day": "2026-11-28",
        "slot": "morning",
        "students_checked": 41,
        "absent": 2,
        "fever_count": 1,
        "fever_student_ids": [STUDENT_ID],
        "checked_by": TEACHER_ID,
        "note": "王小红 37.6°C, 已通知家长",
    },
    "case_views": {
        "case_id": CASE_ID,
        "viewed_at": "2026-12-01T10:15:00Z",
        "viewer_id": TEACHER_ID,
        "device_id": "phone-7f3a",
    },
    "absences": {
        "student_id": STUDENT_ID,
        "class_id": CLASS_ID,
        "day": "2026-11-28",
        "kind": "illness",
        "symptom": "respiratory",
        "saw_doctor": True,
        "diagnosis": "流感",
        "infectious": True,
        "case_id": CASE_ID,
        "note": "",
    },
    "school_settings": {
        "timezone": "Asia/Shanghai",
        "closed_days": {"2026-10-01": "国庆节", "2026-10-02": "国庆节"},
        "closed_weekdays": [5, 6],
        "open_days": {"2026-09-28": "调休"},
        "temperature_checks_per_day": 3,
        "check_slots": ["morning", "noon", "evening"],
        "cluster_day_count": 3,
        "cluster_window_count": 5,
        "cluster_window_days": 3,
        "clearance_required": True,
        "idle_lock_minutes": 10,
        "closed_cases_on_phones_days": 14,
        "contact_interval_days": {"crisis": 1, "high": 2},
    },
    "interventions": {
        "case_id": CASE_ID,
        "held_on": "2026-12-01",
        "kind": "individual_talk",
        "note": "第一次个别谈话，建立信任关系",
        "risk_level": "low",
    },
    "conflicts": {
        "collection": "follow_ups",
        "record_id": CASE_ID,
        "field": "condition",
        "winner": {
            "value": "体温正常",
            "hlc": "1764404130123-000000-phone-7f3a",
            "author": TEACHER_ID,
            "device": "phone-7f3a",
        },
        "loser": {
            "value": "仍在发热",
            "hlc": "1764404130100-000003-tablet-02",
            "author": TEACHER_ID,
            "device": "tablet-02",
        },
        "settled_by": None,
    },
}

REQUIRED: list[tuple[str, str]] = [
    (name, field)
    for name, collection in COLLECTIONS.items()
    for field, info in collection.schema.model_fields.items()
    if info.is_required()
]


def _record(collection: str, /, **changes: Any) -> dict[str, Any]:
    return {**RECORDS[collection], **changes}


def test_every_collection_has_a_sample_record() -> None:
    assert set(RECORDS) == set(COLLECTIONS)


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_realistic_full_record_validates_unchanged(name: str) -> None:
    result = validate_record(COLLECTIONS[name], RECORDS[name])
    assert result == RECORDS[name]
    # JSON-ready: plain data that serialises and comes back equal.
    assert json.loads(json.dumps(result, ensure_ascii=False)) == result


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_validating_a_record_twice_is_stable(name: str) -> None:
    once = validate_record(COLLECTIONS[name], RECORDS[name])
    assert validate_record(COLLECTIONS[name], once) == once


def test_minimal_record_gets_defaults_filled() -> None:
    result = validate_record(
        COLLECTIONS["disinfection_rounds"],
        {"area_id": AREA_ID, "round_date": "2026-11-29", "cleaner_id": CLEANER_ID},
    )
    assert result == {
        "area_id": AREA_ID,
        "round_date": "2026-11-29",
        "cleaner_id": CLEANER_ID,
        "items": {},
        "completed_at": None,
        "note": "",
    }
    sick = validate_record(
        COLLECTIONS["sick_cases"],
        {
            "student_id": STUDENT_ID,
            "class_id": CLASS_ID,
            "onset_date": "2026-11-27",
            "symptoms": "腹泻",
        },
    )
    assert sick["status"] == "open"
    assert sick["returned_on"] is None


def test_record_values_are_json_ready() -> None:
    result = validate_record(COLLECTIONS["students"], {"name": "王芳", "class_id": UUID(CLASS_ID)})
    assert result == {"name": "王芳", "class_id": CLASS_ID, "student_no": None}
    case = validate_record(
        COLLECTIONS["counseling_cases"],
        {
            "student_id": UUID(STUDENT_ID),
            "risk_level": RiskLevel.HIGH,
            "next_follow_up": date(2026, 12, 5),
        },
    )
    assert case["student_id"] == STUDENT_ID
    assert case["risk_level"] == "high"
    assert type(case["risk_level"]) is str
    assert case["next_follow_up"] == "2026-12-05"
    json.dumps(case)


@pytest.mark.parametrize(("name", "field"), REQUIRED)
def test_missing_required_field_is_invalid_value(name: str, field: str) -> None:
    record = {k: v for k, v in RECORDS[name].items() if k != field}
    with pytest.raises(InvalidValue):
        validate_record(COLLECTIONS[name], record)


def test_required_fields_include_the_protocol_key_fields() -> None:
    assert ("areas", "name") in REQUIRED
    assert ("disinfection_rounds", "area_id") in REQUIRED
    assert ("sick_cases", "student_id") in REQUIRED
    assert ("follow_ups", "method") in REQUIRED
    assert ("counseling_cases", "risk_level") in REQUIRED
    assert ("interventions", "kind") in REQUIRED


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_unknown_field_in_record_is_unknown_field(name: str) -> None:
    with pytest.raises(UnknownField):
        validate_record(COLLECTIONS[name], _record(name, colour="红色"))


def test_unknown_field_wins_over_invalid_value() -> None:
    with pytest.raises(UnknownField):
        validate_record(COLLECTIONS["areas"], _record("areas", kind="garden", colour="红"))


@pytest.mark.parametrize(
    ("name", "field", "value"),
    [
        ("areas", "kind", "garden"),
        ("areas", "kind", "Classroom"),
        ("areas", "kind", "教室"),
        ("areas", "kind", ""),
        ("follow_ups", "mood", "sad"),
        ("follow_ups", "mood", "GOOD"),
        ("follow_ups", "method", "email"),
        ("follow_ups", "method", "home visit"),
        ("counseling_cases", "risk_level", "extreme"),
        ("counseling_cases", "risk_level", 3),
        ("interventions", "risk_level", "none"),
        ("sick_cases", "status", "pending"),
        ("counseling_cases", "status", "new"),
        ("referrals", "status", "open"),
        ("referrals", "status", "rejected"),
        ("interventions", "kind", "lecture"),
        ("interventions", "kind", "individual talk"),
    ],
)
def test_enum_refuses_other_words(name: str, field: str, value: Any) -> None:
    collection = COLLECTIONS[name]
    with pytest.raises(InvalidValue):
        validate_field(collection, field, value)
    with pytest.raises(InvalidValue):
        validate_record(collection, _record(name, **{field: value}))


@pytest.mark.parametrize(
    ("name", "field", "words"),
    [
        ("areas", "kind", list(AreaKind)),
        ("follow_ups", "mood", list(Mood)),
        ("follow_ups", "method", list(FollowUpMethod)),
        ("counseling_cases", "risk_level", list(RiskLevel)),
        ("interventions", "risk_level", list(RiskLevel)),
        ("sick_cases", "status", list(CaseStatus)),
        ("counseling_cases", "status", list(CaseStatus)),
        ("referrals", "status", list(ReferralStatus)),
        ("interventions", "kind", list(InterventionKind)),
    ],
)
def test_enum_accepts_every_protocol_word(name: str, field: str, words: list[str]) -> None:
    for word in words:
        assert validate_field(COLLECTIONS[name], field, str(word)) == str(word)


def test_vocabularies_match_the_protocol() -> None:
    assert {str(k) for k in AreaKind} >= {
        "classroom",
        "dorm",
        "canteen",
        "toilet",
        "public_area",
        "ventilation",
        "cold_chain",
        "parcel_point",
    }
    assert {str(m) for m in Mood} == {"good", "okay", "low", "distressed"}
    assert {str(m) for m in FollowUpMethod} == {"home_visit", "phone", "video"}
    assert {str(r) for r in RiskLevel} == {"low", "medium", "high", "crisis"}
    assert {str(s) for s in ReferralStatus} == {"new", "accepted", "declined", "closed"}
    assert {str(s) for s in CaseStatus} == {"open", "closed"}
    assert {str(k) for k in InterventionKind} == {
        "individual_talk",
        "group_session",
        "parent_contact",
        "teacher_consult",
        "referral_out",
        "crisis_response",
    }
    assert {str(r) for r in Role} == {"cleaner", "class_teacher", "counselor", "lead"}


@pytest.mark.parametrize(
    ("name", "field", "limit"),
    [
        ("areas", "name", 100),
        ("checklist_templates", "name", 100),
        ("classes", "name", 100),
        ("students", "name", 50),
        ("disinfection_rounds", "note", 500),
        ("sick_cases", "symptoms", 2000),
        ("follow_ups", "condition", 2000),
        ("follow_ups", "note", 8000),
        ("referrals", "reason", 2000),
        ("counseling_cases", "note", 8000),
    ],
)
def test_string_length_limits_count_characters(name: str, field: str, limit: int) -> None:
    collection = COLLECTIONS[name]
    at_limit = "消" * limit
    assert validate_field(collection, field, at_limit) == at_limit
    assert validate_record(collection, _record(name, **{field: at_limit}))[field] == at_limit
    with pytest.raises(InvalidValue):
        validate_field(collection, field, at_limit + "毒")
    with pytest.raises(InvalidValue):
        validate_record(collection, _record(name, **{field: at_limit + "毒"}))


def test_area_name_over_100_and_student_name_over_50_refused() -> None:
    with pytest.raises(InvalidValue):
        validate_record(COLLECTIONS["areas"], _record("areas", name="a" * 101))
    with pytest.raises(InvalidValue):
        validate_record(COLLECTIONS["students"], _record("students", name="李" * 51))


@pytest.mark.parametrize(
    ("name", "field"),
    [("areas", "name"), ("students", "name"), ("classes", "name")],
)
@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_blank_names_refused(name: str, field: str, blank: str) -> None:
    with pytest.raises(InvalidValue):
        validate_field(COLLECTIONS[name], field, blank)


def test_whitespace_is_stripped() -> None:
    assert validate_field(COLLECTIONS["areas"], "name", "  二楼东侧卫生间 \n") == "二楼东侧卫生间"
    record = validate_record(COLLECTIONS["students"], _record("students", name="\t李小明  "))
    assert record["name"] == "李小明"
    assert validate_field(COLLECTIONS["follow_ups"], "note", "  按时服药  ") == "按时服药"
    item = validate_field(COLLECTIONS["checklist_templates"], "items.mop_floor", {"zh": "  拖地  "})
    assert item["zh"] == "拖地"
    # Stripping happens before the length check: padding does not count.
    padded = "  " + "名" * 100 + "  "
    assert validate_field(COLLECTIONS["areas"], "name", padded) == "名" * 100


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("disinfection_rounds", "round_date"),
        ("sick_cases", "onset_date"),
        ("sick_cases", "returned_on"),
        ("follow_ups", "visit_date"),
        ("counseling_cases", "next_follow_up"),
        ("interventions", "held_on"),
    ],
)
@pytest.mark.parametrize(
    "bad", ["2026-13-01", "2026-02-30", "2026-00-10", "29/11/2026", "2026-1-5", "明天", ""]
)
def test_dates_must_be_iso_dates(name: str, field: str, bad: str) -> None:
    collection = COLLECTIONS[name]
    with pytest.raises(InvalidValue):
        validate_field(collection, field, bad)
    with pytest.raises(InvalidValue):
        validate_record(collection, _record(name, **{field: bad}))


def test_iso_date_accepted_including_leap_day() -> None:
    assert validate_field(COLLECTIONS["sick_cases"], "onset_date", "2028-02-29") == "2028-02-29"
    assert validate_field(COLLECTIONS["sick_cases"], "onset_date", date(2026, 1, 5)) == (
        "2026-01-05"
    )


@pytest.mark.parametrize(
    "at", ["2026-11-29T08:15:30", "2026-11-29 08:15:30", "08:15:30Z", "2026-11-29", "昨天"]
)
def test_round_item_at_needs_an_offset(at: str) -> None:
    rounds = COLLECTIONS["disinfection_rounds"]
    with pytest.raises(InvalidValue):
        validate_field(rounds, "items.wipe_handles", {"done": True, "at": at, "note": ""})
    with pytest.raises(InvalidValue):
        validate_field(rounds, "items", {"wipe_handles": {"done": True, "at": at}})
    with pytest.raises(InvalidValue):
        validate_record(
            rounds, _record("disinfection_rounds", items={"wipe_handles": {"done": True, "at": at}})
        )


@pytest.mark.parametrize(
    "at", ["2026-11-29T08:15:30Z", "2026-11-29T16:15:30+08:00", "2026-11-29T08:15:30.250-05:00"]
)
def test_round_item_at_with_offset_accepted(at: str) -> None:
    item = validate_field(
        COLLECTIONS["disinfection_rounds"], "items.wipe_handles", {"done": True, "at": at}
    )
    assert item["done"] is True
    assert isinstance(item["at"], str)
    assert item["at"][:10] == "2026-11-29"


def test_completed_at_needs_an_offset() -> None:
    rounds = COLLECTIONS["disinfection_rounds"]
    with pytest.raises(InvalidValue):
        validate_field(rounds, "completed_at", "2026-11-29T08:40:00")
    assert validate_field(rounds, "completed_at", "2026-11-29T08:40:00Z") == "2026-11-29T08:40:00Z"
    assert validate_field(rounds, "completed_at", None) is None


@pytest.mark.parametrize("value", [34, 34.0, 36.6, 37, 40.2, 43, 43.0])
def test_temperature_in_plausible_range_accepted(value: float) -> None:
    follow_ups = COLLECTIONS["follow_ups"]
    assert validate_field(follow_ups, "temperature_c", value) == value
    assert (
        validate_record(follow_ups, _record("follow_ups", temperature_c=value))["temperature_c"]
        == value
    )


@pytest.mark.parametrize("value", [33.9, 43.1, -1, 0, 98.6, 365, "hot", "", float("nan")])
def test_temperature_out_of_range_refused(value: Any) -> None:
    follow_ups = COLLECTIONS["follow_ups"]
    with pytest.raises(InvalidValue):
        validate_field(follow_ups, "temperature_c", value)
    with pytest.raises(InvalidValue):
        validate_record(follow_ups, _record("follow_ups", temperature_c=value))


def test_temperature_may_be_left_empty() -> None:
    assert validate_field(COLLECTIONS["follow_ups"], "temperature_c", None) is None


@pytest.mark.parametrize("value", [0, -1, -7, 367])
def test_frequency_days_out_of_range_refused(value: int) -> None:
    with pytest.raises(InvalidValue):
        validate_field(COLLECTIONS["areas"], "frequency_days", value)
    with pytest.raises(InvalidValue):
        validate_record(COLLECTIONS["areas"], _record("areas", frequency_days=value))


@pytest.mark.parametrize("value", [1, 7, 366])
def test_frequency_days_in_range_accepted(value: int) -> None:
    assert validate_field(COLLECTIONS["areas"], "frequency_days", value) == value


def test_validate_single_fields() -> None:
    areas = COLLECTIONS["areas"]
    assert validate_field(areas, "name", "食堂") == "食堂"
    assert validate_field(areas, "kind", "canteen") == "canteen"
    assert validate_field(areas, "active", False) is False
    with pytest.raises(InvalidValue):
        validate_field(areas, "checklist_template_id", "not-a-uuid")
    with pytest.raises(InvalidValue):
        validate_field(areas, "name", None)


def test_validate_field_returns_json_ready_values() -> None:
    template_id = uuid4()
    out = validate_field(COLLECTIONS["areas"], "checklist_template_id", template_id)
    assert out == str(template_id)
    assert type(out) is str
    assert validate_field(COLLECTIONS["sick_cases"], "onset_date", date(2026, 11, 27)) == (
        "2026-11-27"
    )
    teachers = validate_field(COLLECTIONS["classes"], "teacher_ids", [UUID(TEACHER_ID)])
    assert teachers == [TEACHER_ID]
    assert validate_field(COLLECTIONS["follow_ups"], "method", FollowUpMethod.VIDEO) == "video"
    json.dumps(teachers)


def test_round_item_entry_validated_and_defaults_filled() -> None:
    rounds = COLLECTIONS["disinfection_rounds"]
    full = {
        "done": True,
        "at": "2026-11-29T08:15:30Z",
        "note": "",
        "dosage": None,
        "reading": -18.5,
        "skipped": None,
    }
    assert validate_field(rounds, "items.wipe_desks", full) == full
    none = {"dosage": None, "reading": None, "skipped": None}
    assert validate_field(rounds, "items.wipe_desks", {"done": True}) == {
        "done": True,
        "at": None,
        "note": "",
        **none,
    }
    with_note = validate_field(rounds, "items.mop_floor", {"done": False, "note": "  拖把坏了  "})
    assert with_note == {"done": False, "at": None, "note": "拖把坏了", **none}
    for bad in (float("nan"), float("inf"), 2e6):
        with pytest.raises(InvalidValue):
            validate_field(rounds, "items.cold_room", {"done": True, "reading": bad})
    with pytest.raises(InvalidValue):
        validate_field(rounds, "items.mop_floor", {"done": False, "skipped": "felt_like_it"})
    used = {"disinfectant": " 84消毒液 ", "concentration": "500"}
    dosed = validate_field(rounds, "items.mop_floor", {"done": True, "dosage": used})
    assert dosed["dosage"] == {
        "disinfectant": "84消毒液",
        "concentration": 500.0,
        "unit": "mg_per_l",
    }


@pytest.mark.parametrize(
    "dosage",
    [
        {"disinfectant": "", "concentration": 500},
        {"disinfectant": "含氯消毒液", "concentration": 0},
        {"disinfectant": "含氯消毒液", "concentration": -5},
        {"disinfectant": "酒精", "concentration": 175, "unit": "percent"},
        {"disinfectant": "含氯消毒液", "concentration": 500, "unit": "ppm"},
        {"disinfectant": "含氯消毒液"},
    ],
)
def test_an_impossible_dosage_is_invalid_value(dosage: dict[str, Any]) -> None:
    with pytest.raises(InvalidValue):
        validate_field(
            COLLECTIONS["disinfection_rounds"], "items.mop_floor", {"done": True, "dosage": dosage}
        )
    with pytest.raises(InvalidValue):
        validate_field(
            COLLECTIONS["checklist_templates"], "items.mop_floor", {"zh": "拖地", "dosage": dosage}
        )


@pytest.mark.parametrize(
    "value",
    [
        {},
        {"at": "2026-11-29T08:15:30Z"},
        {"done": True, "extra": 1},
        {"done": True, "note": "备" * 501},
        "done",
        None,
    ],
)
def test_bad_round_item_entry_is_invalid_value(value: Any) -> None:
    with pytest.raises(InvalidValue):
        validate_field(COLLECTIONS["disinfection_rounds"], "items.wipe_desks", value)


def test_checklist_template_entry_validated() -> None:
    templates = COLLECTIONS["checklist_templates"]
    assert validate_field(templates, "items.wipe_handles", {"zh": "擦门把手"}) == {
        "zh": "擦门把手",
        "en": None,
        "order": 0,
        "dosage": None,
        "reading": None,
        "retired": False,
    }
    with pytest.raises(InvalidValue):
        validate_field(templates, "items.wipe_handles", {"zh": ""})
    with pytest.raises(InvalidValue, match="above the highest"):
        validate_field(
            templates,
            "items.cold",
            {"zh": "冷库温度", "reading": {"unit": "°C", "low": 5, "high": 1}},
        )
    with pytest.raises(InvalidValue):
        validate_field(templates, "items.wipe_handles", "擦门把手")


@pytest.mark.parametrize(
    "key",
    [
        "items.",
        "items.bad key",
        "items.a.b",
        "items.桌子",
        "items.wipe/desks",
        "items." + "k" * 65,
    ],
)
def test_malformed_map_entry_key_is_unknown_field(key: str) -> None:
    with pytest.raises(UnknownField):
        validate_field(COLLECTIONS["disinfection_rounds"], key, {"done": True})


def test_longest_map_entry_key_accepted() -> None:
    key = "items." + "k" * 64
    assert validate_field(COLLECTIONS["disinfection_rounds"], key, {"done": True})["done"]


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("areas", "name.x"),
        ("areas", "kind.classroom"),
        ("classes", "teacher_ids.0"),
        ("disinfection_rounds", "note.a"),
        ("follow_ups", "note.x"),
    ],
)
def test_entry_of_non_map_field_is_unknown_field(name: str, key: str) -> None:
    with pytest.raises(UnknownField):
        validate_field(COLLECTIONS[name], key, "x")


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("areas", "colour"),
        ("areas", "Name"),
        ("areas", ""),
        ("areas", "colour.x"),
        ("disinfection_rounds", "item.wipe_desks"),
        ("students", "model_config"),
        ("follow_ups", "temperature"),
    ],
)
def test_unknown_field_is_unknown_field(name: str, key: str) -> None:
    with pytest.raises(UnknownField):
        validate_field(COLLECTIONS[name], key, "x")


UNRECORDED = {"dosage": None, "reading": None, "skipped": None}


def test_whole_map_accepted() -> None:
    rounds = COLLECTIONS["disinfection_rounds"]
    items = {
        "wipe_desks": {"done": True, "at": "2026-11-29T08:15:30Z"},
        "mop_floor": {"done": False},
    }
    assert validate_field(rounds, "items", items) == {
        "wipe_desks": {"done": True, "at": "2026-11-29T08:15:30Z", "note": "", **UNRECORDED},
        "mop_floor": {"done": False, "at": None, "note": "", **UNRECORDED},
    }
    assert validate_field(rounds, "items", {}) == {}
    templates = COLLECTIONS["checklist_templates"]
    assert (
        validate_field(templates, "items", RECORDS["checklist_templates"]["items"])
        == (RECORDS["checklist_templates"]["items"])
    )


def test_whole_map_checks_keys_and_size() -> None:
    rounds = COLLECTIONS["disinfection_rounds"]
    with pytest.raises(InvalidValue):
        validate_field(rounds, "items", {"bad key": {"done": True}})
    with pytest.raises(InvalidValue):
        validate_field(rounds, "items", {f"i{n}": {"done": True} for n in range(101)})
    assert len(validate_field(rounds, "items", {f"i{n}": {"done": True} for n in range(100)})) == (
        100
    )
    with pytest.raises(InvalidValue):
        # A template without items is no template.
        validate_field(COLLECTIONS["checklist_templates"], "items", {})


def test_split_field_key() -> None:
    assert split_field_key("items.wipe_desks") == ("items", "wipe_desks")
    assert split_field_key("name") == ("name", None)
    assert split_field_key("items.") == ("items", "")


MAP_KEY_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"


@settings(max_examples=60, deadline=None)
@given(entry=st.text(alphabet=MAP_KEY_ALPHABET, min_size=1, max_size=64))
def test_any_well_formed_map_key_accepted(entry: str) -> None:
    result = validate_field(COLLECTIONS["disinfection_rounds"], f"items.{entry}", {"done": True})
    assert result == {"done": True, "at": None, "note": "", **UNRECORDED}


@settings(max_examples=60, deadline=None)
@given(
    prefix=st.text(alphabet=MAP_KEY_ALPHABET, max_size=10),
    bad=st.characters(blacklist_characters=MAP_KEY_ALPHABET),
    suffix=st.text(alphabet=MAP_KEY_ALPHABET, max_size=10),
)
def test_map_key_with_any_other_character_refused(prefix: str, bad: str, suffix: str) -> None:
    with pytest.raises(UnknownField):
        validate_field(
            COLLECTIONS["disinfection_rounds"], f"items.{prefix}{bad}{suffix}", {"done": True}
        )


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(
        alphabet=st.characters(blacklist_categories=["Cs", "Zs", "Zl", "Zp", "Cc"]),
        min_size=1,
        max_size=50,
    )
)
def test_person_names_round_trip(text: str) -> None:
    assert validate_field(COLLECTIONS["students"], "name", f" {text} ") == text


EXPECTED_WRITERS: dict[str, set[Role]] = {
    "areas": {Role.LEAD},
    "checklist_templates": {Role.LEAD},
    "classes": {Role.LEAD},
    "students": {Role.LEAD},
    "disinfection_rounds": {Role.CLEANER, Role.LEAD},
    "sick_cases": {Role.CLASS_TEACHER},
    "follow_ups": {Role.CLASS_TEACHER},
    "referrals": {Role.CLASS_TEACHER, Role.COUNSELOR},
    "counseling_cases": {Role.COUNSELOR},
    "interventions": {Role.COUNSELOR},
    "temperature_checks": {Role.CLASS_TEACHER},
    "absences": {Role.CLASS_TEACHER},
    "case_views": {Role.COUNSELOR},
    "school_settings": {Role.LEAD},
}


@pytest.mark.parametrize("name", sorted(EXPECTED_WRITERS))
def test_writers_match_the_protocol(name: str) -> None:
    assert COLLECTIONS[name].writers == EXPECTED_WRITERS[name]


def test_collections_are_the_protocol_ones() -> None:
    assert set(COLLECTIONS) == {*EXPECTED_WRITERS, "conflicts"}
    for name, collection in COLLECTIONS.items():
        assert isinstance(collection, Collection)
        assert collection.name == name


def test_only_counseling_notes_and_outcomes_are_confidential() -> None:
    assert COLLECTIONS["counseling_cases"].confidential == {"note", "outcome"}
    assert COLLECTIONS["interventions"].confidential == {"note"}
    for name, collection in COLLECTIONS.items():
        if name not in {"counseling_cases", "interventions"}:
            assert collection.confidential == frozenset(), name
        for field in collection.confidential:
            assert field in collection.schema.model_fields


def test_map_fields_are_the_checklists_and_the_school_settings() -> None:
    assert COLLECTIONS["checklist_templates"].map_fields == {"items"}
    assert COLLECTIONS["disinfection_rounds"].map_fields == {"items"}
    assert COLLECTIONS["school_settings"].map_fields == {
        "closed_days",
        "open_days",
        "contact_interval_days",
    }
    for name, collection in COLLECTIONS.items():
        if name not in {"checklist_templates", "disinfection_rounds", "school_settings"}:
            assert collection.map_fields == frozenset(), name


def test_nobody_writes_conflicts_directly_by_role() -> None:
    assert COLLECTIONS["conflicts"].writers == frozenset()
