"""The lead's reports: the numbers, the files, and agreement with the phones' due lists."""

import csv
import io
import uuid
from dataclasses import dataclass
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
            for hhmm in ("07:30", "12:30")  # by their time: morning and noon (no slot given)
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


# Rounds by the checklist, flags, responsibility -----------------------------------------

CHLORINE_1000 = {"disinfectant": "含氯消毒液", "concentration": 1000}
COLD_ROOM: dict[str, dict[str, Any]] = {
    "papers": {"zh": "查验检疫证明", "en": "Check the certificates"},
    "batch": {"zh": "登记批次", "en": "Record the batch"},
    "gloves": {"zh": "戴口罩手套", "en": "Wear masks and gloves"},
    "packaging": {"zh": "外包装消毒", "en": "Disinfect the packaging", "dosage": CHLORINE_1000},
    "handover": {"zh": "指定区域交接", "en": "Hand over in the set area"},
    "shelves": {"zh": "货架擦拭消毒", "en": "Wipe the shelves"},
    "trolleys": {"zh": "推车擦拭消毒", "en": "Wipe the trolleys"},
    "temperature": {
        "zh": "冷库温度",
        "en": "Cold-room temperature",
        "reading": {"unit": "°C", "low": -25, "high": -18},
    },
    "hands": {"zh": "洗手消毒", "en": "Wash and disinfect hands"},
}
RESPONSIBLE = "王秀兰"


@dataclass
class ColdStore:
    area_id: str
    template_id: str
    cleaner: Phone
    headers: dict[str, str]


def ticked(day: date, hhmm: str, *keys: str, **extra: dict[str, Any]) -> dict[str, Any]:
    """Round items: `keys` ticked at `hhmm`, and `extra` entries as given."""
    items: dict[str, Any] = {key: {"done": True, "at": at(day, hhmm)} for key in keys}
    return {**items, **extra}


@pytest.fixture
def cold_store(client: TestClient, app: FastAPI) -> ColdStore:
    """small_school plus a cold store (9 checklist items, one dose, one reading) that
    cleaner1 (王秀兰, set through the admin API) is responsible for."""
    school = small_school(app)
    headers = lead_headers(client)
    cleaner = school.cleaners[0]
    renamed = client.patch(
        f"/api/v1/admin/users/{cleaner.id}", headers=headers, json={"display_name": RESPONSIBLE}
    )
    assert renamed.status_code == 200, renamed.text
    items = {key: {**item, "order": n} for n, (key, item) in enumerate(COLD_ROOM.items())}
    template = client.post(
        "/api/v1/admin/checklist_templates",
        headers=headers,
        json={"name": "冷库消毒", "items": items},
    )
    assert template.status_code == 201, template.text
    area = client.post(
        "/api/v1/admin/areas",
        headers=headers,
        json={
            "name": "冷库",
            "name_en": "Cold store",
            "kind": "cold_chain",
            "frequency_days": 1,
            "checklist_template_id": template.json()["record_id"],
            "cleaner_ids": [str(cleaner.id)],
            "walk_order": 99,
        },
    )
    assert area.status_code == 201, area.text
    return ColdStore(
        area.json()["record_id"], template.json()["record_id"], Phone(client, "cleaner1"), headers
    )


