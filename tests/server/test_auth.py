"""Sign-in, sign-out and tokens, per protocol version 1."""

from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, col, select

from server.deps import CurrentUser, SessionDep
from server.models import AccessToken, Device, LoginThrottle, User, utcnow
from shared.schemas.vocabulary import Role
from tests.factories import PASSWORD, auth, create_user, login


def _login(client: TestClient, username: str, password: str, device: str = "phone-1") -> dict:
    return client.post(
        "/api/v1/auth/login",
        json={
            "username": username,
            "password": password,
            "device_id": device,
            "device_name": "保洁员的手机",
        },
    )


def test_login_returns_token_and_user(client: TestClient, app: FastAPI) -> None:
    user = create_user(app, Role.CLASS_TEACHER, "teacher1", display_name="陈晓燕")
    response = _login(client, "teacher1", PASSWORD)
    assert response.status_code == 200
    body = response.json()
    assert body["user"] == {
        "id": str(user.id),
        "username": "teacher1",
        "display_name": "陈晓燕",
        "role": "class_teacher",
    }
    assert len(body["token"]) >= 32
    me = client.get("/api/v1/auth/me", headers=auth(body["token"]))
    assert me.status_code == 200 and me.json()["username"] == "teacher1"


def test_token_lasts_longer_than_a_week_offline(client: TestClient, app: FastAPI) -> None:
    create_user(app, Role.CLEANER, "cleaner1")
    body = _login(client, "cleaner1", PASSWORD).json()
    from datetime import datetime

    expires = datetime.fromisoformat(body["expires_at"])
    assert expires - utcnow() > timedelta(days=7)


def test_chinese_username_and_case_insensitive_match(client: TestClient, app: FastAPI) -> None:
    create_user(app, Role.COUNSELOR, "王老师")
    assert _login(client, "王老师", PASSWORD).status_code == 200
    create_user(app, Role.LEAD, "Lead")
    assert _login(client, "lead", PASSWORD).status_code == 200
    # Full-width letters, as a Chinese keyboard may type them, are the same name.
    assert _login(client, "ｌｅａｄ", PASSWORD).status_code == 200


