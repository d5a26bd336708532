"""Control characters and far-off dates: refused with `invalid_value` on both databases,
never a 500, and a name stored before they were refused never breaks an export."""

import io
import json
import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session

from server.models import Record, User
from shared.schemas.vocabulary import Role
from tests.factories import auth, login, signed_in
from tests.sync_support import PULL, PUSH, Phone, new_id, small_school

LOGIN = "/api/v1/auth/login"
USERS = "/api/v1/admin/users"
BAD_LINES = ["a\x00b", "a\x01b", "a\x1bb", "a\x7fb", "a\x85b", "a\nb", "a\rb"]


def _code(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


@pytest.mark.parametrize("bad", BAD_LINES)
def test_one_line_names_refuse_control_characters(
    client: TestClient, app: FastAPI, bad: str
) -> None:
    _, lead = signed_in(client, app, Role.LEAD)
    user = {"username": "x1", "display_name": bad, "role": "cleaner", "password": "12345678"}
    assert _code(client.post(USERS, json=user, headers=lead)) == (422, "invalid_value")
    area = client.post("/api/v1/admin/checklist_templates", json={"name": bad}, headers=lead)
    assert _code(area) == (422, "invalid_value")
    device = {"username": "x1", "password": "12345678", "device_id": "d1", "device_name": bad}
    assert _code(client.post(LOGIN, json=device)) == (422, "invalid_value")
    password = {"username": "x1", "password": bad, "device_id": "d1", "device_name": "n"}
    assert _code(client.post(LOGIN, json=password)) == (422, "invalid_value")
    assert client.get(USERS, headers=lead).json()[0]["display_name"] == "测试用户"


def test_notes_keep_tab_and_newline_and_refuse_the_rest(client: TestClient, app: FastAPI) -> None:
    school = small_school(app)
    phone = Phone(client, "cleaner1")

    def a_round(note: str) -> dict[str, Any]:
        return phone.change(
            "disinfection_rounds",
            new_id(),
            {
                "area_id": school.area_ids[0],
                "round_date": "2026-11-29",
                "cleaner_id": phone.user_id,
                "note": note,
            },
        )

    results = phone.push(*(a_round(n) for n in ["一\t二\n三", "a\x00b", "a\x0bb"]))
    assert [r["status"] for r in results] == ["applied", "rejected", "rejected"]
    assert {r["error"]["code"] for r in results[1:]} == {"invalid_value"}
    assert "control characters" in results[1]["error"]["message"]
    # In a field's name, a map entry's name, a key inside an entry, the collection's name.
    odd = [
        {"note\x00": "x"},
        {"items.win\x00dows": {"done": True}},
        {"items.windows": {"done": True, "note\x00": "x"}},
        {"items.windows": {"done": True, "note": "\x00"}},
    ]
    changes = []
    for fields in odd:
        change = a_round("")
        change["fields"].update(fields)
        changes.append(change)
    changes.append({**a_round(""), "collection": "areas\x00"})
    changes.append({**a_round(""), "hlc": "1796536593665-000003-\x00"})
    results = phone.push(*changes)
    assert [r["status"] for r in results] == ["rejected"] * len(changes)
    for cursor in ("\x00", "abc\x00def"):
        body = {"device_id": phone.device_id, "cursor": cursor}
        pulled = client.post(PULL, json=body, headers=phone.headers)
        assert pulled.status_code in (400, 422), pulled.text
    for path in ("revoke", "restore"):
        lead = auth(login(client, "lead")["token"])
        device = client.post(f"/api/v1/admin/devices/d%00x/{path}", headers=lead)
        assert _code(device) == (422, "invalid_value")
    # A lone surrogate, as JSON can escape it (in a value, in a field's name): not UTF-8,
    # so not JSON the push reads.
    for fields in ({"note": "a\ud800b"}, {"note\ud800": "x"}):
        change = a_round("")
        change["fields"].update(fields)
        body = json.dumps({"device_id": phone.device_id, "changes": [change]})
        headers = {**phone.headers, "content-type": "application/json"}
        assert _code(client.post(PUSH, content=body, headers=headers)) == (400, "malformed_json")


@pytest.mark.parametrize("day", ["0001-01-01", "1999-12-31", "2100-01-01", "9999-12-31"])
def test_days_outside_the_years_are_refused_everywhere(
    client: TestClient, app: FastAPI, day: str
) -> None:
    school = small_school(app)
    phone = Phone(client, "cleaner1")
    fields = {"area_id": school.area_ids[0], "round_date": day, "cleaner_id": phone.user_id}
    [pushed] = phone.push(phone.change("disinfection_rounds", new_id(), fields))
    assert (pushed["status"], pushed["error"]["code"]) == ("rejected", "invalid_value")
    moment = {**fields, "round_date": "2026-11-29", "completed_at": f"{day}T23:00:00+00:00"}
    [late] = phone.push(phone.change("disinfection_rounds", new_id(), moment))
    assert (late["status"], late["error"]["code"]) == ("rejected", "invalid_value")
    lead = auth(login(client, "lead")["token"])
    closed = client.patch(
        "/api/v1/admin/settings", json={f"closed_days.{day}": "假期"}, headers=lead
    )
    assert _code(closed) == (422, "invalid_value")
    for report in ("disinfection", "health"):
        far = client.get(f"/api/v1/reports/{report}", params={"start": day}, headers=lead)
        assert _code(far) == (422, "invalid_value")


def test_a_stored_control_character_never_breaks_an_export(
    client: TestClient, app: FastAPI
) -> None:
    school = small_school(app)
    with Session(app.state.engine) as session:  # as if stored before the schemas refused it
        area = session.get(Record, ("areas", uuid.UUID(school.area_ids[0])))
        assert area is not None
        area.fields = {**area.fields, "name": "一楼\x01教\x1b室"}
        session.add(area)
        cleaner = session.get(User, school.cleaners[0].id)
        assert cleaner is not None
        cleaner.display_name = "王\x07阿姨"
        session.add(cleaner)
        session.commit()
    lead = auth(login(client, "lead")["token"])
    params = {"start": "2026-11-23", "end": "2026-11-27", "format": "xlsx"}
    response = client.get("/api/v1/reports/disinfection", params=params, headers=lead)
    assert response.status_code == 200, response.text
    workbook = load_workbook(io.BytesIO(response.content))
    cells = {str(c) for sheet in workbook for row in sheet.iter_rows(values_only=True) for c in row}
    assert "一楼教室" in cells
    for kind in ("pdf", "xlsx"):
        day = {"day": "2026-11-25", "format": kind}
        record = client.get("/api/v1/reports/daily-record", params=day, headers=lead)
        assert record.status_code == 200, record.text
