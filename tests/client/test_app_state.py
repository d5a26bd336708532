"""AppState, each role's actions, against the real server in-process: what they leave in the
phone's store and, after `sync_now`, on the server; and the errors a person can cause."""

from datetime import datetime, timedelta

from fastapi import FastAPI

from client.encrypted_store import MAX_FAILED_UNLOCKS
from shared.i18n import t
from shared.schemas.collections import SCHOOL_SETTINGS_ID
from tests.client.ui_support import (
    SERVER_URL,
    TODAY,
    Phones,
    fields_of,
    finish_round,
    has_chinese,
    round_note_conflict,
    server_record,
    server_records,
    synced,
)
from tests.factories import PASSWORD
from tests.sync_support import School

STAMP = "2026-11-25T02:00:00Z"
ONE_DAY = timedelta(days=1)


def _at(value: str | None) -> datetime:
    assert value is not None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# Cleaner ----------------------------------------------------------------------------


def test_cleaner_today_lists_due_areas_in_walking_order(
    phones: Phones, school: School, app: FastAPI
) -> None:
    cleaner = phones.sign_in("cleaner1")
    rows = cleaner.today_areas()
    assert [r.name for r in rows] == ["一楼教室", "二楼教室"]
    assert [r.area_id for r in rows] == school.area_ids
    assert {(r.status, r.due_on, r.overdue_days, r.round_id, r.kind) for r in rows} == {
        ("due", TODAY, 0, None, "classroom")
    }

    # The lead moves the first floor to the end of the walk.
    lead = phones.sign_in("lead")
    lead.edit_record("areas", school.area_ids[0], {"walk_order": 5})
    assert lead.error is None
    synced(lead, cleaner)
    record = server_record(app, "areas", school.area_ids[0])
    assert record is not None and record.fields["walk_order"] == 5
    assert [r.name for r in cleaner.today_areas()] == ["二楼教室", "一楼教室"]


def test_cleaner_today_shows_overdue_and_done(phones: Phones, school: School) -> None:
    first, second = school.area_ids
    cleaner = phones.sign_in("cleaner1")
    phones.clock.days_ago(3)  # the first floor was last done on 11-22
    finish_round(cleaner, first)
    phones.clock.on_day(TODAY)

    rows = {r.area_id: r for r in cleaner.today_areas()}
    assert rows[first].status == "overdue"
    assert rows[first].due_on == TODAY - 2 * ONE_DAY
    assert rows[first].overdue_days == 2  # 11-23 and 11-24
    assert rows[first].round_id is None  # no round of today yet
    assert rows[second].status == "due"

    cleaner.tick(second, "windows", True)
    finish_round(cleaner, second)
    rows = {r.area_id: r for r in cleaner.today_areas()}
    assert rows[second].status == "done"
    assert rows[second].round_id is not None
    assert rows[first].status == "overdue"


def test_tick_and_complete_round_reach_the_server(
    phones: Phones, school: School, app: FastAPI
) -> None:
    area = school.area_ids[0]
    cleaner = phones.sign_in("cleaner1")
    cleaner.tick(area, "windows", True, "窗户坏了一扇")
    cleaner.tick(area, "desks", True)
    cleaner.tick(area, "floor", True, dosage={"disinfectant": "84消毒液", "concentration": 500})
    cleaner.tick(area, "floor", False)  # changed their mind
    assert cleaner.error is None
    assert [(i["item_id"], i["done"], i["note"]) for i in cleaner.checklist(area)] == [
        ("desks", True, ""),
        ("floor", False, ""),
        ("windows", True, "窗户坏了一扇"),
    ]
    cleaner.complete_round(area)  # the floor is neither done nor excused
    assert cleaner.error is not None and cleaner.error.code == "round_not_finished"
    assert cleaner.error.message == "还有 1 项未勾选也未填写原因: 拖地"
    cleaner.set_language("en")  # one item is one item, not "1 items"
    assert cleaner.error is not None
    assert cleaner.error.message.startswith("1 item is neither ticked nor given a reason: ")
    cleaner.set_language("zh")
    cleaner.skip(area, "floor", "out_of_supplies", "消毒液用完")
    cleaner.complete_round(area)
    assert cleaner.error is None

    round_id = next(r.round_id for r in cleaner.today_areas() if r.area_id == area)
    assert round_id is not None
    assert len(cleaner.records_of("disinfection_rounds")) == 1  # one round, ticked 4 times
    local = fields_of(cleaner, "disinfection_rounds", round_id)
    assert local["area_id"] == area
    assert local["round_date"] == TODAY.isoformat()
    assert local["cleaner_id"] == cleaner.user_id == str(school.cleaners[0].id)
    assert _at(local["completed_at"]) == _at(STAMP)
    assert local["items"]["windows"]["done"] is True
    assert _at(local["items"]["windows"]["at"]) == _at(STAMP)
    assert local["items"]["floor"] == {
        "done": False,
        "at": None,
        "note": "消毒液用完",
        "dosage": None,
        "reading": None,
        "skipped": "out_of_supplies",
    }
    assert cleaner.sync_state()["pending"] > 0

    synced(cleaner)
    record = server_record(app, "disinfection_rounds", round_id)
    assert record is not None
    assert record.fields["cleaner_id"] == str(school.cleaners[0].id)
    assert record.fields["round_date"] == "2026-11-25"
    assert _at(record.fields["completed_at"]) == _at(STAMP)
    assert record.fields["items"]["windows"]["done"] is True
    assert record.fields["items"]["windows"]["note"] == "窗户坏了一扇"
    assert record.fields["items"]["desks"]["done"] is True
    assert record.fields["items"]["floor"]["done"] is False


