"""The lead's setup screens driven as the lead uses them: areas, checklists, classes,
students (synced records, offline) and staff accounts (the server's, online)."""

from fastapi import FastAPI
from fastapi.testclient import TestClient

from client.checklists import checklist_items, checklist_text, edited_items
from client.shell import Shell
from shared.i18n import t
from tests.client.ui_support import (
    SERVER_URL,
    Event,
    Phones,
    check,
    click,
    find,
    finish_round,
    has,
    lead_on,
    server_record,
    synced,
    text_of,
    texts,
    type_into,
)
from tests.sync_support import School


def test_dashboard_says_which_cleaner_did_which_area(phones: Phones, school: School) -> None:
    cleaner = phones.sign_in("cleaner1")
    cleaner.tick(school.area_ids[0], "windows", True)
    finish_round(cleaner, school.area_ids[0])
    synced(cleaner)
    lead = phones.sign_in("lead")
    tree = Shell(lead, SERVER_URL).build()
    assert text_of(find(tree, "cleaner-done-0")) == "测试用户 (1): 一楼教室"

    # Offline, the names read at the last sync are still there.
    phones.network(lead).up = False
    assert text_of(find(Shell(lead, SERVER_URL).build(), "cleaner-done-0")).startswith("测试用户")


def test_checklist_lines_become_items_and_dosages() -> None:
    items = checklist_items("开窗通风\n\n 拖地 [含氯消毒液 500 mg/L]\n擦拭键盘 [75%酒精 75%]\n")
    assert items == {
        "item01": {"zh": "开窗通风", "order": 0},
        "item02": {
            "zh": "拖地",
            "order": 1,
            "dosage": {"disinfectant": "含氯消毒液", "concentration": 500.0, "unit": "mg_per_l"},
        },
        "item03": {
            "zh": "擦拭键盘",
            "order": 2,
            "dosage": {"disinfectant": "75%酒精", "concentration": 75.0, "unit": "percent"},
        },
    }


def test_lead_adds_a_checklist_and_an_area_the_cleaner_then_works(
    phones: Phones, school: School
) -> None:
    lead, shell = lead_on(phones, "checklists")
    tree = shell.build()
    assert has(tree, f"template-{school.template_id}")
    type_into(tree, "template-name", "食堂每餐消毒")
    type_into(tree, "template-items", "擦拭餐桌\n拖地 [含氯消毒液 500 mg/L]")
    click(tree, "template-save")
    assert lead.error is None
    [template] = [
        t for t in lead.records_of("checklist_templates") if t.fields["name"] == "食堂每餐消毒"
    ]
    assert has(shell.build(), f"template-{template.record_id}")

    click(shell.build(), "section-areas")
    tree = shell.build()
    type_into(tree, "area-name", "食堂")
    type_into(tree, "area-kind", "canteen")
    type_into(tree, "area-template", template.record_id)
    click(tree, "area-save")
    assert lead.error is None
    [area] = [a for a in lead.records_of("areas") if a.fields["name"] == "食堂"]
    assert "食堂每餐消毒" in text_of(find(shell.build(), f"area-row-{area.record_id}").subtitle)
    synced(lead)

    cleaner = phones.sign_in("cleaner1")
    items = {i["label"]: i for i in cleaner.checklist(area.record_id)}
    assert items["拖地"]["dosage_asked"]["concentration"] == 500
    assert items["擦拭餐桌"]["dosage_asked"] is None


def test_a_paused_area_leaves_the_cleaners_list(phones: Phones, school: School) -> None:
    lead, shell = lead_on(phones, "areas")
    area = school.area_ids[1]
    switch = find(shell.build(), f"area-active-{area}")
    assert switch.value is True
    switch.on_change(Event(switch))
    assert lead.error is None
    assert find(shell.build(), f"area-active-{area}").value is False
    synced(lead)
    cleaner = phones.sign_in("cleaner1")
    assert area not in {row.area_id for row in cleaner.today_areas()}
    assert school.area_ids[0] in {row.area_id for row in cleaner.today_areas()}


