"""The lead's conflicts as a person can settle them: the record by its name, the field by its
label in the lead's language, each value in words, who wrote it on which device and when,
and which value is in use now."""

import re
import time

from client.app_state import AppState
from tests.client.ui_support import TODAY, Phones, round_note_conflict, synced
from tests.sync_support import School


def _two_leads_edit(phones: Phones, collection: str, record_id: str, first: dict, then: dict):  # type: ignore[no-untyped-def]
    """The lead edits a record on two phones offline, then both sync: a conflict."""
    one, two = phones.sign_in("lead"), phones.sign_in("lead")
    synced(one, two)
    assert one.session is not None and two.session is not None
    one.session.store.edit(collection, record_id, first)
    time.sleep(0.005)  # the second phone's edit is the later one, the winner
    two.session.store.edit(collection, record_id, then)
    synced(one, two)
    return two


def _one_conflict(lead: AppState) -> dict:  # type: ignore[type-arg]
    [conflict] = lead.conflicts()
    return conflict


def test_a_rounds_note_names_the_area_and_day_and_marks_the_value_in_use(
    phones: Phones, school: School
) -> None:
    _round_id, winner, loser = round_note_conflict(phones, school.area_ids[0])
    lead = phones.sign_in("lead")
    conflict = _one_conflict(lead)
    assert conflict["record_name"] == f"一楼教室 · {TODAY.isoformat()}"
    assert conflict["field_label"] == "备注"
    assert conflict["winner"]["shown"] == winner and conflict["winner"]["in_use"] is True
    assert conflict["loser"]["shown"] == loser and conflict["loser"]["in_use"] is False
    for side in ("winner", "loser"):
        assert conflict[side]["who"] == "测试用户"  # the cleaner's name, not an id
        assert conflict[side]["device"]
        assert re.fullmatch(r"\d\d-\d\d \d\d:\d\d", conflict[side]["when"])
    lead.set_language("en")
    assert _one_conflict(lead)["field_label"] == "Note"


def test_an_area_renamed_on_two_phones(phones: Phones, school: School) -> None:
    area = school.area_ids[0]
    lead = _two_leads_edit(phones, "areas", area, {"name": "一楼东教室"}, {"name": "一楼西教室"})
    conflict = _one_conflict(lead)
    assert conflict["record_name"] == "一楼西教室"  # its name now
    assert conflict["field_label"] == "名称"
    assert (conflict["winner"]["shown"], conflict["loser"]["shown"]) == ("一楼西教室", "一楼东教室")


def test_a_paused_area_says_yes_or_no(phones: Phones, school: School) -> None:
    area = school.area_ids[1]
    lead = _two_leads_edit(phones, "areas", area, {"active": False}, {"active": True})
    lead.set_language("en")
    conflict = _one_conflict(lead)
    assert conflict["field_label"] == "Active"
    assert (conflict["winner"]["shown"], conflict["loser"]["shown"]) == ("Yes", "No")


def test_a_rounds_ticked_item_is_said_with_its_item_and_dosage(
    phones: Phones, school: School
) -> None:
    area = school.area_ids[0]
    cleaner1 = phones.sign_in("cleaner1")
    cleaner1.tick(area, "windows", True)
    synced(cleaner1)
    cleaner2 = phones.sign_in("cleaner2")
    synced(cleaner2)
    [round_id] = [r.record_id for r in cleaner1.records_of("disinfection_rounds")]
    dosage = {"disinfectant": "含氯消毒液", "concentration": 250, "unit": "mg_per_l"}
    assert cleaner1.session is not None and cleaner2.session is not None
    cleaner1.session.store.edit(
        "disinfection_rounds", round_id, {"items.floor": {"done": False, "note": "没拖完"}}
    )
    time.sleep(0.005)
    cleaner2.session.store.edit(
        "disinfection_rounds", round_id, {"items.floor": {"done": True, "dosage": dosage}}
    )
    synced(cleaner1, cleaner2)
    lead = phones.sign_in("lead")
    conflict = _one_conflict(lead)
    assert conflict["field_label"] == "检查项: 拖地"
    assert conflict["winner"]["shown"] == "已完成 · 含氯消毒液 250 mg/L"
    assert conflict["loser"]["shown"] == "未完成 · 没拖完"
    assert "floor" not in str((conflict["field_label"], conflict["winner"]["shown"]))