def test_recent_rounds_are_mine_newest_first(phones: Phones, school: School) -> None:
    first, second = school.area_ids
    cleaner1 = phones.sign_in("cleaner1")
    cleaner2 = phones.sign_in("cleaner2")
    phones.clock.days_ago(1)
    cleaner1.tick(first, "windows", True)
    cleaner1.tick(first, "desks", True)
    cleaner1.skip(first, "floor", "area_locked")
    cleaner1.complete_round(first)
    phones.clock.on_day(TODAY)
    cleaner1.tick(second, "windows", True)  # started, not completed
    finish_round(cleaner2, first)
    synced(cleaner2, cleaner1)

    recent = cleaner1.recent_rounds()
    assert [
        (r["round_date"], r["area"], r["completed"], r["complete"], r["done"], r["excused"])
        for r in recent
    ] == [
        ("2026-11-25", "二楼教室", False, False, 1, 0),
        ("2026-11-24", "一楼教室", True, True, 2, 1),
    ]
    assert {r["total"] for r in recent} == {3}
    assert cleaner1.recent_rounds(limit=1) == recent[:1]
    # cleaner2's round of today counts for the area, but is not cleaner1's to open.
    rows = {r.area_id: r for r in cleaner1.today_areas()}
    assert rows[first].status == "done" and rows[first].round_id is None
    assert [r["area"] for r in cleaner2.recent_rounds()] == ["一楼教室"]


# Class teacher ------------------------------------------------------------------------


def test_teacher_opens_follows_up_and_closes_a_case(
    phones: Phones, school: School, app: FastAPI
) -> None:
    class_id = school.class_ids[0]
    student = school.student_ids[class_id][0]
    teacher = phones.sign_in("teacher1")
    assert teacher.my_classes() == [(class_id, "初一(1)班")]
    assert [s for s, _name in teacher.students_of(class_id)] == sorted(
        school.student_ids[class_id], key=lambda s: teacher.name_of("students", s)
    )

    case_id = teacher.open_case(student, TODAY - ONE_DAY, "发烧 38.5°C, 咳嗽")
    assert teacher.error is None and case_id is not None
    case = fields_of(teacher, "sick_cases", case_id)
    assert case["student_id"] == student and case["class_id"] == class_id
    assert case["onset_date"] == "2026-11-24" and case["opened_on"] == "2026-11-25"
    assert case["status"] == "open"
    [sick] = teacher.sick_list()
    assert sick["case_id"] == case_id and sick["needed_today"] is True
    assert sick["student"] == "学生00" and sick["class"] == "初一(1)班" and sick["missed"] == 0

    follow_up = teacher.add_follow_up(
        case_id, "phone", temperature_c=37.8, condition="退烧了", mood="okay", note=""
    )
    assert teacher.error is None and follow_up is not None
    [visit] = teacher.follow_ups_of(case_id)
    assert visit == {
        "case_id": case_id,
        "visit_date": "2026-11-25",
        "method": "phone",
        "temperature_c": 37.8,
        "condition": "退烧了",
        "mood": "okay",
        "note": "",
        "next_step": "",
    }
    assert teacher.sick_list()[0]["needed_today"] is False

    synced(teacher)
    on_server = server_record(app, "sick_cases", case_id)
    assert on_server is not None and on_server.fields["status"] == "open"
    visit_on_server = server_record(app, "follow_ups", follow_up)
    assert visit_on_server is not None
    assert visit_on_server.fields["temperature_c"] == 37.8
    assert visit_on_server.fields["mood"] == "okay"

    teacher.close_case(case_id)  # 复课证明: neither a clearance nor why none is needed
    assert teacher.error is not None and teacher.error.code == "clearance_needed"
    teacher.close_case(case_id, clearance_by="社区医院", clearance_on=TODAY)
    assert teacher.error is None and teacher.notice == "ui.saved.closed"
    assert teacher.sick_list() == []
    synced(teacher)
    on_server = server_record(app, "sick_cases", case_id)
    assert on_server is not None
    assert on_server.fields["status"] == "closed"
    assert on_server.fields["returned_on"] == "2026-11-25"
    assert on_server.fields["clearance_by"] == "社区医院"


