"""What a client can get wrong gets a 4xx with a code and a message, and writes nothing."""

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from server.models import AccessToken, ChangeLog, Device, User
from shared.schemas.vocabulary import Role
from tests.factories import signed_in

LOGIN = "/api/v1/auth/login"


def _counts(app: FastAPI) -> tuple[int, ...]:
    with Session(app.state.engine) as session:
        return tuple(
            int(session.exec(select(func.count()).select_from(m)).one())
            for m in (User, Device, AccessToken, ChangeLog)
        )


def _error(response: object) -> tuple[int, str]:
    status = response.status_code  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["message"]
    return status, body["error"]["code"]


@pytest.mark.parametrize(
    ("content", "headers", "expected"),
    [
        (b"{not json", {"content-type": "application/json"}, (400, "malformed_json")),
        (b"", {"content-type": "application/json"}, (422, "invalid_value")),
        (b"[1, 2]", {"content-type": "application/json"}, (422, "invalid_value")),
        (b'"text"', {"content-type": "application/json"}, (422, "invalid_value")),
        (
            b"username=a",
            {"content-type": "application/x-www-form-urlencoded"},
            (415, "unsupported_media_type"),
        ),
        (
            b'{"username": 5, "password": "x", "device_id": "d", "device_name": "n"}',
            {"content-type": "application/json"},
            (422, "invalid_value"),
        ),
        (
            b'{"username": "a", "password": "x", "device_id": "bad id!", "device_name": "n"}',
            {"content-type": "application/json"},
            (422, "invalid_value"),
        ),
        (
            b'{"username": "a", "password": "x", "device_id": "d", "device_name": "n", "x": 1}',
            {"content-type": "application/json"},
            (422, "unknown_field"),
        ),
        (
            b'{"username": "a", "password": "x"}',
            {"content-type": "application/json"},
            (422, "invalid_value"),
        ),
    ],
)
def test_login_bad_bodies(
    client: TestClient, app: FastAPI, content: bytes, headers: dict[str, str], expected: tuple
) -> None:
    before = _counts(app)
    assert _error(client.post(LOGIN, content=content, headers=headers)) == expected
    assert _counts(app) == before


def test_oversized_bodies(client: TestClient, app: FastAPI) -> None:
    _, lead = signed_in(client, app, Role.LEAD)
    before = _counts(app)
    limit = app.state.settings.max_body_bytes
    big = b'{"name": "' + b"x" * limit + b'"}'
    declared = client.post(
        "/api/v1/admin/areas", content=big, headers={**lead, "content-type": "application/json"}
    )
    assert _error(declared) == (413, "body_too_large")

    def chunks():  # no Content-Length: the limit holds for streamed bodies too
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536

    streamed = client.post(
        "/api/v1/admin/areas",
        content=chunks(),
        headers={**lead, "content-type": "application/json"},
    )
    assert _error(streamed) == (413, "body_too_large")
    push = client.post(
        "/api/v1/sync/push", content=big, headers={**lead, "content-type": "application/json"}
    )
    assert _error(push) == (413, "batch_too_large")
    assert _counts(app) == before


def test_wrong_types_and_unknown_fields_on_lead_endpoints(client: TestClient, app: FastAPI) -> None:
    _, lead = signed_in(client, app, Role.LEAD)
    before = _counts(app)
    cases = [
        (
            "/api/v1/admin/users",
            {"username": "x1", "display_name": "X", "role": "janitor", "password": "12345678"},
            (422, "invalid_value"),
        ),
        (
            "/api/v1/admin/users",
            {"username": "x1", "display_name": "X", "role": "cleaner", "password": "short"},
            (422, "invalid_value"),
        ),
        (
            "/api/v1/admin/users",
            {
                "username": "x1",
                "display_name": "X",
                "role": "cleaner",
                "password": "12345678",
                "is_admin": True,
            },
            (422, "unknown_field"),
        ),
        ("/api/v1/admin/classes", {"name": ["not", "a", "string"]}, (422, "invalid_value")),
        (
            "/api/v1/admin/checklist_templates",
            {"name": "x", "items": "nope"},
            (422, "invalid_value"),
        ),
    ]
    for path, body, expected in cases:
        assert _error(client.post(path, headers=lead, json=body)) == expected, body
    bad_id = client.get("/api/v1/admin/users/not-a-uuid", headers=lead)
    assert _error(bad_id) == (422, "invalid_value")
    assert _counts(app) == before


def test_unknown_routes_and_methods(client: TestClient) -> None:
    assert _error(client.get("/api/v1/nothing-here")) == (404, "not_found")
    assert _error(client.get(LOGIN)) == (405, "method_not_allowed")


def test_a_cleaner_calling_a_lead_endpoint(client: TestClient, app: FastAPI) -> None:
    _, cleaner = signed_in(client, app, Role.CLEANER)
    response = client.post(
        "/api/v1/admin/users",
        headers=cleaner,
        json={"username": "sneaky", "display_name": "X", "role": "lead", "password": "12345678"},
    )
    assert _error(response) == (403, "forbidden")
    with Session(app.state.engine) as session:
        assert session.exec(select(User).where(User.username == "sneaky")).first() is None
