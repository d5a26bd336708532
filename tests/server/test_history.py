"""The write history, for the lead: who changed what, on which device, when; counseling
notes named as changed, never shown; nobody else may read it."""

import csv
import io

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import auth, login
from tests.server.test_sync_scopes import counseling
from tests.sync_support import Phone, small_school

HISTORY = "/api/v1/reports/history"


def test_the_lead_reads_who_changed_what_and_never_a_counseling_note(
    client: TestClient, app: FastAPI
) -> None:
    school = small_school(app)
    cleaner, counselor = Phone(client, "cleaner1"), Phone(client, "counselor1")
    round_id = "7c0b6f0e-7a5e-4f51-9c8e-6a0b2f1f0a01"
    made = cleaner.push(
        cleaner.change(
            "disinfection_rounds",
            round_id,
            {
                "area_id": school.area_ids[0],
                "round_date": "2026-12-06",
                "cleaner_id": str(school.cleaners[0].id),
                "note": "消毒液快用完",
            },
        )
    )
    assert made[0]["status"] == "applied"
    _case_id, changes = counseling(school, counselor)
    assert {r["status"] for r in counselor.push(*changes)} == {"applied"}

    lead = auth(login(client, "lead")["token"])
    answer = client.get(HISTORY, headers=lead)  # today, the school's day
    assert answer.status_code == 200, answer.text
    rows = answer.json()["changes"]
    assert answer.json()["more"] is False
    assert [r["seq"] for r in rows] == sorted((r["seq"] for r in rows), reverse=True)
    [the_round] = [r for r in rows if r["record_id"] == round_id]
    assert the_round["who"] == school.cleaners[0].display_name
    assert cleaner.device_id in the_round["device"]
    assert "备注: 消毒液快用完" in the_round["values"]
    notes = [r for r in rows if r["collection"] in ("心理个案", "干预记录")]
    assert len(notes) == 2 and all("(保密)" in r["values"] for r in notes)
    assert "家庭变故" not in answer.text and "约定周五" not in answer.text

    file = client.get(HISTORY, headers=lead, params={"format": "csv", "lang": "en"})
    assert file.status_code == 200 and file.headers["content-type"].startswith("text/csv")
    header = next(csv.reader(io.StringIO(file.content.decode("utf-8-sig"))))
    assert header[0].endswith("(Asia/Shanghai)") and "Device" in header

    teacher = auth(login(client, "teacher1")["token"])
    assert client.get(HISTORY, headers=teacher).status_code == 403
    assert client.get(HISTORY).status_code == 401