def cold_rows(client: TestClient, store: ColdStore, **params: Any) -> dict[str, Any]:
    response = client.get(
        "/api/v1/reports/disinfection",
        headers=store.headers,
        params={"start": MON.isoformat(), "end": FRI.isoformat(), **params},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    body["cold"] = {r["day"]: r for r in body["days"] if r["area_id"] == store.area_id}
    return body


def test_a_round_is_judged_by_the_checklist_not_by_the_phone(
    client: TestClient, app: FastAPI, cold_store: ColdStore
) -> None:
    phone = cold_store.cleaner
    # Monday: "completed" with 2 of 9 items ticked.
    finish_round(phone, cold_store.area_id, MON, items=ticked(MON, "08:00", "papers", "batch"))
    # Tuesday: 8 ticked and the shelves excused (no disinfectant left).
    all_but_shelves = [k for k in COLD_ROOM if k != "shelves"]
    finish_round(
        phone,
        cold_store.area_id,
        TUE,
        items=ticked(
            TUE, "08:00", *all_but_shelves, shelves={"done": False, "skipped": "out_of_supplies"}
        ),
    )
    backdate_setup(app)
    body = cold_rows(client, cold_store, as_of=WED.isoformat())
    monday, tuesday, wednesday = (body["cold"][str(d)] for d in (MON, TUE, WED))
    assert monday["outcome"] == "incomplete"
    assert (monday["items_total"], monday["items_done"], monday["items_excused"]) == (9, 2, 0)
    assert monday["responsible"] == [RESPONSIBLE]
    assert tuesday["outcome"] == "done"  # an excused item does not leave the round undone
    assert (tuesday["items_total"], tuesday["items_done"], tuesday["items_excused"]) == (9, 8, 1)
    assert wednesday["outcome"] == "pending"
    [cold_tally] = [r for r in body["by_area"] if r["area"] == "冷库"]
    assert (cold_tally["done"], cold_tally["incomplete"], cold_tally["missed"]) == (1, 1, 0)
    by_cleaner = {r["cleaner"]: r for r in body["by_cleaner"]}
    assert by_cleaner[RESPONSIBLE]["incomplete"] == 1
    # The chart counts Monday's incomplete round against the due, not as done.
    compliance = client.get(
        "/api/v1/reports/compliance",
        headers=cold_store.headers,
        params={"days": 3, "as_of": WED.isoformat()},
    ).json()["series"]
    assert compliance[0]["incomplete"] >= 1 and compliance[0]["rate"] < 1

    # The lead retires an item later: it no longer counts, in old rounds or new ones.
    retired = client.patch(
        f"/api/v1/admin/checklist_templates/{cold_store.template_id}",
        headers=cold_store.headers,
        json={"items.hands": {**COLD_ROOM["hands"], "order": 8, "retired": True}},
    )
    assert retired.status_code == 200, retired.text
    keys = [k for k in COLD_ROOM if k != "hands"]
    finish_round(phone, cold_store.area_id, WED, items=ticked(WED, "08:00", *keys))
    wednesday = cold_rows(client, cold_store, as_of=WED.isoformat())["cold"][str(WED)]
    assert wednesday["outcome"] == "done"
    assert (wednesday["items_total"], wednesday["items_done"]) == (8, 8)


def test_overdue_missed_and_incomplete_areas_name_who_is_responsible(
    client: TestClient, app: FastAPI, cold_store: ColdStore
) -> None:
    finish_round(
        cold_store.cleaner, cold_store.area_id, MON, items=ticked(MON, "08:00", *COLD_ROOM)
    )
    backdate_setup(app)
    today = client.get(
        "/api/v1/reports/today", headers=cold_store.headers, params={"as_of": WED.isoformat()}
    ).json()
    [cold] = [a for a in today["areas"] if a["area_id"] == cold_store.area_id]
    assert (cold["status"], cold["overdue_days"]) == ("overdue", 1)
    assert cold["responsible"] == [RESPONSIBLE]
    body = cold_rows(client, cold_store, as_of=WED.isoformat())
    assert body["cold"][str(TUE)]["outcome"] == "missed"
    assert body["cold"][str(TUE)]["responsible"] == [RESPONSIBLE]
    as_csv = client.get(
        "/api/v1/reports/disinfection",
        headers=cold_store.headers,
        params={"start": TUE.isoformat(), "end": TUE.isoformat(), "format": "csv"},
    )
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    [missed] = [r for r in rows if r["区域"] == "冷库"]
    assert (missed["情况"], missed["责任人"]) == ("未完成", RESPONSIBLE)
    pdf = client.get(
        "/api/v1/reports/daily-record",
        headers=cold_store.headers,
        params={"day": TUE.isoformat()},
    )
    text = pdf_text(pdf.content)
    assert "责任人" in text and RESPONSIBLE in text


def pdf_text(content: bytes) -> str:
    """The PDF's text without its white space (a table cell wraps its words anywhere)."""
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return "".join(text.split())


def in_pdf(word: str, text: str) -> bool:
    return "".join(word.split()) in text


def test_flags_times_and_english_names_in_every_format(
    client: TestClient, app: FastAPI, cold_store: ColdStore
) -> None:
    # Tuesday 09:30 in Shanghai, sent in UTC: a weak dose and a warm cold room, both flagged.
    utc = "2026-11-24T01:30:00Z"
    items = {key: {"done": True, "at": utc} for key in COLD_ROOM}
    items["packaging"]["dosage"] = {**CHLORINE_1000, "concentration": 500}
    items["temperature"]["reading"] = -12
    [result] = cold_store.cleaner.push(
        cold_store.cleaner.change(
            "disinfection_rounds",
            new_id(),
            {
                "area_id": cold_store.area_id,
                "round_date": TUE.isoformat(),
                "cleaner_id": cold_store.cleaner.user_id,
                "items": items,
                "completed_at": utc,
            },
        )
    )
    assert result["status"] == "applied", result
    backdate_setup(app)
    params = {"start": MON.isoformat(), "end": WED.isoformat(), "as_of": WED.isoformat()}
    body = cold_rows(client, cold_store, **params)
    assert body["cold"][str(TUE)]["completed_at"] == "2026-11-24T09:30:00+08:00"
    flags = {f["kind"]: f for f in body["flags"]}
    assert flags["dose"] | {"completed_at": None} == {
        "day": str(TUE),
        "area_id": cold_store.area_id,
        "area": "冷库",
        "item_id": "packaging",
        "item": "外包装消毒",
        "kind": "dose",
        "value": 500,
        "unit": "mg_per_l",
        "expected": "1000",
        "cleaner": RESPONSIBLE,
        "completed_at": None,
    }
    reading = flags["reading"]
    assert (reading["item"], reading["value"], reading["unit"]) == ("冷库温度", -12, "°C")
    assert reading["expected"] == "-25 ~ -18"

    # CSV: times in the school's zone, named in the header; the day's flags in a cell.
    as_csv = client.get(
        "/api/v1/reports/disinfection",
        headers=cold_store.headers,
        params={**params, "format": "csv"},
    )
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    [tuesday] = [r for r in rows if r["区域"] == "冷库" and r["日期"] == str(TUE)]
    assert tuesday["完成时间 (Asia/Shanghai)"] == "2026-11-24 09:30"
    assert "外包装消毒：500 mg/L（规定 1000）" in tuesday["异常记录（浓度、读数）"]
    assert "冷库温度：-12 °C（规定 -25 ~ -18）" in tuesday["异常记录（浓度、读数）"]

    # XLSX in English: English names where the school gave them, a sheet of flags.
    as_xlsx = client.get(
        "/api/v1/reports/disinfection",
        headers=cold_store.headers,
        params={**params, "format": "xlsx", "lang": "en"},
    )
    workbook = load_workbook(io.BytesIO(as_xlsx.content))
    header, *flag_rows = workbook["flags"].iter_rows(values_only=True)
    assert header == (
        "Date",
        "Area",
        "Item",
        "Flag",
        "Recorded",
        "Unit",
        "Expected",
        "Done by",
        "Completed at (Asia/Shanghai)",
    )
    assert sorted(flag_rows) == [
        (
            str(TUE),
            "Cold store",
            "Cold-room temperature",
            "Reading out of range",
            -12,
            "°C",
            "-25 ~ -18",
            RESPONSIBLE,
            "2026-11-24 09:30",
        ),
        (
            str(TUE),
            "Cold store",
            "Disinfect the packaging",
            "Dose not as prescribed",
            500,
            "mg/L",
            "1000",
            RESPONSIBLE,
            "2026-11-24 09:30",
        ),
    ]
    day_areas = [row[1] for row in workbook["days"].iter_rows(min_row=2, values_only=True)]
    assert "Cold store" in day_areas and "一楼教室" in day_areas  # no English name: Chinese

    # The daily record: items against the checklist, and the flags in their own section.
    for lang, words in (
        ("zh", ["异常记录（浓度、读数）", "外包装消毒", "500 mg/L", "-12 °C", "9/9", "09:30"]),
        ("en", ["Flagged doses and readings", "Cold store", "Disinfect the packaging"]),
    ):
        pdf = client.get(
            "/api/v1/reports/daily-record",
            headers=cold_store.headers,
            params={"day": TUE.isoformat(), "lang": lang},
        )
        assert pdf.status_code == 200, pdf.text
        text = pdf_text(pdf.content)
        for word in words:
            assert in_pdf(word, text), (lang, word)


def test_english_follow_up_export_uses_class_english_names(
    client: TestClient, week: School
) -> None:
    headers = lead_headers(client)
    response = client.patch(
        f"/api/v1/admin/classes/{week.class_ids[0]}",
        headers=headers,
        json={"name_en": "Grade 7 Class 1"},
    )
    assert response.status_code == 200, response.text
    params = {"start": MON.isoformat(), "end": WED.isoformat(), "as_of": THU.isoformat()}
    as_csv = client.get(
        "/api/v1/reports/follow-ups",
        headers=headers,
        params={**params, "format": "csv", "lang": "en"},
    )
    classes = [row[0] for row in csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig")))]
    assert classes == ["Class", "Grade 7 Class 1", "初一(2)班"]


def test_the_daily_record_prints_items_against_the_whole_checklist(
    client: TestClient, app: FastAPI, cold_store: ColdStore
) -> None:
    """It used to divide by the items touched ("2/2"); an excused item is named apart."""
    phone = cold_store.cleaner
    finish_round(phone, cold_store.area_id, MON, items=ticked(MON, "08:00", "papers", "batch"))
    skip = {"done": False, "skipped": "area_in_use"}
    keys = [k for k in COLD_ROOM if k != "shelves"]
    finish_round(phone, cold_store.area_id, TUE, items=ticked(TUE, "08:00", *keys, shelves=skip))
    backdate_setup(app)
    for day, lang, words in (
        (MON, "zh", ["2/9", "未做完"]),
        (TUE, "zh", ["8/9，1项说明原因未做"]),
        (TUE, "en", ["8/9, 1 excused"]),
    ):
        pdf = client.get(
            "/api/v1/reports/daily-record",
            headers=cold_store.headers,
            params={"day": day.isoformat(), "lang": lang},
        )
        text = pdf_text(pdf.content)
        for word in words:
            assert in_pdf(word, text), (day, lang, word)


def test_the_chart_counts_today_done_against_due(
    client: TestClient, app: FastAPI, week: School
) -> None:
    """Thursday, one of two areas still to do: the chart reads 0 of 1 done, not 100%."""
    series = client.get(
        "/api/v1/reports/compliance",
        headers=lead_headers(client),
        params={"days": 4, "as_of": THU.isoformat()},
    ).json()["series"]
    thursday = series[-1]
    assert (thursday["day"], thursday["pending"], thursday["due"]) == (str(THU), 1, 1)
    assert thursday["rate"] == 0
    tuesday = series[1]  # area 0 missed, area 1 not due
    assert (tuesday["missed"], tuesday["due"], tuesday["rate"]) == (1, 1, 0)


def test_weekly_closed_days_show_as_closed(client: TestClient, week: School) -> None:
    headers = lead_headers(client)
    response = client.patch(
        "/api/v1/admin/settings", headers=headers, json={"closed_weekdays": [5, 6]}
    )
    assert response.status_code == 200, response.text
    sat, sun, next_mon = date(2026, 11, 28), date(2026, 11, 29), date(2026, 11, 30)
    params = {"start": FRI.isoformat(), "end": next_mon.isoformat(), "as_of": next_mon.isoformat()}
    body = client.get("/api/v1/reports/disinfection", headers=headers, params=params).json()
    first = [r["outcome"] for r in body["days"] if r["area"] == "一楼教室"]
    assert first == ["missed", "closed", "closed", "pending"]
    assert {d["day"] for d in body["by_day"]} == {str(FRI)}
    series = client.get(
        "/api/v1/reports/compliance",
        headers=headers,
        params={"days": 4, "as_of": next_mon.isoformat()},
    ).json()["series"]
    assert [p["rate"] for p in series[1:3]] == [None, None]
    today = client.get("/api/v1/reports/today", headers=headers, params={"as_of": str(sat)})
    assert {a["status"] for a in today.json()["areas"]} == {"closed"}
    as_csv = client.get(
        "/api/v1/reports/disinfection",
        headers=headers,
        params={**params, "format": "csv", "lang": "en"},
    )
    assert "School closed" in as_csv.content.decode("utf-8-sig")
    # A make-up school day (调休) on a Sunday is open after all.
    client.patch("/api/v1/admin/settings", headers=headers, json={"open_days.2026-11-29": "调休"})
    body = client.get("/api/v1/reports/disinfection", headers=headers, params=params).json()
    first = [r["outcome"] for r in body["days"] if r["area"] == "一楼教室"]
    assert first == ["missed", "closed", "missed", "pending"]
    assert str(sun) in {d["day"] for d in body["by_day"]}


def test_odd_requests_get_a_422_never_a_500(client: TestClient, app: FastAPI) -> None:
    small_school(app)
    headers = lead_headers(client)
    odd = [
        ("/api/v1/reports/disinfection", {"lang": "fr"}),
        ("/api/v1/reports/disinfection", {"start": "0001-01-01", "end": "0001-01-05"}),
        ("/api/v1/reports/disinfection", {"start": "9999-12-30", "end": "9999-12-31"}),
        ("/api/v1/reports/disinfection", {"as_of": "2026-02-30"}),
        ("/api/v1/reports/compliance", {"days": 366, "as_of": "0001-01-01"}),
        ("/api/v1/reports/compliance", {"days": "many"}),
        ("/api/v1/reports/today", {"as_of": "9999-12-31", "lang": "xx"}),
        ("/api/v1/reports/daily-record", {"day": "0001-01-01"}),
        ("/api/v1/reports/follow-ups", {"format": "pdf"}),
    ]
    for path, params in odd:
        response = client.get(path, headers=headers, params=params)
        assert response.status_code == 422, (path, params, response.text)
        assert response.json()["error"]["code"] == "invalid_value", (path, params)


def test_odd_records_do_not_break_a_report(
    client: TestClient, app: FastAPI, cold_store: ColdStore
) -> None:
    """A cleaner id nobody has, a reading where none is asked, an item not on the
    checklist, a round of an area gone inactive: each report still answers."""
    headers = cold_store.headers
    nobody = str(uuid.uuid4())
    client.patch(
        f"/api/v1/admin/areas/{cold_store.area_id}", headers=headers, json={"cleaner_ids": [nobody]}
    )
    odd = ticked(MON, "08:00", *COLD_ROOM)
    odd["papers"]["reading"] = 99
    odd["not_on_the_list"] = {"done": True, "dosage": {**CHLORINE_1000, "concentration": 1}}
    finish_round(cold_store.cleaner, cold_store.area_id, MON, items=odd)
    backdate_setup(app)
    row = cold_rows(client, cold_store, as_of=TUE.isoformat())["cold"][str(MON)]
    assert (row["outcome"], row["items_done"], row["responsible"]) == ("done", 9, [])
    client.patch(
        f"/api/v1/admin/areas/{cold_store.area_id}", headers=headers, json={"active": False}
    )
    params = {"start": MON.isoformat(), "end": TUE.isoformat(), "as_of": TUE.isoformat()}
    for path, extra in (
        ("/api/v1/reports/disinfection", {}),
        ("/api/v1/reports/disinfection", {"format": "xlsx", "lang": "en"}),
        ("/api/v1/reports/today", {}),
        ("/api/v1/reports/compliance", {"days": 7}),
        ("/api/v1/reports/daily-record", {"day": MON.isoformat()}),
    ):
        response = client.get(path, headers=headers, params={**params, **extra})
        assert response.status_code == 200, (path, response.text)