def test_sick_list_puts_cases_lacking_todays_follow_up_first(
    phones: Phones, school: School
) -> None:
    class_id = school.class_ids[0]
    first, second, third = school.student_ids[class_id]
    teacher = phones.sign_in("teacher1")
    phones.clock.days_ago(2)
    long_ill = teacher.open_case(first, TODAY - 2 * ONE_DAY, "发烧")
    phones.clock.on_day(TODAY)
    new_case = teacher.open_case(second, TODAY, "咳嗽")
    visited = teacher.open_case(third, TODAY - ONE_DAY, "腹泻")
    assert visited is not None
    teacher.add_follow_up(visited, "home_visit")
    assert teacher.error is None

    rows = teacher.sick_list()
    assert [r["case_id"] for r in rows] == [long_ill, new_case, visited]
    assert [(r["needed_today"], r["missed"]) for r in rows] == [(True, 2), (True, 0), (False, 0)]
    assert [r["symptoms"] for r in rows] == ["发烧", "咳嗽", "腹泻"]


def test_teacher_temperature_check_and_referral_status(
    phones: Phones, school: School, app: FastAPI
) -> None:
    class_id = school.class_ids[0]
    student = school.student_ids[class_id][1]
    teacher = phones.sign_in("teacher1")
    teacher.add_class_check(class_id, "morning", 45, 1, fever_count=2, note="两人发热, 已通知家长")
    teacher.refer(student, "最近情绪低落, 不愿与同学交流")
    assert teacher.error is None
    [referral] = teacher.referrals()
    assert referral["student"] == "学生01" and referral["status"] == "new"
    synced(teacher)
    [check] = server_records(app, "temperature_checks")
    assert check.fields["class_id"] == class_id
    assert (check.fields["students_checked"], check.fields["fever_count"]) == (45, 2)
    assert _at(check.fields["checked_at"]) == _at(STAMP)
    assert server_record(app, "referrals", referral["referral_id"]) is not None

    counselor = phones.sign_in("counselor1")
    counselor.accept_referral(referral["referral_id"], "medium")
    synced(counselor, teacher)
    # The teacher follows the referral by its status only: no counseling record reaches them.
    assert [r["status"] for r in teacher.referrals()] == ["accepted"]
    assert teacher.records_of("counseling_cases") == []
    assert teacher.records_of("interventions") == []


# Counselor --------------------------------------------------------------------------


def _referrals(phones: Phones, school: School, count: int) -> list[str]:
    class_id = school.class_ids[0]
    teacher = phones.sign_in("teacher1")
    for student in school.student_ids[class_id][:count]:
        teacher.refer(student, "需要关注")
    synced(teacher)
    return [r["referral_id"] for r in teacher.referrals()]


