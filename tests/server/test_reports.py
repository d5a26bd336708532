"""The lead's reports: the numbers, the files, and agreement with the phones' due lists."""

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import update
from sqlmodel import Session

from client.due_lists import caseload, cleaner_today, sick_students
from server.models import Record
from tests.factories import auth, login
from tests.sync_support import Phone, School, device, new_id, small_school

MON, TUE, WED, THU, FRI = (date(2026, 11, d) for d in range(23, 28))
SET_UP = datetime(2026, 11, 20, tzinfo=UTC)
NOTE = "家庭变故, 失眠两周"


def lead_headers(client: TestClient) -> dict[str, str]:
    return auth(login(client, "lead")["token"])


def at(day: date, hhmm: str) -> str:
    return f"{day.isoformat()}T{hhmm}:00+08:00"


PRESCRIBED = {"disinfectant": "含氯消毒液", "concentration": 500}


def finish_round(
    phone: Phone,
    area_id: str,
    day: date,
    hhmm: str = "08:30",
    items: dict[str, dict[str, Any]] | None = None,
) -> None:
    """A round completed at `hhmm`: by default every item of small_school's checklist
    ticked, the floor mopped at the prescribed dose."""
    if items is None:
        items = {
            "windows": {"done": True, "at": at(day, hhmm)},
            "desks": {"done": True, "at": at(day, hhmm)},
            "floor": {"done": True, "at": at(day, hhmm), "dosage": PRESCRIBED},
        }
    [result] = phone.push(
        phone.change(
            "disinfection_rounds",
            new_id(),
            {
                "area_id": area_id,
                "round_date": day.isoformat(),
                "cleaner_id": phone.user_id,
                "items": items,
                "completed_at": at(day, hhmm),
            },
        )
    )
    assert result["status"] == "applied", result


def backdate_setup(app: FastAPI) -> None:
    """The school was set up before the week the tests look at."""
    with Session(app.state.engine) as session:
        session.execute(update(Record).values(created_at=SET_UP))
        session.commit()


@pytest.fixture
def week(client: TestClient, app: FastAPI) -> School:
    """A week of work: area 0 done Mon, Wed (late after missing Tue); area 1 (every 2 days)
    done Mon and Wed; a sick student followed up Mon and Wed; a counseling case."""
    school = small_school(app)
    response = client.patch(
        f"/api/v1/admin/areas/{school.area_ids[1]}",
        headers=lead_headers(client),
        json={"frequency_days": 2},
    )
    assert response.status_code == 200
    cleaner1, cleaner2 = Phone(client, "cleaner1"), Phone(client, "cleaner2")
    finish_round(cleaner1, school.area_ids[0], MON)
    finish_round(cleaner2, school.area_ids[0], WED, "23:40")  # late at night, still Wednesday
    finish_round(cleaner1, school.area_ids[1], MON)
    finish_round(cleaner1, school.area_ids[1], WED)
    teacher = Phone(client, "teacher1")
    class_id = school.class_ids[0]
    case_id = new_id()
    changes = [
        teacher.change(
            "sick_cases",
            case_id,
            {
                "student_id": school.student_ids[class_id][0],
                "class_id": class_id,
                "onset_date": "2026-11-22",
                "opened_on": MON.isoformat(),
                "symptoms": "发热",
            },
        ),
        *[
            teacher.change(
                "follow_ups",
                new_id(),
                {
                    "case_id": case_id,
                    "visit_date": d.isoformat(),
                    "method": "phone",
                    "temperature_c": 37.9,
                },
            )
            for d in (MON, WED)
        ],
        *[
            teacher.change(
                "temperature_checks",
                new_id(),
                {
                    "class_id": class_id,
                    "checked_at": at(MON, hhmm),
                    "students_checked": 3,
                    "fever_count": 0,
                },
            )
            for hhmm in ("07:30", "14:00")
        ],
    ]
    assert {r["status"] for r in teacher.push(*changes)} == {"applied"}
    counselor = Phone(client, "counselor1")
    counseling_id = new_id()
    results = counselor.push(
        counselor.change(
            "counseling_cases",
            counseling_id,
            {
                "student_id": school.student_ids[class_id][1],
                "risk_level": "crisis",
                "opened_on": MON.isoformat(),
                "note": NOTE,
            },
        ),
        counselor.change(
            "interventions",
            new_id(),
            {
                "case_id": counseling_id,
                "held_on": MON.isoformat(),
                "kind": "individual_talk",
                "note": NOTE,
            },
        ),
    )
    assert {r["status"] for r in results} == {"applied"}
    backdate_setup(app)
    return school


