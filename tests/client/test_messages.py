"""Refused values are said in the user's language and name the field by its label: never an
internal field name (`items.x.concentration`) nor pydantic's English."""

import re

import pytest

from client.messages import field_label, rejected_text
from shared.i18n import CATALOGUE, counted, t
from shared.schemas.collections import COLLECTIONS
from tests.client.ui_support import TODAY, Phones, synced
from tests.sync_support import School

# What a refusal must never show: a snake_case name, a dotted path, pydantic's words.
INTERNAL = re.compile(r"[a-z]+_[a-z_]+|\w+\.\w+\.|Input should|String should|Value error")


def _said_plainly(message: str, label: str) -> None:
    assert label in message, message
    assert not INTERNAL.search(message), message


def test_every_field_of_every_collection_has_a_label_in_both_languages() -> None:
    for name, spec in COLLECTIONS.items():
        for field in spec.schema.model_fields:
            for lang in ("zh", "en"):
                assert f"field.{name}.{field}" in CATALOGUE[lang], (lang, name, field)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_concentration_out_of_range_names_its_label(
    phones: Phones, school: School, lang: str
) -> None:
    cleaner = phones.sign_in("cleaner1", lang)
    area = school.area_ids[0]
    dosage = {"disinfectant": "含氯消毒液", "concentration": -5}
    cleaner.tick(area, "floor", True, dosage=dosage)
    assert cleaner.error is not None and cleaner.error.code == "invalid_value"
    message = cleaner.error.message
    _said_plainly(message, t("field.part.concentration", lang))
    assert message == f"{t('error.invalid_value', lang)} " + t("msg.greater_than", lang).format(
        field=t("field.part.concentration", lang), limit="0"
    )
    # Said again when the language changes, still by the label.
    other = "en" if lang == "zh" else "zh"
    cleaner.set_language(other)
    _said_plainly(cleaner.error.message, t("field.part.concentration", other))


def test_a_temperature_typed_as_words_is_not_a_number(phones: Phones, school: School) -> None:
    teacher = phones.sign_in("teacher1")
    class_id = school.class_ids[0]
    case_id = teacher.open_case(school.student_ids[class_id][0], TODAY, "发烧")
    assert case_id is not None
    teacher.add_follow_up(case_id, "phone", temperature_c="很高")
    assert teacher.error is not None
    assert teacher.error.message == "输入有误: 体温(°C)须是数字。"

    teacher.add_class_check(class_id, "morning", 3, fever_count=5)  # a rule over two fields
    assert teacher.error is not None
    assert teacher.error.message == "输入有误: 发热人数不能多于测量人数。"


def test_a_name_too_long_and_a_missing_one(phones: Phones) -> None:
    lead = phones.sign_in("lead")
    lead.add_record("classes", {"name": "班" * 101})
    assert lead.error is not None
    _said_plainly(lead.error.message, "班级名称")
    assert "100" in lead.error.message
    lead.add_record("students", {"name": "张三"})  # no class
    assert lead.error is not None
    assert lead.error.message == "输入有误: 请填写班级。"


def test_a_change_the_server_refused_is_said_in_the_users_language(
    phones: Phones, school: School
) -> None:
    teacher = phones.sign_in("teacher1")
    class_id = school.class_ids[0]
    teacher.add_class_check(class_id, "morning", 30, fever_count=2)
    assert teacher.error is None
    [check_id] = [r.record_id for r in teacher.records_of("temperature_checks")]
    synced(teacher)
    # One field alone is fine; the record it makes is not: only the server's check says so.
    assert teacher.session is not None
    teacher.session.store.edit("temperature_checks", check_id, {"fever_count": 40})
    teacher.sync_now()
    [refused] = teacher.rejected()
    assert refused.code == "invalid_value" and "fever_count" in refused.message
    assert teacher.rejected_reason(refused) == "发热人数不能多于测量人数。"
    teacher.set_language("en")
    assert teacher.rejected_reason(refused) == "With fever cannot be more than students checked."


def test_a_refusal_only_the_server_can_tell_names_the_field() -> None:
    said = rejected_text(
        "follow_ups",
        {"case_id": "0b0f7d2e-8f4c-4a8e-9d52-1f7a0d6c2a10"},
        "invalid_value",
        "case_id: no sick_cases record 0b0f7d2e-8f4c-4a8e-9d52-1f7a0d6c2a10",
        "zh",
    )
    assert said == "所选的病例在服务器上已不存在, 请重新选择。"
    forbidden = rejected_text(
        "sick_cases", {"symptoms": "咳嗽"}, "forbidden", "This sick_cases record is not…", "en"
    )
    _said_plainly(forbidden, "Sick student")


def test_an_edit_of_a_case_the_server_no_longer_keeps_is_said_as_such() -> None:
    detail = "This record is no longer on the server (a case closed longer ago than…"
    zh = rejected_text("sick_cases", {"status": "open"}, "record_removed", detail, "zh")
    assert zh == "服务器已不再保存这条患病学生记录 (结案已久), 此修改无法保存。"
    en = rejected_text("follow_ups", {"note": "又发热"}, "record_removed", detail, "en")
    assert en.startswith("This ") and "no longer kept on the server" in en
    _said_plainly(en, t("collection.follow_ups", "en"))


def test_labels_skip_map_entry_ids_and_fall_back_to_the_collection() -> None:
    assert field_label("disinfection_rounds", ("items", "wipe_desks", "note"), "zh") == "备注"
    assert field_label("checklist_templates", ("items", "a"), "en") == "Items"
    assert field_label("school_settings", ("closed_days", "2026-10-01"), "zh") == "放假日"
    assert field_label("areas", (), "zh") == "区域"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_control_characters_and_far_off_days_are_said_plainly(lang: str) -> None:
    note = rejected_text("disinfection_rounds", {"note": "a\x00b"}, "invalid_value", "", lang)
    assert note == t("msg.control_characters", lang).format(
        field=t("field.disinfection_rounds.note", lang)
    )
    day = rejected_text(
        "disinfection_rounds", {"round_date": "1999-12-31"}, "invalid_value", "", lang
    )
    assert day == t("msg.date_out_of_range", lang).format(
        field=t("field.disinfection_rounds.round_date", lang)
    )
    _said_plainly(note, t("field.disinfection_rounds.note", lang))


def test_english_counts_one_thing_in_the_singular_and_chinese_has_one_form() -> None:
    ones = [key.removesuffix(".one") for key in CATALOGUE["en"] if key.endswith(".one")]
    assert {"ui.status.overdue", "ui.missed_days", "ui.items_count", "error.unsynced"} <= set(ones)
    for key in ones:
        fields = {"days": 1, "count": 1, "items": "x"}
        one = counted(key, "en", 1).format(**fields)
        assert "1 " in one or "once" in one, (key, one)
        assert not re.search(r"\b1 (days|items|students|changes|times)\b", one), (key, one)
        assert counted(key, "en", 2) == counted(key, "en", 0) == t(key, "en")
        assert counted(key, "zh", 1) == counted(key, "zh", 2) == t(key, "zh")  # no .one
    assert counted("ui.status.overdue", "en", 1) == "Overdue 1 day"
    assert counted("ui.status.overdue", "en", 3).format(days=3) == "Overdue 3 days"
    assert counted("ui.status.overdue", "zh", 1).format(days=1) == "已逾期 1 天"
