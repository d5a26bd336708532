"""The health chain seen by the lead: what each class misses today (and who teaches it)
and cluster alerts, computed on the lead's phone from synced records, offline too."""

from fastapi import FastAPI

from client.shell import Shell
from tests.client.ui_support import (
    SERVER_URL,
    Phones,
    click,
    find,
    lead_on,
    server_record,
    synced,
    text_of,
    texts,
    type_into,
)
from tests.sync_support import School


def test_the_lead_sees_what_each_class_misses_and_a_fever_cluster(
    phones: Phones, school: School, app: FastAPI
) -> None:
    first, second = school.class_ids
    teacher1 = phones.sign_in("teacher1")
    teacher2 = phones.sign_in("teacher2")
    teacher1.add_class_check(first, "morning", 3)
    teacher1.add_class_check(first, "noon", 3)
    for student in school.student_ids[second]:
        teacher2.record_absence(student, "illness", "fever", True, "流感", True)
    teacher2.record_absence(None, "illness")
    assert teacher2.error is not None and teacher2.error.code == "student_needed"
    synced(teacher1, teacher2)

    lead = phones.sign_in("lead")
    phones.network(lead).up = False  # the lead's phone works it out offline
    assert lead.missing_by_class() == [
        {
            "class_id": second,
            "class": lead.name_of("classes", second),
            "teachers": "测试用户",
            "checks": ["morning", "noon"],
            "follow_ups": 0,
            "causes": 0,
        }
    ]
    [alert] = lead.cluster_alerts()
    assert (alert["symptom"], alert["students"], alert["rule"]) == ("fever", 3, "day")
    tree = Shell(lead, SERVER_URL).build()
    assert texts(find(tree, "cluster-0")) == ["聚集预警: 初一(2)班 11-25 有 3 名学生因发热缺勤"]
    assert "晨检、午检未做" in text_of(find(tree, "missing-0"))

    # The server has the same register (the reports read it with the same rule).
    [absence_id] = [r.record_id for r in teacher2.records_of("absences")][:1]
    stored = server_record(app, "absences", absence_id)
    assert stored is not None and stored.fields["symptom"] == "fever"
    # A teacher of another class never receives it.
    assert teacher1.records_of("absences") == []


def test_the_lead_sets_the_health_rules_and_every_phone_counts_by_them(
    phones: Phones, school: School
) -> None:
    first = school.class_ids[0]
    lead, shell = lead_on(phones, "calendar")
    tree = shell.build()
    find(tree, "rule-slot-noon").value = False
    type_into(tree, "rule-day-count", "2")
    click(tree, "rules-save")
    assert lead.error is None and lead.notice == "ui.saved.rules"
    assert lead.health_rules()["check_slots"] == ["morning"]
    assert lead.health_rules()["cluster_day_count"] == 2
    tree = shell.build()
    for slot in ("morning", "noon", "afternoon", "evening"):
        find(tree, f"rule-slot-{slot}").value = False
    click(tree, "rules-save")
    assert lead.error is not None and lead.error.code == "slots_needed"

    teacher = phones.sign_in("teacher1")
    synced(lead, teacher)
    assert [c["slot"] for c in teacher.todays_checks() if c["class_id"] == first] == ["morning"]
    for student in school.student_ids[first][:2]:
        teacher.record_absence(student, "illness", "rash", False)
    synced(teacher, lead)
    [alert] = lead.cluster_alerts()
    assert (alert["symptom"], alert["students"]) == ("rash", 2)