def test_lead_adds_a_class_with_its_teacher_and_a_student(
    phones: Phones, school: School, app: FastAPI
) -> None:
    lead, shell = lead_on(phones, "classes")
    teacher2 = next(p for p in lead.staff() if p["username"] == "teacher2")
    tree = shell.build()
    type_into(tree, "class-name", "初三(5)班")
    type_into(tree, "class-teacher", teacher2["id"])
    click(tree, "class-save")
    assert lead.error is None
    [new_class] = [c for c in lead.records_of("classes") if c.fields["name"] == "初三(5)班"]
    tree = shell.build()
    type_into(tree, "student-name", "王小明")
    type_into(tree, "student-no", "20260501")
    type_into(tree, "student-class", new_class.record_id)
    click(tree, "student-save")
    assert lead.error is None
    row = text_of(find(shell.build(), f"class-row-{new_class.record_id}"))
    assert row == "初三(5)班 · 1 名学生 · 测试用户"
    synced(lead)

    teacher = phones.sign_in("teacher2")
    assert new_class.record_id in {cid for cid, _name in teacher.my_classes()}
    assert [name for _sid, name in teacher.students_of(new_class.record_id)] == ["王小明"]


def test_lead_manages_staff_accounts_online(phones: Phones, app: FastAPI) -> None:
    lead, shell = lead_on(phones, "staff", lang="en")
    tree = shell.build()
    assert {"cleaner1", "teacher1", "counselor1", "lead"} <= {p["username"] for p in lead.staff()}
    type_into(tree, "person-username", "cleaner9")
    type_into(tree, "person-name", "张阿姨")
    type_into(tree, "person-role", "cleaner")
    type_into(tree, "person-password", "a-long-password-9")
    click(tree, "person-save")
    assert lead.error is None
    [person] = [p for p in lead.staff() if p["username"] == "cleaner9"]
    assert person["display_name"] == "张阿姨" and person["active"]
    assert has(shell.build(), f"person-{person['id']}")

    newcomer = phones.start()
    newcomer.sign_in(SERVER_URL, "cleaner9", "a-long-password-9")
    assert newcomer.error is None and newcomer.signed_in

    # A password that breaks the rules is refused with the server's reason; nothing changes.
    tree = shell.build()
    type_into(tree, f"password-{person['id']}", "short")
    click(tree, f"set-password-{person['id']}")
    assert lead.error is not None and lead.error.code == "invalid_value"
    assert lead.error.message == "Please check: Password needs at least 8 characters."

    click(shell.build(), f"person-active-{person['id']}")
    assert lead.error is None
    [person] = [p for p in lead.staff() if p["username"] == "cleaner9"]
    assert person["active"] is False
    assert "inactive" in " ".join(texts(find(shell.build(), f"person-{person['id']}")))
    again = phones.start()
    again.sign_in(SERVER_URL, "cleaner9", "a-long-password-9")
    assert again.error is not None and not again.signed_in

    # Offline: a plain "offline" message, and the list read before stays.
    phones.network(lead).up = False
    click(shell.build(), "staff-refresh")
    assert lead.error is not None and lead.error.code == "offline"
    assert any(p["username"] == "cleaner9" for p in lead.staff())


def test_only_the_lead_can_reach_staff_accounts(phones: Phones) -> None:
    cleaner = phones.sign_in("cleaner1")
    cleaner.refresh_staff()
    assert cleaner.error is not None and cleaner.error.code == "forbidden"
    assert cleaner.staff() == []


def test_a_dosage_line_in_a_new_checklist_reaches_the_cleaner(
    phones: Phones, school: School, app: FastAPI
) -> None:
    """A checklist made on the phone works for a cleaner the same day, dosage included."""
    lead, shell = lead_on(phones, "checklists")
    tree = shell.build()
    type_into(tree, "template-name", "卫生间")
    type_into(tree, "template-items", "便池刷洗 [含氯消毒液 1000 mg/L]")
    click(tree, "template-save")
    [template] = [t for t in lead.records_of("checklist_templates") if t.fields["name"] == "卫生间"]
    lead.edit_record("areas", school.area_ids[0], {"checklist_template_id": template.record_id})
    synced(lead)
    cleaner = phones.sign_in("cleaner1")
    state_shell = Shell(cleaner, SERVER_URL)
    click(state_shell.build(), f"area-{school.area_ids[0]}")
    tree = state_shell.build()
    assert find(tree, "concentration-item01").value == "1000"
    check(tree, "item-item01", True)
    assert cleaner.error is None
    synced(cleaner)
    [round_id] = [r.record_id for r in cleaner.records_of("disinfection_rounds")]
    record = server_record(app, "disinfection_rounds", round_id)
    assert record is not None
    assert record.fields["items"]["item01"]["dosage"]["concentration"] == 1000


