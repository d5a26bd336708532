"""Plain functions that make test data through the real code paths."""

import secrets
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from server import accounts
from server.models import User
from shared.schemas.vocabulary import Role
from shared.schemas.wire import UserCreate

PASSWORD = "correct horse battery"


def create_user(
    app: FastAPI,
    role: Role = Role.CLEANER,
    username: str | None = None,
    password: str = PASSWORD,
    display_name: str = "测试用户",
) -> User:
    username = username or f"{role.value}_{secrets.token_hex(3)}"
    with Session(app.state.engine) as session:
        user = accounts.create_user(
            session,
            UserCreate(username=username, display_name=display_name, role=role, password=password),
        )
        session.commit()
        session.refresh(user)
        session.expunge(user)
        return user


def login(
    client: TestClient,
    username: str,
    password: str = PASSWORD,
    device_id: str | None = None,
) -> dict[str, Any]:
    response = client.post(
        "/api/v1/auth/login",
        json={
            "username": username,
            "password": password,
            "device_id": device_id or f"dev-{secrets.token_hex(4)}",
            "device_name": "测试手机",
        },
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def signed_in(client: TestClient, app: FastAPI, role: Role) -> tuple[User, dict[str, str]]:
    """A new user of `role`, signed in on a new device; returns the user and auth headers."""
    user = create_user(app, role)
    return user, auth(login(client, user.username)["token"])
