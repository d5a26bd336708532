"""Push and pull are answered ahead of FastAPI (`server.sync.direct`): a client sees the
same answers as from the declared routes, and every guard of the other requests holds."""

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlmodel import Session

from server.config import Settings
from server.main import create_app
from server.models import Device, User, utcnow
from server.sync import direct, routes
from tests.conftest import TABLES
from tests.sync_support import PULL, PUSH, Phone, small_school

JSON = {"content-type": "application/json"}
SECURITY = ("x-content-type-options", "x-frame-options", "referrer-policy", "permissions-policy")


def _requests(phone: Phone, area_id: str) -> list[tuple[str, bytes, dict[str, str]]]:
    device = phone.device_id
    round_fields = (
        b'{"area_id": "'
        + area_id.encode()
        + b'", "round_date": "2026-11-29", "cleaner_id": "'
        + phone.user_id.encode()
        + b'"}'
    )
    change = (
        b'{"change_id": "0b1e7c52-5a8e-4a44-9d43-1b1c0c3e0a0%d", "collection": '
        b'"disinfection_rounds", "record_id": "3f1e7c52-5a8e-4a44-9d43-1b1c0c3e0a0%d", '
        b'"hlc": "1764404130000-000000-' + device.encode() + b'", "fields": ' + round_fields + b"}"
    )
    signed = {**phone.headers, **JSON}
    utf8 = {**signed, "content-type": "application/json; charset=utf-8"}
    mine = b'{"device_id": "' + device.encode() + b'"'
    return [
        (PULL, mine + b"}", signed),
        (PULL, mine + b', "limit": 2}', utf8),
        (PULL, mine + b', "cursor": "nonsense"}', signed),
        (PULL, b'{"device_id": "someone-else"}', signed),
        (PULL, mine + b', "limit": 0}', signed),
        (PULL, mine + b"}", JSON),  # no token
        (PULL, mine + b"}", {**JSON, "authorization": "Basic abc"}),
        (PULL, mine + b"}", {**JSON, "authorization": "Bearer not-a-token"}),
        (PULL, mine + b"}", {**JSON, "authorization": "bearer"}),
        (PULL, mine + b"}", {"authorization": signed["Authorization"]}),  # no content type
        (PULL, mine + b"}", {**signed, "content-type": "text/plain"}),
        (PUSH, mine + b', "changes": []}', signed),
        (PUSH, mine + b', "changes": [' + change % (1, 1) + b"]}", signed),
        (PUSH, mine + b', "changes": [' + change % (1, 1) + b"]}", signed),  # duplicate
        (PUSH, mine + b', "changes": [' + change % (3, 3) + b'], "pull": {"limit": 5}}', signed),
        (PUSH, mine + b', "changes": [], "pull": {"cursor": "nonsense"}}', signed),
        (PUSH, mine + b', "changes": [' + change % (2, 2) + b"]}", JSON),  # no token
        (PUSH, b'{"device_id": "someone-else", "changes": []}', signed),
        (PUSH, mine + b', "changes": [{"change_id": "x"}]}', signed),
        (PUSH, mine + b', "changes": {}}', signed),
        (PUSH, b"[]", signed),
        (PUSH, b"", signed),
        (PUSH, b"{oops", signed),
        (PUSH, b'{"device_id": Infinity}', signed),
    ]


def _comparable(page: dict[str, Any]) -> dict[str, Any]:
    """A page without what differs from one app to the next: the school's ids are new in
    each, and a cursor is sealed with a new nonce."""
    changes = [(c["collection"], c["seq"], sorted(c["fields"])) for c in page["changes"]]
    return {**page, "changes": changes, "cursor": "?"}


def _answers(client: TestClient, app: FastAPI) -> list[tuple[int, object, dict[str, str]]]:
    school = small_school(app)
    phone = Phone(client, "cleaner1", device_id="direct-phone")
    answers = []
    for path, content, headers in _requests(phone, school.area_ids[0]):
        response = client.post(path, content=content, headers=headers)
        body = response.json()
        if path == PULL and response.status_code == 200:
            body = _comparable(body)
        if path == PUSH and body.get("pull"):
            body = {**body, "pull": _comparable(body["pull"])}
        kept = {k: v for k, v in response.headers.items() if k not in ("content-length", "date")}
        answers.append((response.status_code, body, kept))
    return answers


def test_answers_are_those_of_the_declared_routes(settings: Settings) -> None:
    """The same requests, once answered directly and once by the routes, on a fresh app
    each time (same school, same device): the same status, body and headers."""
    seen = []
    for direct_answers in (True, False):
        app = create_app(settings)
        try:
            with pytest.MonkeyPatch.context() as patch, TestClient(app) as client:
                if not direct_answers:
                    patch.setattr(direct, "_ANSWERS", {})
                seen.append(_answers(client, app))
        finally:
            _forget_school(app)
            app.state.engine.dispose()
    directly, routed = seen
    codes = [(status, body.get("error", {}).get("code")) for status, body, _ in directly]
    assert codes == [
        (200, None), (200, None), (422, "invalid_cursor"), (403, "forbidden"),
        (422, "invalid_value"), (401, "missing_token"), (401, "missing_token"),
        (401, "invalid_token"), (401, "missing_token"), (415, "unsupported_media_type"),
        (415, "unsupported_media_type"),
        (200, None), (200, None), (200, None), (200, None), (200, None),
        (401, "missing_token"), (403, "forbidden"),
        (422, "invalid_value"), (422, "invalid_value"), (422, "invalid_value"),
        (422, "invalid_value"), (400, "malformed_json"), (400, "malformed_json"),
    ]  # fmt: skip
    for one, other in zip(directly, routed, strict=True):
        assert one == other