def test_a_refused_change_is_fixed_and_sent_again(
    phones: Phones, school: School, app: FastAPI, client: TestClient
) -> None:
    lead, shell = lead_on(phones, "areas")
    spare = lead.add_record("checklist_templates", {"name": "备用", "items": {"a": {"zh": "擦"}}})
    synced(lead)
    area_id = lead.add_record(
        "areas",
        {
            "name": "操场",
            "kind": "public_area",
            "frequency_days": 2,
            "checklist_template_id": spare,
        },
    )
    # Meanwhile the checklist is deleted on the server (from the lead's computer).
    assert lead.session is not None
    token = lead.session.store.get_meta("token")
    reply = client.delete(
        f"/api/v1/admin/checklist_templates/{spare}", headers={"authorization": f"Bearer {token}"}
    )
    assert reply.status_code == 204

    click(shell.build(), "sync-now")
    [refused] = lead.rejected()
    change_id = refused.entry.change_id
    tree = shell.build()
    box = find(tree, f"rejected-{change_id}")
    assert text_of(box.title).startswith("区域: ")
    # Said in the user's words, naming the field by its label, not the server's English.
    assert text_of(box.title) == "区域: " + t("msg.refused.gone", "zh").format(field="检查单")
    assert find(tree, f"fix-{change_id}-checklist_template_id").label == "检查单"
    assert find(tree, f"fix-{change_id}-frequency_days").value == "2"
    assert server_record(app, "areas", area_id) is None

    type_into(tree, f"fix-{change_id}-checklist_template_id", school.template_id)
    click(tree, f"resend-{change_id}")
    assert lead.error is None and lead.rejected() == []
    click(shell.build(), "sync-now")
    assert lead.error is None and lead.rejected() == []
    stored = server_record(app, "areas", area_id)
    assert stored is not None
    assert stored.fields["checklist_template_id"] == school.template_id
    assert stored.fields["frequency_days"] == 2 and stored.fields["name"] == "操场"
    assert not has(shell.build(), "rejected-list")


def test_a_refused_change_can_be_discarded(phones: Phones, school: School) -> None:
    teacher = phones.sign_in("teacher1")
    shell = Shell(teacher, SERVER_URL)
    other_class_student = school.student_ids[school.class_ids[1]][0]
    assert teacher.session is not None
    # A referral for a student of another class (as if the class changed meanwhile).
    teacher.session.store.edit(
        "referrals",
        "0b5f4b58-3c5e-4c1e-9b9e-3f1d2c3b4a59",
        {"student_id": other_class_student, "reason": "情绪低落"},
    )
    click(shell.build(), "sync-now")
    [refused] = teacher.rejected()
    assert refused.code == "forbidden"
    click(shell.build(), f"discard-{refused.entry.change_id}")
    assert teacher.rejected() == [] and not has(shell.build(), "rejected-list")


def test_lead_renames_an_area_and_changes_how_often_it_is_due(
    phones: Phones, school: School, app: FastAPI
) -> None:
    lead, shell = lead_on(phones, "areas")
    area = school.area_ids[1]
    tree = shell.build()
    assert find(tree, f"area-name-{area}").value == "二楼教室"
    type_into(tree, f"area-frequency-{area}", "every other day")
    click(tree, f"area-update-{area}")
    assert lead.error is not None and lead.error.code == "invalid_value"
    assert (
        next(a for a in lead.records_of("areas") if a.record_id == area).fields["frequency_days"]
        == 1
    )  # nothing half saved

    tree = shell.build()
    type_into(tree, f"area-name-{area}", "二楼东侧教室")
    type_into(tree, f"area-frequency-{area}", "2")
    click(tree, f"area-update-{area}")
    assert lead.error is None
    assert "每 2 天" in text_of(find(shell.build(), f"area-row-{area}").subtitle)
    synced(lead)
    stored = server_record(app, "areas", area)
    assert stored is not None
    assert stored.fields["name"] == "二楼东侧教室" and stored.fields["frequency_days"] == 2
    cleaner = phones.sign_in("cleaner1")
    assert "二楼东侧教室" in {row.name for row in cleaner.today_areas()}


