"""A 500 logs the exception's type and a request id: never a statement's values, a
record's contents or a password hash, even when the database's own error quotes them."""

import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from server import accounts
from shared.schemas.vocabulary import Role
from tests.factories import signed_in

SECRET = "Hush-7f3a9c-very-secret"


def test_a_database_error_logs_no_value(
    client: TestClient,
    app: FastAPI,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, lead = signed_in(client, app, Role.LEAD)
    raised: list[str] = []

    def failing_create(session, body):  # type: ignore[no-untyped-def]
        # A statement the database refuses, with the new password as its parameter: the
        # error's text would quote it, were parameters shown.
        try:
            session.execute(
                text("INSERT INTO no_such_table (secret) VALUES (:v)"), {"v": body.password}
            )
        except Exception as exc:
            raised.append(str(exc))  # what any log quoting the error would say
            raise

    monkeypatch.setattr(accounts, "create_user", failing_create)
    caplog.set_level(logging.DEBUG)  # SQLAlchemy's own statement log included
    user = {"username": "x1", "display_name": SECRET, "role": "cleaner", "password": SECRET}
    response = client.post("/api/v1/admin/users", json=user, headers=lead)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    request_id = response.headers["x-request-id"]
    assert request_id in response.json()["error"]["message"]
    logged = caplog.text + "".join(str(r.args) + str(r.exc_info) for r in caplog.records)
    assert SECRET not in logged
    assert raised and SECRET not in raised[0]  # the engine hides parameters
    [line] = [r.getMessage() for r in caplog.records if "unexpected server error" in r.getMessage()]
    assert request_id in line
    assert "Error" in line  # the exception's type: OperationalError or ProgrammingError