def _forget_school(app: FastAPI) -> None:
    """The test database is shared by the test's two apps: start the second afresh."""
    with app.state.engine.begin() as conn:
        for table in TABLES:
            conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - fixed table names
        conn.execute(text("UPDATE seq_counter SET last_seq = 0"))


def test_direct_answers_carry_the_security_headers(client: TestClient, app: FastAPI) -> None:
    small_school(app)
    phone = Phone(client, "cleaner1")
    for response in (
        client.post(PULL, json={"device_id": phone.device_id}, headers=phone.headers),
        client.post(PULL, json={"device_id": phone.device_id}),
        client.post(
            PUSH, json={"device_id": phone.device_id, "changes": []}, headers=phone.headers
        ),
    ):
        assert response.headers["content-type"] == "application/json"
        assert response.headers["cache-control"] == "no-store"
        assert all(response.headers[name] for name in SECURITY)


def test_a_revoked_device_and_a_disabled_account_get_their_codes(
    client: TestClient, app: FastAPI
) -> None:
    small_school(app)
    phone = Phone(client, "cleaner1")
    other = Phone(client, "teacher1")
    pull = {"device_id": phone.device_id}
    assert client.post(PULL, json=pull, headers=phone.headers).status_code == 200
    with Session(app.state.engine) as session:
        device = session.get(Device, phone.device_id)
        assert device is not None
        device.revoked_at = utcnow()
        session.add(device)
        teacher = session.get(User, uuid.UUID(other.user_id))
        assert teacher is not None
        teacher.active = False
        session.add(teacher)
        session.commit()
    for path, body in ((PULL, pull), (PUSH, {**pull, "changes": []})):
        refused = client.post(path, json=body, headers=phone.headers)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "device_revoked"
        body = {**body, "device_id": other.device_id}
        refused = client.post(path, json=body, headers=other.headers)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "account_disabled"


def test_an_oversized_push_is_refused_before_it_is_read(client: TestClient, app: FastAPI) -> None:
    small_school(app)
    phone = Phone(client, "cleaner1")
    limit = app.state.settings.max_body_bytes
    big = b'{"device_id": "' + b"x" * limit + b'", "changes": []}'
    answer = client.post(PUSH, content=big, headers={**phone.headers, **JSON})
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "batch_too_large"
    assert answer.headers["cache-control"] == "no-store"


def test_cors_for_a_named_origin(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"cors_origins": "https://office.school.example"}))
    try:
        with TestClient(app) as client:
            small_school(app)
            phone = Phone(client, "cleaner1")
            headers = {**phone.headers, "Origin": "https://office.school.example"}
            answer = client.post(PULL, json={"device_id": phone.device_id}, headers=headers)
            assert answer.status_code == 200
            assert answer.headers["access-control-allow-origin"] == "https://office.school.example"
            elsewhere = {**phone.headers, "Origin": "https://evil.example"}
            answer = client.post(PULL, json={"device_id": phone.device_id}, headers=elsewhere)
            assert "access-control-allow-origin" not in answer.headers
    finally:
        app.state.engine.dispose()


def test_the_routes_stay_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "post" in paths[PUSH] and "post" in paths[PULL]
    assert routes.answer_push is direct._ANSWERS[PUSH][1]


def test_other_methods_go_to_the_routes(client: TestClient) -> None:
    answer = client.get(PULL)
    assert answer.status_code == 405
    assert answer.json()["error"]["code"] == "method_not_allowed"


def test_plain_requests_are_answered_directly(
    client: TestClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_school(app)
    phone = Phone(client, "cleaner1")
    answered = []
    for path, (model, work) in list(direct._ANSWERS.items()):

        def counted(state: object, token: str | None, body: object, work: object = work) -> bytes:
            answered.append(type(body).__name__)
            return work(state, token, body)  # type: ignore[operator, no-any-return]

        monkeypatch.setitem(direct._ANSWERS, path, (model, counted))
    pull = {"device_id": phone.device_id}
    assert client.post(PULL, json=pull, headers=phone.headers).status_code == 200
    assert client.post(PULL, json=pull).status_code == 401  # answered, and refused, directly
    assert client.post(PUSH, json={**pull, "changes": []}, headers=phone.headers).status_code == 200
    assert client.post(PULL, json={**pull, "x": 1}, headers=phone.headers).status_code == 422
    assert answered == ["PullRequest", "PullRequest", "PushRequest"]


def test_an_empty_pull_is_one_statement_and_a_teachers_two(
    client: TestClient, app: FastAPI
) -> None:
    """The sign-in check reads the change counter too, and a pull holds no transaction: a
    cleaner whose cursor is at the counter costs the database one statement, a class
    teacher two (their classes are looked up each time)."""
    small_school(app)
    counted: list[str] = []

    def count(*args: object) -> None:
        counted.append(str(args[2]).split()[0].upper())

    for username, statements in (("cleaner1", ["SELECT"]), ("teacher1", ["SELECT", "SELECT"])):
        phone = Phone(client, username)
        phone.pull_all()
        body = {"device_id": phone.device_id, "cursor": phone.cursor}
        event.listen(app.state.engine, "before_cursor_execute", count)
        try:
            counted.clear()
            page = client.post(PULL, json=body, headers=phone.headers).json()
        finally:
            event.remove(app.state.engine, "before_cursor_execute", count)
        assert page["changes"] == [] and page["removed"] == []
        assert counted == statements, username
