"""The lead's reports of the daily health chain, through the HTTP API: 晨午检 by class and
slot, the absence register and its causes (病因追查), cluster alerts, and the day's record."""

import csv
import io
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.server.test_reports import backdate_setup, in_pdf, lead_headers, pdf_text
from tests.sync_support import Phone, School, new_id, small_school

# Thursday to Monday, with the weekend closed.
THU, FRI, SAT, SUN, MON = (date(2026, 11, d) for d in range(26, 31))
CHECKER = "陈晓燕"


def at(day: date, hhmm: str) -> str:
    return f"{day.isoformat()}T{hhmm}:00+08:00"


def check(phone: Phone, class_id: str, day: date, slot: str | None, hhmm: str, **kw: Any) -> dict:
    """A 晨午检 record; without a slot, an old-style check known only by its time."""
    fields: dict[str, Any] = {
        "class_id": class_id,
        "checked_at": at(day, hhmm),
        "students_checked": kw.pop("present", 5),
        "absent": kw.pop("absent", 1),
        "fever_count": len(kw.get("fever_student_ids", [])),
        "checked_by": phone.user_id,
        **kw,
    }
    if slot is not None:
        fields |= {"day": day.isoformat(), "slot": slot}
    return phone.change("temperature_checks", new_id(), fields)


def absence(
    phone: Phone, class_id: str, student_id: str, day: date, kind: str = "illness", **kw: Any
) -> tuple[str, dict]:
    absence_id = new_id()
    fields = {"student_id": student_id, "class_id": class_id, "day": day.isoformat(), "kind": kind}
    return absence_id, phone.change("absences", absence_id, {**fields, **kw})


def pushed(phone: Phone, *changes: dict) -> None:
    results = phone.push(*changes)
    assert {r["status"] for r in results} == {"applied"}, results


@pytest.fixture
def school(client: TestClient, app: FastAPI) -> School:
    """small_school with 6 students a class, the weekend closed, teacher1 named 陈晓燕 and
    class 1 given an English name."""
    school = small_school(app, students_per_class=6)
    headers = lead_headers(client)
    for path, body in (
        ("/api/v1/admin/settings", {"closed_weekdays": [5, 6]}),
        (f"/api/v1/admin/users/{school.teachers[0].id}", {"display_name": CHECKER}),
        (f"/api/v1/admin/classes/{school.class_ids[0]}", {"name_en": "Grade 7 Class 1"}),
    ):
        response = client.patch(path, headers=headers, json=body)
        assert response.status_code == 200, response.text
    backdate_setup(app)
    return school