def test_disinfection_report_counts(client: TestClient, week: School) -> None:
    response = client.get(
        "/api/v1/reports/disinfection",
        headers=lead_headers(client),
        params={"start": MON.isoformat(), "end": THU.isoformat(), "as_of": THU.isoformat()},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    daily = {a: [] for a in ("一楼教室", "二楼教室")}
    for row in body["days"]:
        daily[row["area"]].append(row["outcome"])
    assert daily["一楼教室"] == ["done", "missed", "late", "pending"]
    assert daily["二楼教室"] == ["done", "not_due", "done", "not_due"]
    by_area = {r["area"]: r for r in body["by_area"]}
    assert (by_area["一楼教室"]["done"], by_area["一楼教室"]["late"]) == (1, 1)
    assert by_area["一楼教室"]["missed"] == 1
    counted = {"done": 3, "late": 1, "incomplete": 0, "missed": 1}
    assert body["by_kind"] == [{"kind": "classroom", **counted}]
    assert body["by_week"] == [{"week": "2026-W48", **counted}]
    assert [d["day"] for d in body["by_day"]] == ["2026-11-23", "2026-11-24", "2026-11-25"]
    by_cleaner = {r["cleaner"]: r for r in body["by_cleaner"]}
    assert by_cleaner["测试用户"]["done"] + by_cleaner["测试用户"]["late"] == 4
    wednesday = next(
        r for r in body["days"] if r["day"] == "2026-11-25" and r["area"] == "一楼教室"
    )
    assert wednesday["completed_at"].startswith("2026-11-25T23:40")


def test_follow_up_and_counseling_reports(client: TestClient, week: School) -> None:
    headers = lead_headers(client)
    coverage = client.get(
        "/api/v1/reports/follow-ups",
        headers=headers,
        params={"start": MON.isoformat(), "end": WED.isoformat(), "as_of": THU.isoformat()},
    ).json()
    [class_1] = [c for c in coverage["classes"] if c["class_id"] == week.class_ids[0]]
    assert (class_1["required"], class_1["done"], class_1["missed"]) == (3, 2, 1)
    assert (class_1["checks_needed"], class_1["checks_done"]) == (6, 2)
    counseling = client.get(
        "/api/v1/reports/counseling", headers=headers, params={"as_of": WED.isoformat()}
    ).json()
    crisis = counseling["risk_levels"][0]
    assert crisis == {"risk_level": "crisis", "open_cases": 1, "overdue": 1}
    assert NOTE not in str(counseling) and NOTE not in str(coverage)


def test_the_phone_and_the_server_agree_on_what_is_due(
    client: TestClient, app: FastAPI, week: School
) -> None:
    headers = lead_headers(client)
    client.patch(
        "/api/v1/admin/settings", headers=headers, json={"closed_days.2026-11-26": "校运会"}
    )
    cleaner = device(client, week.cleaners[0])
    cleaner.engine.sync()
    for day in (TUE, WED, THU, FRI):
        noon = datetime(day.year, day.month, day.day, 4, tzinfo=UTC)  # 12:00 in Beijing
        on_phone = {a.area_id: a.status for a in cleaner_today(cleaner.store, noon)}
        server = client.get(
            "/api/v1/reports/today", headers=headers, params={"as_of": day.isoformat()}
        ).json()
        assert {a["area_id"]: a["status"] for a in server["areas"]} == on_phone, day
    # Friday: the closed Thursday moved both due days, so nothing is overdue.
    assert set(on_phone.values()) == {"due"}


def test_teacher_and_counselor_lists_on_the_phone(client: TestClient, week: School) -> None:
    teacher = device(client, week.teachers[0])
    counselor = device(client, week.counselor)
    teacher.engine.sync()
    counselor.engine.sync()
    thursday_noon = datetime(2026, 11, 26, 4, tzinfo=UTC)
    [sick] = sick_students(teacher.store, thursday_noon)
    assert sick.state.needed_today and sick.state.missed == [TUE]
    [case] = caseload(counselor.store, thursday_noon)
    assert (case.risk_level, case.overdue) == ("crisis", True)


def test_exports_hold_the_report_numbers(client: TestClient, week: School) -> None:
    headers = lead_headers(client)
    params: dict[str, Any] = {
        "start": MON.isoformat(),
        "end": THU.isoformat(),
        "as_of": THU.isoformat(),
    }
    body = client.get("/api/v1/reports/disinfection", headers=headers, params=params).json()
    as_csv = client.get(
        "/api/v1/reports/disinfection", headers=headers, params={**params, "format": "csv"}
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "日期",
        "区域",
        "类别",
        "情况",
        "责任人",
        "执行人",
        "完成时间 (Asia/Shanghai)",
        "已完成项",
        "说明原因未做项",
        "应做项",
        "异常记录（浓度、读数）",
    ]
    assert len(rows) - 1 == len(body["days"])
    assert rows[3][1:4] == ["一楼教室", "教室", "逾期完成"]
    assert rows[3][6:10] == ["2026-11-25 23:40", "3", "0", "3"]

    as_xlsx = client.get(
        "/api/v1/reports/disinfection",
        headers=headers,
        params={**params, "format": "xlsx", "lang": "en"},
    )
    workbook = load_workbook(io.BytesIO(as_xlsx.content))
    assert workbook.sheetnames == [
        "days",
        "areas",
        "kinds",
        "cleaners",
        "per day",
        "per week",
        "flags",
    ]
    kinds = list(workbook["kinds"].iter_rows(values_only=True))
    assert kinds == [("Kind", "Done", "Late", "Incomplete", "Missed"), ("Classroom", 3, 1, 0, 1)]

    # Every table report exports the same way: its first table as CSV, all as XLSX.
    classes = client.get("/api/v1/reports/follow-ups", headers=headers, params=params).json()
    follow_csv = client.get(
        "/api/v1/reports/follow-ups", headers=headers, params={**params, "format": "csv"}
    )
    follow_rows = list(csv.reader(io.StringIO(follow_csv.content.decode("utf-8-sig"))))
    assert len(follow_rows) - 1 == len(classes["classes"]) > 0
    assert 'filename="follow-ups-' in follow_csv.headers["content-disposition"]
    counseling = client.get(
        "/api/v1/reports/counseling",
        headers=headers,
        params={"as_of": THU.isoformat(), "format": "xlsx", "lang": "en"},
    )
    sheet = load_workbook(io.BytesIO(counseling.content))["counseling"]
    counted = client.get(
        "/api/v1/reports/counseling", headers=headers, params={"as_of": THU.isoformat()}
    ).json()["risk_levels"]
    assert sheet.max_row - 1 == len(counted) > 0
    assert 'filename="counseling-' + THU.isoformat() in counseling.headers["content-disposition"]

    for lang, words in (
        ("zh", ["学校疫情防控记录", "一楼教室", "患病学生跟踪", "危机"]),
        ("en", ["School epidemic-prevention record", "Sick-student follow-up", "Crisis"]),
    ):
        pdf = client.get(
            "/api/v1/reports/daily-record",
            headers=headers,
            params={"day": WED.isoformat(), "lang": lang},
        )
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
        for word in words:
            assert word in text, (lang, word)
        assert NOTE not in text and "失眠" not in text
        if lang == "zh":
            assert "测试用户" in text  # who did the rounds
            assert "电话" in text and "37.9" in text  # Wednesday's follow-up


def test_report_input_errors(client: TestClient, app: FastAPI) -> None:
    small_school(app)
    headers = lead_headers(client)
    bad = [
        ("/api/v1/reports/disinfection", {"start": "2026-11-29", "end": "2026-11-01"}),
        ("/api/v1/reports/disinfection", {"start": "2025-01-01", "end": "2026-11-01"}),
        ("/api/v1/reports/disinfection", {"format": "docx"}),
        ("/api/v1/reports/disinfection", {"start": "yesterday"}),
        ("/api/v1/reports/compliance", {"days": 0}),
        ("/api/v1/reports/daily-record", {"day": "2099-01-01"}),
    ]
    for path, params in bad:
        response = client.get(path, headers=headers, params=params)
        assert response.status_code == 422, (path, params, response.text)
        assert response.json()["error"]["code"] == "invalid_value"
    series = client.get("/api/v1/reports/compliance", headers=headers).json()["series"]
    assert len(series) == 30
