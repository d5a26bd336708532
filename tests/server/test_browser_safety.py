"""Operational safety: sign-ins throttled per account and per address, security headers
on every answer, CORS closed unless the school opens it to named origins."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from server.config import Settings
from server.main import create_app
from shared.schemas.vocabulary import Role
from tests.factories import PASSWORD, create_user


def _login(client: TestClient, username: str, password: str) -> int:
    body = {"username": username, "password": password, "device_id": "d1", "device_name": "p"}
    return client.post("/api/v1/auth/login", json=body).status_code


@pytest.fixture
def strict(settings: Settings) -> Iterator[TestClient]:
    tight = settings.model_copy(
        update={
            "max_login_failures_per_address": 4,
            "cors_origins": "https://office.school.example",
        }
    )
    app = create_app(tight)
    try:
        with TestClient(app) as client:
            yield client
    finally:
        app.state.engine.dispose()


def test_one_address_trying_many_usernames_is_held_back(strict: TestClient) -> None:
    create_user(strict.app, Role.CLEANER, "cleaner1")  # type: ignore[arg-type]
    for name in ("a", "b", "c", "d"):  # each username once: no username lockout
        assert _login(strict, name, "guess") == 401
    assert _login(strict, "cleaner1", PASSWORD) == 429  # the address waits, even for a right one
    other = TestClient(strict.app, client=("10.0.0.9", 5000))
    assert _login(other, "cleaner1", PASSWORD) == 200  # another address is not affected


def test_every_answer_carries_the_security_headers(client: TestClient) -> None:
    for path in ("/api/v1/health", "/api/v1/sync/pull", "/docs"):
        answer = client.get(path)
        assert answer.headers["x-content-type-options"] == "nosniff", path
        assert answer.headers["x-frame-options"] == "DENY", path
        assert answer.headers["referrer-policy"] == "no-referrer", path
        assert "strict-transport-security" not in answer.headers  # plain HTTP here
    assert client.get("/api/v1/health").headers["cache-control"] == "no-store"
    secure = TestClient(client.app, base_url="https://testserver")
    assert secure.get("/api/v1/health").headers["strict-transport-security"].startswith("max-age=")


def test_cors_is_closed_unless_an_origin_is_named(client: TestClient, strict: TestClient) -> None:
    asked = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    closed = client.options("/api/v1/health", headers=asked)
    assert "access-control-allow-origin" not in closed.headers
    assert (
        "access-control-allow-origin" not in strict.options("/api/v1/health", headers=asked).headers
    )
    named = {**asked, "Origin": "https://office.school.example"}
    opened = strict.options("/api/v1/health", headers=named)
    assert opened.headers["access-control-allow-origin"] == "https://office.school.example"
