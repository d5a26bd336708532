"""The lead's administration API, and that no other role can use it."""

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from server.models import ChangeLog, Record
from shared.schemas.vocabulary import Role
from tests.factories import PASSWORD, auth, create_user, login, signed_in

TEMPLATE = {
    "name": "教室每日消毒",
    "name_en": "Classroom daily",
    "items": {
        "open_windows": {"zh": "开窗通风30分钟", "en": "Ventilate 30 minutes", "order": 0},
        "desks": {"zh": "擦拭课桌椅", "en": "Wipe desks and chairs", "order": 1},
    },
}


def _area(template_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "教学楼一层 初一(1)班",
        "kind": "classroom",
        "frequency_days": 1,
        "checklist_template_id": template_id,
        "walk_order": 10,
        **extra,
    }


@pytest.fixture
def lead(client: TestClient, app: FastAPI) -> dict[str, str]:
    return signed_in(client, app, Role.LEAD)[1]


def _count(app: FastAPI, model: type) -> int:
    with Session(app.state.engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


# Every lead endpoint, with a body that would succeed for a lead where one is needed.
LEAD_ENDPOINTS = [
    ("GET", "/api/v1/admin/users"),
    ("POST", "/api/v1/admin/users"),
    ("GET", "/api/v1/admin/users/{id}"),
    ("PATCH", "/api/v1/admin/users/{id}"),
    ("GET", "/api/v1/admin/devices"),
    ("POST", "/api/v1/admin/devices/{device}/revoke"),
    ("POST", "/api/v1/admin/devices/{device}/restore"),
    ("GET", "/api/v1/admin/settings"),
    ("PATCH", "/api/v1/admin/settings"),
    ("GET", "/api/v1/reports/disinfection"),
    ("GET", "/api/v1/reports/follow-ups"),
    ("GET", "/api/v1/reports/counseling"),
    ("GET", "/api/v1/reports/today"),
    ("GET", "/api/v1/reports/compliance"),
    ("GET", "/api/v1/reports/daily-record"),
    *[
        (method, f"/api/v1/admin/{name}{suffix}")
        for name in ("areas", "checklist_templates", "classes", "students")
        for method, suffix in (
            ("GET", ""),
            ("POST", ""),
            ("GET", "/{rid}"),
            ("PATCH", "/{rid}"),
            ("DELETE", "/{rid}"),
        )
    ],
]


@pytest.mark.parametrize("role", [Role.CLEANER, Role.CLASS_TEACHER, Role.COUNSELOR, None])
def test_lead_endpoints_refuse_everyone_else(
    client: TestClient, app: FastAPI, role: Role | None
) -> None:
    headers = signed_in(client, app, role)[1] if role else {}
    before = _count(app, ChangeLog)
    for method, path in LEAD_ENDPOINTS:
        url = path.format(id=uuid.uuid4(), device="dev-x", rid=uuid.uuid4())
        body = {"name": "x"} if method in ("POST", "PATCH") else None
        response = client.request(method, url, headers=headers, json=body)
        expected = (403, "forbidden") if role else (401, "missing_token")
        assert (response.status_code, response.json()["error"]["code"]) == expected, url
    assert _count(app, ChangeLog) == before


def test_users_create_list_edit(client: TestClient, app: FastAPI, lead: dict[str, str]) -> None:
    created = client.post(
        "/api/v1/admin/users",
        headers=lead,
        json={
            "username": "李老师",
            "display_name": "李红梅",
            "role": "class_teacher",
            "password": "a-long-password",
        },
    )
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["role"] == "class_teacher" and user["active"] is True
    assert "password" not in user and "password_hash" not in user
    assert login(client, "李老师", "a-long-password")["user"]["id"] == user["id"]

    listed = client.get("/api/v1/admin/users", headers=lead).json()
    assert "李老师" in [u["username"] for u in listed]
    assert client.get(f"/api/v1/admin/users/{user['id']}", headers=lead).json() == user

    taken = client.post(
        "/api/v1/admin/users",
        headers=lead,
        json={"username": "李老师", "display_name": "x", "role": "cleaner", "password": "12345678"},
    )
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "username_taken"

    edited = client.patch(
        f"/api/v1/admin/users/{user['id']}",
        headers=lead,
        json={"display_name": "李红梅老师", "role": "counselor"},
    )
    assert edited.status_code == 200
    assert edited.json()["display_name"] == "李红梅老师" and edited.json()["role"] == "counselor"

    missing = client.get(f"/api/v1/admin/users/{uuid.uuid4()}", headers=lead)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_deactivate_and_reset_password(
    client: TestClient, app: FastAPI, lead: dict[str, str]
) -> None:
    user = create_user(app, Role.CLEANER)
    token = login(client, user.username)["token"]
    reset = client.patch(
        f"/api/v1/admin/users/{user.id}", headers=lead, json={"password": "brand-new-secret"}
    )
    assert reset.status_code == 200
    # A reset signs the account out everywhere, and only the new password works.
    assert client.get("/api/v1/auth/me", headers=auth(token)).status_code == 401
    assert login(client, user.username, "brand-new-secret")
    off = client.patch(f"/api/v1/admin/users/{user.id}", headers=lead, json={"active": False})
    assert off.status_code == 200 and off.json()["active"] is False
    refused = client.post(
        "/api/v1/auth/login",
        json={
            "username": user.username,
            "password": "brand-new-secret",
            "device_id": "d1",
            "device_name": "p",
        },
    )
    assert refused.json()["error"]["code"] == "account_disabled"


def test_school_keeps_an_active_lead(client: TestClient, app: FastAPI) -> None:
    lead_user, headers = signed_in(client, app, Role.LEAD)
    for change in ({"active": False}, {"role": "cleaner"}):
        response = client.patch(f"/api/v1/admin/users/{lead_user.id}", headers=headers, json=change)
        assert response.status_code == 409 and response.json()["error"]["code"] == "last_lead"
    second = create_user(app, Role.LEAD)
    response = client.patch(
        f"/api/v1/admin/users/{second.id}", headers=headers, json={"active": False}
    )
    assert response.status_code == 200


def test_devices_list_revoke_restore(
    client: TestClient, app: FastAPI, lead: dict[str, str]
) -> None:
    user = create_user(app, Role.CLEANER)
    token = login(client, user.username, device_id="dorm-phone")["token"]
    devices = client.get("/api/v1/admin/devices", headers=lead).json()
    phone = next(d for d in devices if d["device_id"] == "dorm-phone")
    assert phone["user_id"] == str(user.id) and phone["revoked"] is False
    revoked = client.post("/api/v1/admin/devices/dorm-phone/revoke", headers=lead)
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    blocked = client.get("/api/v1/auth/me", headers=auth(token))
    assert blocked.json()["error"]["code"] == "device_revoked"
    restored = client.post("/api/v1/admin/devices/dorm-phone/restore", headers=lead)
    assert restored.json()["revoked"] is False
    # The old token stays dead; the user signs in again.
    assert client.get("/api/v1/auth/me", headers=auth(token)).status_code == 401
    assert login(client, user.username, PASSWORD, device_id="dorm-phone")
    assert client.post("/api/v1/admin/devices/nope/revoke", headers=lead).status_code == 404


def test_school_settings(client: TestClient, app: FastAPI, lead: dict[str, str]) -> None:
    first = client.get("/api/v1/admin/settings", headers=lead)
    assert first.status_code == 200
    assert first.json()["fields"]["temperature_checks_per_day"] == 2
    changed = client.patch(
        "/api/v1/admin/settings",
        headers=lead,
        json={"closed_days.2026-10-01": "国庆节", "contact_interval_days.high": 2},
    )
    assert changed.status_code == 200, changed.text
    fields = changed.json()["fields"]
    assert fields["closed_days"] == {"2026-10-01": "国庆节"}
    assert fields["contact_interval_days"] == {"high": 2}
    for body in (
        {"closed_days.2026-13-01": "x"},
        {"timezone": "Mars/Base"},
        {"temperature_checks_per_day": 0},
        {"contact_interval_days.urgent": 1},
    ):
        refused = client.patch("/api/v1/admin/settings", headers=lead, json=body)
        assert refused.status_code == 422, body


def test_setup_records_lifecycle(client: TestClient, app: FastAPI, lead: dict[str, str]) -> None:
    template = client.post("/api/v1/admin/checklist_templates", headers=lead, json=TEMPLATE)
    assert template.status_code == 201, template.text
    template_id = template.json()["record_id"]
    assert template.json()["fields"]["items"]["desks"]["zh"] == "擦拭课桌椅"

    area = client.post("/api/v1/admin/areas", headers=lead, json=_area(template_id))
    assert area.status_code == 201, area.text
    area_id = area.json()["record_id"]
    assert area.json()["fields"]["active"] is True  # default filled in

    teacher = create_user(app, Role.CLASS_TEACHER)
    school_class = client.post(
        "/api/v1/admin/classes",
        headers=lead,
        json={"name": "初一(1)班", "name_en": "Grade 7 Class 1", "teacher_ids": [str(teacher.id)]},
    )
    assert school_class.status_code == 201, school_class.text
    class_id = school_class.json()["record_id"]
    student = client.post(
        "/api/v1/admin/students",
        headers=lead,
        json={"name": "张小明", "class_id": class_id, "student_no": "20260101"},
    )
    assert student.status_code == 201, student.text

    # Editing: a field, and one checklist entry on its own.
    moved = client.patch(
        f"/api/v1/admin/areas/{area_id}", headers=lead, json={"walk_order": 5, "frequency_days": 2}
    )
    assert moved.status_code == 200 and moved.json()["fields"]["walk_order"] == 5
    assert moved.json()["seq"] > area.json()["seq"]
    item = client.patch(
        f"/api/v1/admin/checklist_templates/{template_id}",
        headers=lead,
        json={"items.soap": {"zh": "补充洗手液", "en": "Refill hand soap", "order": 2}},
    )
    assert item.status_code == 200
    assert set(item.json()["fields"]["items"]) == {"open_windows", "desks", "soap"}

    listed = client.get("/api/v1/admin/areas", headers=lead).json()
    assert [a["record_id"] for a in listed] == [area_id]
    assert (
        client.get(f"/api/v1/admin/areas/{area_id}", headers=lead).json()["fields"]["walk_order"]
        == 5
    )

    # A template in use cannot be deleted; a class with students neither.
    in_use = client.delete(f"/api/v1/admin/checklist_templates/{template_id}", headers=lead)
    assert in_use.status_code == 409 and in_use.json()["error"]["code"] == "in_use"
    assert client.delete(f"/api/v1/admin/classes/{class_id}", headers=lead).status_code == 409

    # Deleting leaves a tombstone: gone from views, kept in the store and the change log.
    assert client.delete(f"/api/v1/admin/areas/{area_id}", headers=lead).status_code == 204
    assert client.get(f"/api/v1/admin/areas/{area_id}", headers=lead).status_code == 404
    assert client.get("/api/v1/admin/areas", headers=lead).json() == []
    with Session(app.state.engine) as session:
        record = session.get(Record, ("areas", uuid.UUID(area_id)))
        assert record is not None and record.deleted
        logged = session.exec(select(ChangeLog).where(ChangeLog.record_id == uuid.UUID(area_id)))
        assert [c.deleted for c in logged] == [False, False, True]
    assert (
        client.delete(f"/api/v1/admin/checklist_templates/{template_id}", headers=lead).status_code
        == 204
    )


def test_setup_records_refuse_bad_values(
    client: TestClient, app: FastAPI, lead: dict[str, str]
) -> None:
    template_id = client.post(
        "/api/v1/admin/checklist_templates", headers=lead, json=TEMPLATE
    ).json()["record_id"]
    cleaner = create_user(app, Role.CLEANER)
    before = _count(app, ChangeLog)
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("areas", _area(template_id, frequency_days=0), "invalid_value"),
        ("areas", _area(template_id, kind="garden"), "invalid_value"),
        ("areas", _area(str(uuid.uuid4())), "invalid_value"),  # no such template
        ("areas", _area(template_id, colour="red"), "unknown_field"),
        ("areas", _area(template_id, name="x" * 101), "invalid_value"),
        ("checklist_templates", {"name": "空", "items": {}}, "invalid_value"),
        ("checklist_templates", {"name": "x", "items": {"bad key": {"zh": "a"}}}, "invalid_value"),
        ("classes", {"name": "初一(9)班", "teacher_ids": [str(cleaner.id)]}, "invalid_value"),
        ("classes", {"name": "初一(9)班", "teacher_ids": ["not-a-uuid"]}, "invalid_value"),
        ("students", {"name": "王五", "class_id": str(uuid.uuid4())}, "invalid_value"),
        ("students", {"class_id": str(uuid.uuid4())}, "invalid_value"),
    ]
    for collection, body, code in cases:
        response = client.post(f"/api/v1/admin/{collection}", headers=lead, json=body)
        assert response.status_code == 422, (collection, body, response.text)
        assert response.json()["error"]["code"] == code, (collection, body)
    area_id = client.post("/api/v1/admin/areas", headers=lead, json=_area(template_id)).json()[
        "record_id"
    ]
    patch_cases: list[tuple[dict[str, Any], str]] = [
        ({"frequency_days": -1}, "invalid_value"),
        ({"colour": "red"}, "unknown_field"),
        ({"name.x": "y"}, "unknown_field"),
        ({"checklist_template_id": str(uuid.uuid4())}, "invalid_value"),
        ({}, "invalid_value"),
    ]
    after_create = _count(app, ChangeLog)
    for body, code in patch_cases:
        response = client.patch(f"/api/v1/admin/areas/{area_id}", headers=lead, json=body)
        assert response.status_code == 422 and response.json()["error"]["code"] == code, body
    assert before + 1 == after_create == _count(app, ChangeLog)
    unknown = client.patch(
        f"/api/v1/admin/areas/{uuid.uuid4()}", headers=lead, json={"walk_order": 1}
    )
    assert unknown.status_code == 404