def test_wrong_password_and_unknown_user_look_the_same(client: TestClient, app: FastAPI) -> None:
    create_user(app, Role.CLEANER, "cleaner1")
    wrong = _login(client, "cleaner1", "not the password")
    unknown = _login(client, "nobody", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "invalid_credentials"


def test_lockout_after_repeated_failures(client: TestClient, app: FastAPI) -> None:
    create_user(app, Role.CLEANER, "cleaner1")
    limit = app.state.settings.max_login_failures
    for _ in range(limit):
        assert _login(client, "cleaner1", "wrong password").status_code == 401
    locked = _login(client, "cleaner1", PASSWORD)
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "too_many_attempts"
    assert int(locked.headers["Retry-After"]) > 0
    # Unknown usernames are throttled the same way, so lockout reveals nothing.
    for _ in range(limit):
        _login(client, "ghost", "x")
    assert _login(client, "ghost", "x").status_code == 429
    # Another user is not affected.
    create_user(app, Role.CLEANER, "cleaner2")
    assert _login(client, "cleaner2", PASSWORD).status_code == 200


def test_lockout_ends_and_success_clears_failures(client: TestClient, app: FastAPI) -> None:
    create_user(app, Role.CLEANER, "cleaner1")
    limit = app.state.settings.max_login_failures
    for _ in range(limit):
        _login(client, "cleaner1", "wrong password")
    with Session(app.state.engine) as session:
        session.execute(update(LoginThrottle).values(locked_until=utcnow() - timedelta(seconds=1)))
        session.commit()
    assert _login(client, "cleaner1", PASSWORD).status_code == 200
    with Session(app.state.engine) as session:
        left = session.exec(select(LoginThrottle)).all()
        # The username's count is cleared; the address's is not (one password found is no
        # reason to let a machine try others).
        assert [t.username_key for t in left] == ["addr:testclient"]
    # The count starts over: one failure is not a lockout.
    assert _login(client, "cleaner1", "wrong").status_code == 401
    assert _login(client, "cleaner1", PASSWORD).status_code == 200


def _set_active(app: FastAPI, username: str, active: bool) -> None:
    with Session(app.state.engine) as session:
        session.execute(update(User).where(col(User.username) == username).values(active=active))
        session.commit()


def test_disabled_account(client: TestClient, app: FastAPI) -> None:
    create_user(app, Role.CLASS_TEACHER, "teacher1")
    token = login(client, "teacher1")["token"]
    _set_active(app, "teacher1", False)
    refused = _login(client, "teacher1", PASSWORD)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "account_disabled"
    # A device that still holds a token learns it too, so it can wipe its store.
    me = client.get("/api/v1/auth/me", headers=auth(token))
    assert me.status_code == 401
    assert me.json()["error"]["code"] == "account_disabled"
    # A wrong password on a disabled account reveals nothing.
    assert _login(client, "teacher1", "wrong").json()["error"]["code"] == "invalid_credentials"


def test_expired_token(client: TestClient, app: FastAPI) -> None:
    create_user(app, Role.CLEANER, "cleaner1")
    token = login(client, "cleaner1")["token"]
    with Session(app.state.engine) as session:
        session.execute(update(AccessToken).values(expires_at=utcnow() - timedelta(minutes=1)))
        session.commit()
    response = client.get("/api/v1/auth/me", headers=auth(token))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


def test_logout_revokes_only_that_token(client: TestClient, app: FastAPI) -> None:
    create_user(app, Role.CLEANER, "cleaner1")
    first = login(client, "cleaner1", device_id="phone-a")["token"]
    second = login(client, "cleaner1", device_id="phone-b")["token"]
    assert client.post("/api/v1/auth/logout", headers=auth(first)).status_code == 204
    again = client.get("/api/v1/auth/me", headers=auth(first))
    assert again.status_code == 401 and again.json()["error"]["code"] == "invalid_token"
    assert client.get("/api/v1/auth/me", headers=auth(second)).status_code == 200
    # Logging out twice is harmless but the token stays dead.
    assert client.post("/api/v1/auth/logout", headers=auth(first)).status_code == 401


def test_tokens_are_stored_hashed(client: TestClient, app: FastAPI) -> None:
    create_user(app, Role.CLEANER, "cleaner1")
    token = login(client, "cleaner1")["token"]
    with Session(app.state.engine) as session:
        stored = session.exec(select(AccessToken)).one()
        user = session.exec(select(User)).one()
    assert token not in stored.token_hash
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_bad_and_missing_tokens(client: TestClient) -> None:
    missing = client.get("/api/v1/auth/me")
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "missing_token"
    bogus = client.get("/api/v1/auth/me", headers=auth("not-a-real-token"))
    assert bogus.status_code == 401 and bogus.json()["error"]["code"] == "invalid_token"
    basic = client.get("/api/v1/auth/me", headers={"Authorization": "Basic abc"})
    assert basic.status_code == 401


def test_device_registry_and_revoked_device(client: TestClient, app: FastAPI) -> None:
    create_user(app, Role.CLEANER, "cleaner1")
    create_user(app, Role.CLEANER, "cleaner2")
    token = login(client, "cleaner1", device_id="shared-phone")["token"]
    with Session(app.state.engine) as session:
        device = session.get(Device, "shared-phone")
        assert device is not None and device.name == "测试手机"
        device.revoked_at = utcnow()
        session.add(device)
        session.commit()
    response = client.get("/api/v1/auth/me", headers=auth(token))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "device_revoked"
    # Nobody signs in on a blocked phone, not even another user of it.
    blocked = _login(client, "cleaner2", PASSWORD, device="shared-phone")
    assert blocked.status_code == 401
    assert blocked.json()["error"]["code"] == "device_revoked"


def test_a_request_gives_its_connection_back_before_the_endpoint(
    client: TestClient, app: FastAPI
) -> None:
    # The caller is read, and the connection returned to the pool, before the endpoint
    # waits for a thread; also when the sign-in's device was last seen long ago, so that
    # the read wrote `last_seen` and committed (its rows reloaded before they are let go).
    create_user(app, Role.CLEANER, "cleaner1")
    token = _login(client, "cleaner1", PASSWORD).json()["token"]
    for _ in range(2):
        with Session(app.state.engine) as session:
            session.execute(update(Device).values(last_seen=utcnow() - timedelta(hours=1)))
            session.commit()
        pulled = client.post(
            "/api/v1/sync/pull", json={"device_id": "phone-1", "cursor": None}, headers=auth(token)
        )
        assert pulled.status_code == 200, pulled.text
        me = client.get("/api/v1/auth/me", headers=auth(token))
        assert me.status_code == 200 and me.json()["username"] == "cleaner1"
    assert app.state.engine.pool.checkedout() == 0

    @app.get("/probe")
    def probe(caller: CurrentUser, session: SessionDep) -> dict[str, object]:
        return {"holding": session.in_transaction(), "role": caller.role.value}

    assert client.get("/probe", headers=auth(token)).json() == {
        "holding": False,
        "role": "cleaner",
    }