def test_counselor_accepts_referrals_and_sees_crises_first(
    phones: Phones, school: School, app: FastAPI
) -> None:
    quiet, urgent = _referrals(phones, school, 2)
    counselor = phones.sign_in("counselor1")
    assert {r["referral_id"] for r in counselor.referrals()} == {quiet, urgent}
    assert {r["status"] for r in counselor.referrals()} == {"new"}

    medium_case = counselor.accept_referral(quiet, "medium")
    crisis_case = counselor.accept_referral(urgent, "crisis")
    assert counselor.error is None
    assert [c["case_id"] for c in counselor.caseload()] == [crisis_case, medium_case]
    assert [(c["risk_level"], c["due_on"], c["overdue"]) for c in counselor.caseload()] == [
        ("crisis", TODAY + ONE_DAY, False),
        ("medium", TODAY + 7 * ONE_DAY, False),
    ]
    assert {r["status"] for r in counselor.referrals()} == {"accepted"}
    assert crisis_case is not None
    case = fields_of(counselor, "counseling_cases", crisis_case)
    assert case["referral_id"] == urgent and case["opened_on"] == "2026-11-25"

    synced(counselor)
    on_server = server_record(app, "counseling_cases", crisis_case)
    assert on_server is not None
    assert on_server.fields["risk_level"] == "crisis"
    assert on_server.fields["referral_id"] == urgent
    referral = server_record(app, "referrals", urgent)
    assert referral is not None and referral.fields["status"] == "accepted"


def test_intervention_changes_risk_and_builds_the_timeline(
    phones: Phones, school: School, app: FastAPI
) -> None:
    [referral] = _referrals(phones, school, 1)
    counselor = phones.sign_in("counselor1")
    case_id = counselor.accept_referral(referral, "medium")
    assert case_id is not None
    counselor.add_intervention(case_id, "individual_talk", "第一次谈话", risk_level="high")
    assert counselor.error is None
    assert fields_of(counselor, "counseling_cases", case_id)["risk_level"] == "high"
    [row] = counselor.caseload()
    assert (row["risk_level"], row["due_on"]) == ("high", TODAY + 3 * ONE_DAY)

    phones.clock.on_day(TODAY + 2 * ONE_DAY)
    counselor.add_intervention(
        case_id, "parent_contact", "联系了家长", next_follow_up=TODAY + 3 * ONE_DAY
    )
    assert counselor.error is None
    timeline = counselor.timeline(case_id)
    assert [(e["held_on"], e["kind"], e["note"]) for e in timeline] == [
        ("2026-11-27", "parent_contact", "联系了家长"),
        ("2026-11-25", "individual_talk", "第一次谈话"),
    ]
    assert timeline[1]["risk_level"] == "high" and timeline[0].get("risk_level") is None
    case = fields_of(counselor, "counseling_cases", case_id)
    assert case["risk_level"] == "high" and case["next_follow_up"] == "2026-11-28"

    synced(counselor)
    on_server = server_record(app, "counseling_cases", case_id)
    assert on_server is not None
    assert on_server.fields["risk_level"] == "high"
    assert on_server.fields["next_follow_up"] == "2026-11-28"
    notes = sorted(r.fields["note"] for r in server_records(app, "interventions"))
    assert notes == ["第一次谈话", "联系了家长"]


# Lead -----------------------------------------------------------------------------------


def test_lead_dashboard_counts_and_never_a_counseling_note(phones: Phones, school: School) -> None:
    secret = "家庭变故, 有自伤念头"
    class_id = school.class_ids[0]
    cleaner = phones.sign_in("cleaner1")
    finish_round(cleaner, school.area_ids[0])
    teacher = phones.sign_in("teacher1")
    teacher.open_case(school.student_ids[class_id][0], TODAY, "发烧")
    teacher.refer(school.student_ids[class_id][1], "情绪低落")
    synced(cleaner, teacher)
    counselor = phones.sign_in("counselor1")
    [referral] = counselor.referrals()
    case_id = counselor.accept_referral(referral["referral_id"], "crisis")
    assert case_id is not None
    counselor.add_intervention(case_id, "crisis_response", secret)
    counselor.edit_record("counseling_cases", case_id, {"note": secret})
    synced(counselor)

    lead = phones.sign_in("lead")
    board = lead.dashboard()
    assert board == {
        "by_kind": {"classroom": {"done": 1, "due": 1}},
        "overdue": [],
        "rounds_by_cleaner": {"测试用户": ["一楼教室"]},
        "open_cases_by_class": {"初一(1)班": 1},
        "counseling_by_risk": {"crisis": 1, "high": 0, "medium": 0, "low": 0},
    }
    # The lead's store holds the counseling records without their notes.
    [case] = lead.records_of("counseling_cases")
    [intervention] = lead.records_of("interventions")
    assert "note" not in case.fields and "note" not in intervention.fields
    for collection in ("counseling_cases", "interventions", "referrals", "conflicts"):
        for record in lead.records_of(collection):
            assert secret not in repr(record.fields)