KEPT = {
    "item01": {"zh": "开窗通风", "en": "Ventilate", "order": 0, "dosage": None},
    "item02": {
        "zh": "拖地",
        "en": None,
        "order": 1,
        "dosage": {"disinfectant": "含氯消毒液", "concentration": 500.0, "unit": "mg_per_l"},
    },
    "item03": {"zh": "擦拭门把手", "order": 2},
    "item04": {
        "zh": "冷库温度",
        "en": "Cold room",
        "order": 3,
        "reading": {"unit": "°C", "low": -25.0, "high": None},
    },
    "item05": {"zh": "旧项目", "order": 4, "retired": True},
}


def test_a_checklist_is_shown_as_the_lines_the_lead_types() -> None:
    assert checklist_text(KEPT) == (
        "开窗通风 | Ventilate\n拖地 [含氯消毒液 500 mg/L]\n擦拭门把手\n"
        "冷库温度 | Cold room [读数 -25~ °C]"
    )
    # Read back, the lines say the same items (wording, English, what is asked, order).
    again = checklist_items(checklist_text(KEPT))
    fields = ("zh", "en", "dosage", "reading", "order")
    assert [tuple(i.get(f) for f in fields) for i in again.values()] == [
        tuple(i.get(f) for f in fields) for i in list(KEPT.values())[:4]
    ]


def test_edited_lines_keep_the_keys_of_the_items_they_still_are() -> None:
    unchanged = edited_items(KEPT, checklist_text(KEPT))
    assert unchanged == {}

    # Moved lines keep their keys; a corrected wording keeps the key of its place; a new
    # line gets a new key (after every key used, retired ones too); a dropped item is
    # retired, not removed.
    lines = (
        "拖地 [含氯消毒液 1000 mg/L]",
        "开窗通风 | Ventilate",
        "擦拭门把手和开关",
        "冷库温度 | Cold room [读数 -25~ °C]",
        "消毒电梯按钮",
    )
    edited = edited_items(KEPT, "\n".join(lines))
    assert edited == {
        "item02": {
            "zh": "拖地",
            "order": 0,
            "dosage": {"disinfectant": "含氯消毒液", "concentration": 1000.0, "unit": "mg_per_l"},
        },
        "item01": {"zh": "开窗通风", "en": "Ventilate", "order": 1},
        "item03": {"zh": "擦拭门把手和开关", "order": 2},
        "item06": {"zh": "消毒电梯按钮", "order": 4},
    }
    dropped = edited_items(KEPT, "开窗通风 | Ventilate\n拖地 [含氯消毒液 500 mg/L]")
    assert dropped == {
        "item03": {"zh": "擦拭门把手", "order": 2, "retired": True},
        "item04": {**KEPT["item04"], "retired": True},
    }


