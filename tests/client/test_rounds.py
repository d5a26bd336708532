"""A cleaner's rounds as the checklist has them: readings, flagged values, reasons for an
item not done, and the areas a cleaner is responsible for, first."""

from client.app_state import AppState
from tests.client.ui_support import TODAY, Phones, fields_of, finish_round, synced
from tests.sync_support import School

COLD_ROOM = "冷库温度 | Cold room temperature [读数 -25~-15 °C]\n拖地 [含氯消毒液 500 mg/L]"


def _cold_room(lead: AppState, cleaner_ids: list[str]) -> str:
    template = lead.add_checklist("冷库消毒", COLD_ROOM)
    assert lead.error is None and template is not None
    area = lead.add_record(
        "areas",
        {
            "name": "食堂冷库",
            "kind": "cold_chain",
            "frequency_days": 1,
            "checklist_template_id": template,
            "walk_order": 900,
            "cleaner_ids": cleaner_ids,
        },
    )
    assert lead.error is None and area is not None
    return area


def test_a_reading_is_recorded_as_a_number_and_flagged_outside_its_range(
    phones: Phones, school: School
) -> None:
    lead = phones.sign_in("lead")
    cleaner = phones.sign_in("cleaner1")
    area = _cold_room(lead, [cleaner.user_id])
    synced(lead, cleaner)

    temperature, floor = cleaner.checklist(area)
    assert temperature["reading_asked"] == {"unit": "°C", "low": -25.0, "high": -15.0}
    assert temperature["label"] == "冷库温度"
    cleaner.tick(area, temperature["item_id"], True)
    assert cleaner.error is not None and cleaner.error.code == "reading_needed"

    cleaner.tick(area, temperature["item_id"], True, reading=-8.5)  # too warm: kept, flagged
    cleaner.tick(area, floor["item_id"], True, dosage={"disinfectant": "84", "concentration": 250})
    assert cleaner.error is None
    temperature, floor = cleaner.checklist(area)
    assert temperature["reading"] == -8.5
    [warm] = temperature["flags"]
    assert (warm.kind, warm.value, warm.unit, warm.expected) == ("reading", -8.5, "°C", "-25 ~ -15")
    [weak] = floor["flags"]
    assert (weak.kind, weak.value, weak.expected) == ("dose", 250.0, "500")

    cleaner.complete_round(area)
    assert cleaner.error is None
    [recent] = cleaner.recent_rounds()
    assert recent["complete"] and recent["flags"] == 2

    cleaner.tick(area, temperature["item_id"], True, reading=-18)  # re-measured: in range
    assert cleaner.checklist(area)[0]["flags"] == []
    cleaner.set_language("en")
    assert cleaner.checklist(area)[0]["label"] == "Cold room temperature"


def test_an_item_not_done_needs_a_reason_and_other_needs_a_note(
    phones: Phones, school: School
) -> None:
    cleaner = phones.sign_in("cleaner1")
    area = school.area_ids[0]
    cleaner.tick(area, "desks", True)
    cleaner.tick(area, "windows", True)
    cleaner.skip(area, "floor", "other")
    assert cleaner.error is not None and cleaner.error.code == "skip_note_needed"
    cleaner.skip(area, "floor", "other", "拖把坏了")
    assert cleaner.error is None
    [floor] = [i for i in cleaner.checklist(area) if i["item_id"] == "floor"]
    assert floor["skipped"] == "other" and floor["note"] == "拖把坏了"
    # A tick after all replaces the reason.
    cleaner.tick(area, "floor", True, dosage={"disinfectant": "含氯消毒液", "concentration": 500})
    [floor] = [i for i in cleaner.checklist(area) if i["item_id"] == "floor"]
    assert floor["done"] and floor["skipped"] is None
    cleaner.complete_round(area)
    assert cleaner.error is None


def test_a_round_completed_elsewhere_with_items_left_leaves_the_area_due(
    phones: Phones, school: School
) -> None:
    """Whatever another device marked, the checklist decides: an old phone completed a
    round with one item ticked; the area is still due on every phone."""
    area = school.area_ids[0]
    cleaner1 = phones.sign_in("cleaner1")
    cleaner2 = phones.sign_in("cleaner2")
    cleaner2.tick(area, "desks", True)
    round_id = next(r.round_id for r in cleaner2.today_areas() if r.area_id == area)
    assert round_id is not None
    cleaner2._store().edit(
        "disinfection_rounds", round_id, {"completed_at": "2026-11-25T01:00:00Z"}
    )
    synced(cleaner2, cleaner1)
    assert fields_of(cleaner1, "disinfection_rounds", round_id)["completed_at"]
    rows = {r.area_id: r for r in cleaner1.today_areas()}
    assert rows[area].status == "due"
    [recent] = cleaner2.recent_rounds()
    assert recent["completed"] and not recent["complete"] and recent["done"] == 1


def test_a_cleaner_sees_their_own_areas_first_and_all_one_tap_away(
    phones: Phones, school: School
) -> None:
    lead = phones.sign_in("lead")
    cleaner1 = phones.sign_in("cleaner1")
    cleaner2 = phones.sign_in("cleaner2")
    first, second = school.area_ids
    lead.edit_record("areas", second, {"cleaner_ids": [cleaner1.user_id]})
    lead.edit_record("areas", first, {"cleaner_ids": [cleaner2.user_id]})
    cold = _cold_room(lead, [cleaner1.user_id, cleaner2.user_id])
    synced(lead, cleaner1, cleaner2)

    mine = cleaner1.today_areas(only_mine=True)
    assert [r.area_id for r in mine] == [second, cold]
    everything = cleaner1.today_areas()
    assert [r.area_id for r in everything] == [second, cold, first]
    assert not everything[2].mine
    assert everything[2].responsible == ()  # a cleaner's phone knows no colleague's name
    glance = cleaner1.day_at_glance()
    assert (glance.done, glance.total, glance.remaining) == (0, 2, 2)

    finish_round(cleaner1, cold)
    assert [r.area_id for r in cleaner1.today_areas(only_mine=True, remaining=True)] == [second]
    glance = cleaner1.day_at_glance()
    assert (glance.done, glance.total, glance.remaining) == (1, 2, 1)
    # Overdue comes before due among one's own areas, whatever the walking order.
    phones.clock.on_day(TODAY.replace(day=TODAY.day + 2))
    order = [(r.area_id, r.status) for r in cleaner1.today_areas(only_mine=True)]
    assert order == [(cold, "overdue"), (second, "due")]