def test_lead_settles_a_conflict_keeping_the_loser(
    phones: Phones, school: School, app: FastAPI
) -> None:
    round_id, winner, loser = round_note_conflict(phones, school.area_ids[0])

    lead = phones.sign_in("lead")
    [conflict] = lead.conflicts()
    assert conflict["collection"] == "disinfection_rounds"
    assert conflict["record_id"] == round_id and conflict["field"] == "note"
    assert conflict["winner"]["value"] == winner
    assert conflict["loser"]["value"] == loser
    assert fields_of(lead, "disinfection_rounds", round_id)["note"] == winner

    lead.settle(conflict["conflict_id"], "loser")
    assert lead.error is None
    assert lead.conflicts() == []
    assert fields_of(lead, "disinfection_rounds", round_id)["note"] == loser
    synced(lead)
    record = server_record(app, "disinfection_rounds", round_id)
    assert record is not None and record.fields["note"] == loser
    settled = server_record(app, "conflicts", conflict["conflict_id"])
    assert settled is not None and settled.fields["settled_by"] == lead.user_id
    # The cleaners get the settled value on their next sync.
    cleaner1, cleaner2 = phones.started[:2]
    synced(cleaner1, cleaner2)
    assert fields_of(cleaner1, "disinfection_rounds", round_id)["note"] == loser
    assert fields_of(cleaner2, "disinfection_rounds", round_id)["note"] == loser


def test_lead_adds_an_area_and_closes_a_day(phones: Phones, school: School, app: FastAPI) -> None:
    cleaner = phones.sign_in("cleaner1")
    lead = phones.sign_in("lead")
    area_id = lead.add_record(
        "areas",
        {
            "name": "食堂",
            "kind": "canteen",
            "frequency_days": 1,
            "checklist_template_id": school.template_id,
        },
    )
    class_id = lead.add_record("classes", {"name": "初二(1)班", "teacher_ids": []})
    assert lead.error is None and area_id is not None and class_id is not None
    synced(lead, cleaner)
    assert [r.name for r in cleaner.today_areas()] == ["一楼教室", "二楼教室", "食堂"]
    area = server_record(app, "areas", area_id)
    assert area is not None and area.fields["kind"] == "canteen"
    assert server_record(app, "classes", class_id) is not None
    assert cleaner.records_of("classes") == []  # not the cleaner's to read

    lead.set_closed_days(TODAY, None, "运动会")
    assert lead.error is None
    assert lead.dashboard()["by_kind"] == {
        "classroom": {"closed": 2},
        "canteen": {"closed": 1},
    }
    synced(lead, cleaner)
    settings = server_record(app, "school_settings", str(SCHOOL_SETTINGS_ID))
    assert settings is not None and settings.fields["closed_days"] == {"2026-11-25": "运动会"}
    assert cleaner.today_areas() == []
    phones.clock.on_day(TODAY + ONE_DAY)
    assert [r.status for r in cleaner.today_areas()] == ["due", "due", "due"]


# Errors ---------------------------------------------------------------------------------


def test_wrong_password_is_a_chinese_message(phones: Phones) -> None:
    state = phones.start()
    seen: list[str | None] = []
    state.subscribe(lambda: seen.append(state.error.code if state.error else None))
    state.sign_in(SERVER_URL, "cleaner1", "not the password")
    assert state.error is not None
    assert state.error.code == "invalid_credentials"
    assert state.error.message == t("error.invalid_credentials", "zh")
    assert has_chinese(state.error.message)
    assert not state.signed_in and state.session is None
    assert state.phone_users() == []
    assert seen == ["invalid_credentials"]  # screens are told to redraw


def test_first_sign_in_offline(phones: Phones) -> None:
    state = phones.start()
    phones.network(state).up = False
    state.sign_in(SERVER_URL, "cleaner1", PASSWORD)
    assert state.error is not None and state.error.code == "offline"
    assert state.error.message == t("error.offline", "zh") and has_chinese(state.error.message)
    assert not state.signed_in