def test_lead_edits_a_checklist_and_the_cleaner_works_the_new_one(
    phones: Phones, school: School, app: FastAPI
) -> None:
    cleaner = phones.sign_in("cleaner1")
    area = school.area_ids[0]
    cleaner.tick(area, "windows", True)  # recorded before the change
    synced(cleaner)

    lead, shell = lead_on(phones, "checklists")
    template = school.template_id
    tree = shell.build()
    box = find(tree, f"template-items-{template}")
    assert box.value == (
        "擦拭课桌 | Wipe desks\n拖地 | Mop the floor [含氯消毒液 500 mg/L]\n开窗通风 | Ventilate"
    )
    type_into(tree, f"template-name-{template}", "教室每日消毒")
    # English after "|"; a line typed without it has none.
    lines = ("开窗通风 | Ventilate", "拖地 [含氯消毒液 1000 mg/L]", "消毒门把手 | Door handles")
    type_into(tree, f"template-items-{template}", "\n".join(lines))
    click(tree, f"template-update-{template}")
    assert lead.error is None
    tile = find(shell.build(), f"template-{template}")
    assert text_of(tile.title) == "教室每日消毒"
    assert "1. 开窗通风" in texts(tile)
    synced(lead)

    stored = server_record(app, "checklist_templates", template)
    assert stored is not None
    items = stored.fields["items"]
    assert items["desks"]["retired"] is True  # kept, so the rounds naming it still read
    assert items["windows"]["en"] == "Ventilate"
    assert items["floor"]["dosage"]["concentration"] == 1000
    assert items["floor"].get("en") is None
    assert items["item01"]["en"] == "Door handles"

    synced(cleaner)
    listed = cleaner.checklist(area)
    assert [(i["item_id"], i["label"]) for i in listed] == [
        ("windows", "开窗通风"),
        ("floor", "拖地"),
        ("item01", "消毒门把手"),
    ]
    assert listed[0]["done"] is True  # today's tick still stands on the same item
    assert listed[1]["dosage_asked"]["concentration"] == 1000


def test_lead_gives_an_area_its_english_name(phones: Phones, school: School, app: FastAPI) -> None:
    lead, shell = lead_on(phones, "areas")
    area = school.area_ids[0]
    tree = shell.build()
    assert find(tree, f"area-name-en-{area}").value == ""
    type_into(tree, f"area-name-en-{area}", " Classroom 1F ")
    click(tree, f"area-update-{area}")
    assert lead.error is None
    synced(lead)
    stored = server_record(app, "areas", area)
    assert stored is not None and stored.fields["name_en"] == "Classroom 1F"
    english = phones.sign_in("cleaner1", "en")
    assert "Classroom 1F" in {row.name for row in english.today_areas()}

    # Emptied, the English name is gone again (the Chinese one shows).
    tree = shell.build()
    type_into(tree, f"area-name-en-{area}", "")
    click(tree, f"area-update-{area}")
    synced(lead)
    stored = server_record(app, "areas", area)
    assert stored is not None and stored.fields["name_en"] is None


def test_lead_renames_a_class_and_hands_it_to_another_teacher(
    phones: Phones, school: School, app: FastAPI
) -> None:
    lead, shell = lead_on(phones, "classes")
    class_id = school.class_ids[0]
    teacher2 = next(p for p in lead.staff() if p["username"] == "teacher2")
    tree = shell.build()
    type_into(tree, f"class-name-{class_id}", "初一(1)班 (新)")
    type_into(tree, f"class-teacher-{class_id}", teacher2["id"])
    click(tree, f"class-update-{class_id}")
    assert lead.error is None
    assert text_of(find(shell.build(), f"class-row-{class_id}")).startswith("初一(1)班 (新) · ")
    synced(lead)
    stored = server_record(app, "classes", class_id)
    assert stored is not None and stored.fields["teacher_ids"] == [teacher2["id"]]

    teacher = phones.sign_in("teacher2")
    assert (class_id, "初一(1)班 (新)") in teacher.my_classes()
    teacher1 = phones.sign_in("teacher1")
    assert class_id not in {cid for cid, _name in teacher1.my_classes()}


def test_a_checklist_without_items_is_refused_and_nothing_changes(
    phones: Phones, school: School
) -> None:
    lead, shell = lead_on(phones, "checklists", "en")
    template = school.template_id
    before = next(t for t in lead.records_of("checklist_templates") if t.record_id == template)
    tree = shell.build()
    type_into(tree, f"template-items-{template}", "  \n\n ")
    click(tree, f"template-update-{template}")
    assert lead.error is not None and lead.error.code == "checklist_items_needed"
    assert "at least one item" in lead.error.message
    after = next(t for t in lead.records_of("checklist_templates") if t.record_id == template)
    assert after.fields == before.fields

    tree = shell.build()
    type_into(tree, "template-name", "Empty")
    click(tree, "template-save")
    assert lead.error is not None and lead.error.code == "checklist_items_needed"
    names = [t.fields["name"] for t in lead.records_of("checklist_templates")]
    assert "Empty" not in names