def health(client: TestClient, start: date, end: date, **params: Any) -> dict[str, Any]:
    response = client.get(
        "/api/v1/reports/health",
        headers=lead_headers(client),
        params={"start": str(start), "end": str(end), "as_of": str(MON), **params},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_missing_checks_by_slot_and_closed_days(client: TestClient, school: School) -> None:
    class_1, class_2 = school.class_ids
    teacher1, teacher2 = Phone(client, "teacher1"), Phone(client, "teacher2")
    feverish = school.student_ids[class_1][0]
    pushed(
        teacher1,
        check(teacher1, class_1, FRI, "morning", "07:40", fever_student_ids=[feverish]),
        check(teacher1, class_1, FRI, "noon", "12:20"),
        check(teacher1, class_1, MON, None, "07:50"),  # old-style: Monday's morning by its time
    )
    pushed(teacher2, check(teacher2, class_2, FRI, "morning", "07:45"))
    body = health(client, FRI, MON)
    assert (body["slots"], body["as_of"]) == (["morning", "noon"], str(MON))
    rows = {(r["day"], r["class_id"]): r for r in body["days"]}
    # The weekend is closed: nobody is listed, nothing is missing.
    assert {day for day, _ in rows} == {str(FRI), str(MON)}
    assert rows[str(FRI), class_1]["missing"] == []
    assert rows[str(FRI), class_2]["missing"] == ["noon"]  # class 2's noon check is missing
    assert rows[str(MON), class_1]["missing"] == ["noon"]
    assert rows[str(MON), class_2]["missing"] == ["morning", "noon"]
    morning = rows[str(FRI), class_1]["slots"][0]
    assert morning | {"check_id": None} == {
        "slot": "morning",
        "check": "done",
        "check_id": None,
        "present": 5,
        "absent": 1,
        "fever_count": 1,
        "fever_students": ["学生00"],
        "checked_by": CHECKER,
        "checked_at": "2026-11-27T07:40:00+08:00",
    }
    assert rows[str(FRI), class_2]["slots"][1] == {"slot": "noon", "check": "missing"}
    assert rows[str(MON), class_1]["slots"][0]["slot"] == "morning"

    # Follow-up coverage counts by the same rule: every class, each slot, every open day.
    coverage = client.get(
        "/api/v1/reports/follow-ups",
        headers=lead_headers(client),
        params={"start": str(FRI), "end": str(MON), "as_of": str(MON)},
    ).json()["classes"]
    counted = {c["class_id"]: (c["checks_needed"], c["checks_done"]) for c in coverage}
    assert counted == {class_1: (4, 3), class_2: (4, 1)}
    # A closed day alone needs none.
    weekend = health(client, SAT, SUN)
    assert weekend["days"] == []
    coverage = client.get(
        "/api/v1/reports/follow-ups",
        headers=lead_headers(client),
        params={"start": str(SAT), "end": str(SUN), "as_of": str(MON)},
    ).json()["classes"]
    assert {(c["checks_needed"], c["checks_done"]) for c in coverage} == {(0, 0)}


def test_illness_absences_without_their_cause_are_flagged(
    client: TestClient, school: School
) -> None:
    class_1 = school.class_ids[0]
    students = school.student_ids[class_1]
    teacher = Phone(client, "teacher1")
    overdue, old = absence(teacher, class_1, students[0], FRI)
    still_open, today = absence(teacher, class_1, students[1], MON, symptom="fever")
    _, personal = absence(teacher, class_1, students[2], MON, "personal")
    recorded, known = absence(
        teacher,
        class_1,
        students[3],
        MON,
        symptom="respiratory",
        saw_doctor=True,
        diagnosis="流感",
        infectious=True,
    )
    pushed(teacher, old, today, personal, known)
    body = health(client, FRI, MON)
    causes = {a["absence_id"]: a["cause"] for a in body["absences"]}
    assert causes[overdue] == "overdue" and causes[still_open] == "open"
    assert causes[recorded] == "recorded"
    assert [a["absence_id"] for a in body["causes_missing"]] == [overdue, still_open]
    [flu] = [a for a in body["absences"] if a["absence_id"] == recorded]
    assert (flu["student"], flu["absence_kind"], flu["symptom"]) == (
        "学生03",
        "illness",
        "respiratory",
    )
    assert (flu["saw_doctor"], flu["diagnosis"], flu["infectious"]) == (True, "流感", True)
    assert [a["cause"] for a in body["absences"] if a["absence_kind"] == "personal"] == [None]
    # Monday alone: Friday's absence is not in the register, Monday's open one is.
    monday = health(client, MON, MON)
    assert [a["absence_id"] for a in monday["causes_missing"]] == [still_open]

    # The register as a spreadsheet, in English.
    as_csv = client.get(
        "/api/v1/reports/health",
        headers=lead_headers(client),
        params={
            "start": str(FRI),
            "end": str(MON),
            "as_of": str(MON),
            "format": "xlsx",
            "lang": "en",
        },
    )
    workbook = load_workbook(io.BytesIO(as_csv.content))
    assert workbook.sheetnames == ["checks", "absences", "clusters"]
    header, *rows = workbook["absences"].iter_rows(values_only=True)
    assert header[:5] == ("Date", "Class", "Student", "Absence", "Symptom")
    assert (
        str(MON),
        "Grade 7 Class 1",
        "学生03",
        "Illness",
        "Respiratory",
        "Yes",
        "流感",
        "Yes",
    ) in {r[:8] for r in rows}
    assert {r[8] for r in rows} == {"Overdue", "To follow up today", "Recorded", None}


def test_clusters_by_day_and_over_school_days(client: TestClient, school: School) -> None:
    class_1, class_2 = school.class_ids
    teacher1, teacher2 = Phone(client, "teacher1"), Phone(client, "teacher2")
    cause = {"saw_doctor": False}
    fevers = [
        absence(teacher1, class_1, s, MON, symptom="fever", **cause)[1]
        for s in school.student_ids[class_1][:3]
    ]
    pushed(teacher1, *fevers)
    # Class 2: 5 students with a cough over Thursday, Friday and Monday: three school days,
    # the closed weekend between them.
    coughs = [
        absence(teacher2, class_2, s, day, symptom="respiratory", **cause)[1]
        for s, day in zip(school.student_ids[class_2][:5], (THU, THU, FRI, MON, MON), strict=True)
    ]
    pushed(teacher2, *coughs)
    body = health(client, MON, MON)
    assert body["rule"] == {"day_count": 3, "window_count": 5, "window_days": 3}
    found = {(c["class_id"], c["rule"]): c for c in body["clusters"]}
    assert set(found) == {(class_1, "day"), (class_2, "window")}
    assert found[class_1, "day"] == {
        "class_id": class_1,
        "class": "初一(1)班",
        "symptom": "fever",
        "first": str(MON),
        "last": str(MON),
        "students": 3,
        "rule": "day",
    }
    window = found[class_2, "window"]
    assert (window["first"], window["last"], window["students"]) == (str(THU), str(MON), 5)

    # The school's thresholds decide: a day needs 4 now, a window 6.
    response = client.patch(
        "/api/v1/admin/settings",
        headers=lead_headers(client),
        json={"cluster_day_count": 4, "cluster_window_count": 6},
    )
    assert response.status_code == 200, response.text
    assert health(client, MON, MON)["clusters"] == []
    # And a weekend the school is open shortens the window: Sat, Sun, Mon hold only 2.
    response = client.patch(
        "/api/v1/admin/settings",
        headers=lead_headers(client),
        json={"cluster_day_count": 3, "cluster_window_count": 5, "closed_weekdays": []},
    )
    assert response.status_code == 200, response.text
    assert [c["rule"] for c in health(client, MON, MON)["clusters"]] == ["day"]


def test_the_days_record_holds_checks_absences_and_alerts(
    client: TestClient, school: School
) -> None:
    class_1 = school.class_ids[0]
    teacher = Phone(client, "teacher1")
    students = school.student_ids[class_1]
    fevers = [
        absence(teacher, class_1, s, MON, symptom="fever", saw_doctor=True, diagnosis="流感")[1]
        for s in students[:3]
    ]
    _, unexplained = absence(teacher, class_1, students[4], MON)
    pushed(
        teacher,
        check(
            teacher,
            class_1,
            MON,
            "morning",
            "07:35",
            present=2,
            absent=4,
            fever_student_ids=[students[5]],
        ),
        *fevers,
        unexplained,
    )
    headers = lead_headers(client)
    for lang, words in (
        (
            "zh",
            [
                "晨午检",
                "晨检",
                "午检",
                "已检",
                "未检",
                "学生05",
                CHECKER,
                "07:35",
                "检查时间(Asia/Shanghai)",
            ],
        ),
        ("zh", ["缺勤登记与病因追查", "学生00", "流感", "因病", "发热", "逾期未追查"]),
        ("zh", ["聚集性病例预警", "同日同班同症状"]),
        ("en", ["Morning and noon checks", "Grade 7 Class 1", "Morning", "Missing", "Checked by"]),
        ("en", ["Absences and their causes", "Illness", "Fever", "Overdue", "Cluster alerts"]),
    ):
        pdf = client.get(
            "/api/v1/reports/daily-record", headers=headers, params={"day": str(MON), "lang": lang}
        )
        assert pdf.status_code == 200, pdf.text
        text = pdf_text(pdf.content)
        for word in words:
            assert in_pdf(word, text), (lang, word)
    # Class 2 was not checked at all: both its slots read missing.
    as_xlsx = client.get(
        "/api/v1/reports/daily-record",
        headers=headers,
        params={"day": str(MON), "lang": "en", "format": "xlsx"},
    )
    assert as_xlsx.status_code == 200, as_xlsx.text
    assert 'filename="daily-record-2026-11-30-en.xlsx"' in as_xlsx.headers["content-disposition"]
    workbook = load_workbook(io.BytesIO(as_xlsx.content))
    assert workbook.sheetnames == [
        "disinfection",
        "flags",
        "sick_students",
        "checks",
        "absences",
        "clusters",
        "counseling",
    ]
    header, *checks = workbook["checks"].iter_rows(values_only=True)
    assert header[-1] == "Checked at (Asia/Shanghai)"
    assert ("Grade 7 Class 1", "Morning", "Done", 2, 4, 1, "学生05", CHECKER, "07:35") in checks
    assert ("初一(2)班", "Noon", "Missing") in {c[:3] for c in checks}
    [alert] = list(workbook["clusters"].iter_rows(min_row=2, values_only=True))
    assert alert == (
        "Grade 7 Class 1",
        "Fever",
        str(MON),
        str(MON),
        3,
        "Same class and symptom, one day",
    )
    # The health report's first table as CSV: a row per class, day and slot.
    as_csv = client.get(
        "/api/v1/reports/health",
        headers=headers,
        params={"start": str(MON), "end": str(MON), "as_of": str(MON), "format": "csv"},
    )
    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["日期", "班级", "时段", "检查情况"]
    assert len(rows) - 1 == 4  # two classes, two slots
    assert 'filename="health-2026-11-30-2026-11-30.csv"' in as_csv.headers["content-disposition"]


def test_bad_input_is_a_422_never_a_500(client: TestClient, school: School) -> None:
    headers = lead_headers(client)
    odd: list[tuple[str, dict[str, Any]]] = [
        ("/api/v1/reports/health", {"start": "2026-11-29", "end": "2026-11-01"}),
        ("/api/v1/reports/health", {"start": "2025-01-01", "end": "2026-11-01"}),
        ("/api/v1/reports/health", {"start": "0001-01-01", "end": "0001-01-05"}),
        ("/api/v1/reports/health", {"as_of": "2026-02-30"}),
        ("/api/v1/reports/health", {"format": "pdf"}),
        ("/api/v1/reports/health", {"lang": "fr"}),
        ("/api/v1/reports/daily-record", {"format": "docx"}),
    ]
    for path, params in odd:
        response = client.get(path, headers=headers, params=params)
        assert response.status_code == 422, (path, params, response.text)
        assert response.json()["error"]["code"] == "invalid_value", (path, params)
    teacher = client.get("/api/v1/reports/health", headers=Phone(client, "teacher1").headers)
    assert teacher.status_code == 403
    # A year of nothing recorded answers, and in every format.
    for extra in ({}, {"format": "csv"}, {"format": "xlsx", "lang": "en"}):
        response = client.get(
            "/api/v1/reports/health",
            headers=headers,
            params={"start": "2025-12-01", "end": "2026-11-30", **extra},
        )
        assert response.status_code == 200, response.text