def test_sync_while_offline_keeps_the_changes(phones: Phones, school: School) -> None:
    cleaner = phones.sign_in("cleaner1")
    assert cleaner.online is True
    phones.network(cleaner).up = False
    cleaner.tick(school.area_ids[0], "windows", True)
    assert cleaner.error is None  # working offline is normal
    cleaner.sync_now()
    assert cleaner.online is False
    assert cleaner.error is not None and cleaner.error.code == "offline"
    assert cleaner.error.message == t("error.offline", "zh")
    assert cleaner.sync_state()["pending"] == 1  # one round waiting (its creation and tick)
    assert cleaner.sync_state()["last_error"] == "offline"

    phones.network(cleaner).up = True
    cleaner.sync_now()
    assert cleaner.error is None and cleaner.online is True
    assert cleaner.sync_state()["pending"] == 0
    assert cleaner.sync_state()["last_error"] is None


def test_invalid_values_are_refused_and_nothing_is_queued(phones: Phones, school: School) -> None:
    class_id = school.class_ids[0]
    teacher = phones.sign_in("teacher1")
    case_id = teacher.open_case(school.student_ids[class_id][0], TODAY, "发烧")
    assert case_id is not None
    pending = teacher.sync_state()["pending"]

    assert teacher.add_follow_up(case_id, "phone", temperature_c=50) is None
    assert teacher.error is not None and teacher.error.code == "invalid_value"
    assert teacher.error.message.startswith(t("error.invalid_value", "zh"))
    assert "temperature_c" not in teacher.error.message
    assert "体温(°C)不能大于 43。" in teacher.error.message
    assert teacher.follow_ups_of(case_id) == []

    teacher.add_class_check(class_id, "morning", 3, fever_count=5)  # more with fever than checked
    assert teacher.error is not None and teacher.error.code == "invalid_value"
    assert teacher.records_of("temperature_checks") == []
    assert teacher.sync_state()["pending"] == pending

    teacher.add_follow_up(case_id, "phone", temperature_c=38.2)
    assert teacher.error is None  # the next action clears the error


def test_unlock_with_the_wrong_secret_counts_the_tries(phones: Phones) -> None:
    cleaner = phones.sign_in("cleaner1")
    cleaner.lock()
    assert not cleaner.signed_in and cleaner.session is None
    [user] = cleaner.phone_users()
    assert user.profile.username == "cleaner1" and user.profile.role == "cleaner"

    cleaner.unlock(user, "wrong password")
    assert cleaner.error is not None and cleaner.error.code == "wrong_secret"
    remaining = MAX_FAILED_UNLOCKS - 1
    assert str(remaining) in cleaner.error.message
    assert cleaner.error.message == t("error.wrong_secret", "zh").format(remaining=remaining)
    assert not cleaner.signed_in

    cleaner.unlock(user, PASSWORD)
    assert cleaner.error is None and cleaner.signed_in
    assert cleaner.role is not None and cleaner.role.value == "cleaner"


def test_language_switch_changes_texts(phones: Phones, school: School) -> None:
    cleaner = phones.sign_in("cleaner1")
    redraws: list[str] = []
    cleaner.subscribe(lambda: redraws.append(cleaner.lang))
    area = school.area_ids[0]
    assert cleaner.text("ui.today") == "今日任务"
    assert [i["label"] for i in cleaner.checklist(area)] == ["擦拭课桌", "拖地", "开窗通风"]

    cleaner.set_language("en")
    assert redraws == ["en"]
    assert cleaner.text("ui.today") == "Today"
    assert [i["label"] for i in cleaner.checklist(area)] == [
        "Wipe desks",
        "Mop the floor",
        "Ventilate",
    ]

    cleaner.lock()
    [user] = cleaner.phone_users()
    cleaner.unlock(user, "wrong password")
    assert cleaner.error is not None
    assert cleaner.error.message.startswith("Wrong password or PIN")
    assert not has_chinese(cleaner.error.message)


def test_times_read_in_the_schools_zone(phones: Phones) -> None:
    state = phones.sign_in("lead")
    assert state.clock_time("2026-11-25T02:00:00+00:00") == "11-25 10:00"  # Beijing
    state.session.store.edit(  # type: ignore[union-attr]
        "school_settings", str(SCHOOL_SETTINGS_ID), {"timezone": "Asia/Urumqi"}
    )
    assert state.clock_time("2026-11-25T02:00:00+00:00") == "11-25 08:00"
