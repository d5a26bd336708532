"""Users of one phone against the real server: sign in online, unlock offline, sign out, wipe."""

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from client import config
from client.accounts import (
    OldSecretNeeded,
    PhoneUser,
    PhoneUsers,
    Session,
    SignInFailed,
    UnsyncedChanges,
)
from client.encrypted_store import MAX_FAILED_UNLOCKS, DataWiped, StoreLocked, WrongSecret
from client.sync_engine import StoreWiped
from client.transport import Reply, Transport, TransportError
from shared.schemas.vocabulary import Role
from tests.factories import PASSWORD, auth, create_user, login
from tests.sync_support import AppTransport, School, small_school

SERVER = "https://school.example"
PIN = "135790"
NEW_PASSWORD = "brand-new-secret"


class NoNetwork:
    """A phone in airplane mode."""

    def __init__(self) -> None:
        self.calls = 0

    def post(self, path: str, body: dict[str, Any], token: str | None) -> Reply:
        self.calls += 1
        raise TransportError("network unreachable")


class Phones:
    """Every PhoneUsers a test made (one per app start), locked and closed at the end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: list[PhoneUsers] = []

    def start(self, transport_for: Callable[[str], Transport]) -> PhoneUsers:
        phone = PhoneUsers(self.folder, transport_for=transport_for)
        self.started.append(phone)
        return phone

    def close(self) -> None:
        for phone in self.started:
            phone.lock_current()


@pytest.fixture
def phones(tmp_path: Path) -> Iterator[Phones]:
    made = Phones(tmp_path / "app-data")
    yield made
    made.close()


def _online(phones: Phones, client: TestClient) -> PhoneUsers:
    return phones.start(lambda url: AppTransport(client))


def _offline(phones: Phones) -> tuple[PhoneUsers, NoNetwork]:
    network = NoNetwork()
    return phones.start(lambda url: network), network


def _lead_headers(client: TestClient) -> dict[str, str]:
    return auth(login(client, "lead")["token"])


def _user_id(session: Session) -> str:
    return session.profile.user_id


def _new_case(session: Session, school: School, symptoms: str = "发烧，咳嗽") -> str:
    class_id = school.class_ids[0]
    case_id = str(uuid.uuid4())
    session.store.edit(
        "sick_cases",
        case_id,
        {
            "student_id": school.student_ids[class_id][0],
            "class_id": class_id,
            "onset_date": "2026-11-28",
            "symptoms": symptoms,
        },
    )
    return case_id


def _user(phone: PhoneUsers, username: str) -> PhoneUser:
    return next(u for u in phone.users() if u.profile.username == username)


def _raw(path: Path) -> bytes:
    files = [Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm", "-journal")]
    return b"".join(p.read_bytes() for p in files if p.exists())


# First sign-in ------------------------------------------------------------------------


def test_first_sign_in_needs_the_server(phones: Phones) -> None:
    phone, network = _offline(phones)
    with pytest.raises(SignInFailed) as failed:
        phone.sign_in_online(SERVER, "teacher1", PASSWORD)
    assert failed.value.code == "offline" and network.calls == 1
    assert failed.value.message
    assert phone.users() == [] and phone.current is None


def test_wrong_password_is_refused_by_the_server(
    client: TestClient, app: FastAPI, phones: Phones
) -> None:
    small_school(app)
    phone = _online(phones, client)
    with pytest.raises(SignInFailed) as failed:
        phone.sign_in_online(SERVER, "teacher1", "not the password")
    assert failed.value.code == "invalid_credentials"
    assert phone.users() == [] and phone.current is None


def test_sign_in_keeps_nothing_readable_on_the_phone(
    client: TestClient, app: FastAPI, phones: Phones
) -> None:
    school = small_school(app)
    phone = _online(phones, client)
    session = phone.sign_in_online(SERVER, "teacher1", PASSWORD)
    session.engine.sync()
    assert session.store.records("students")
    _new_case(session, school, "家长说精神好些了")
    token = session.store.get_meta("token")
    assert token and session.display_name() == "测试用户"
    path = Path(session.store.path)
    assert path.parent.parent == phones.folder
    sensitive = [token, "测试用户", "家长说精神好些了", "学生00", "初一(1)班", PASSWORD]
    for raw in (_raw(path), b"".join(_raw(u.path) for u in phone.users())):
        assert [s for s in sensitive if s.encode() in raw] == []
    phone.lock_current()
    raw = b"".join(p.read_bytes() for p in phones.folder.rglob("*") if p.is_file())
    assert [s for s in sensitive if s.encode() in raw] == []


# Offline unlock ---------------------------------------------------------------------


def test_users_listed_while_locked_and_unlocked_offline_after_restart(
    client: TestClient, app: FastAPI, phones: Phones
) -> None:
    school = small_school(app)
    phone = _online(phones, client)
    session = phone.sign_in_online(SERVER, "teacher1", PASSWORD)
    session.engine.sync()
    case_id = _new_case(session, school)
    session.store.set_pin(PIN)
    user_id = _user_id(session)
    phone.lock_current()
    assert phone.current is None

    listed = phone.users()
    assert [(u.profile.username, u.profile.role) for u in listed] == [("teacher1", "class_teacher")]
    assert listed[0].profile.user_id == user_id and listed[0].profile.server_url == SERVER

    # The app is restarted with no network at all.
    restarted, network = _offline(phones)
    assert restarted.device_id == phone.device_id
    teacher = _user(restarted, "teacher1")
    with pytest.raises(WrongSecret) as refused:
        restarted.unlock(teacher, "not the password")
    assert refused.value.remaining == MAX_FAILED_UNLOCKS - 1
    session = restarted.unlock(teacher, PASSWORD)
    assert restarted.current is session and session.display_name() == "测试用户"
    assert session.store.get("sick_cases", case_id) is not None
    assert session.store.records("students")
    assert session.engine.state().pending == 1
    restarted.lock_current()
    session = restarted.unlock(teacher, PIN, kind="pin")
    assert session.store.get("sick_cases", case_id) is not None
    assert session.store.failed_attempts() == 0
    assert network.calls == 0  # unlocking never asked the server


def test_two_users_on_one_phone_each_have_their_own_store(
    client: TestClient, app: FastAPI, phones: Phones
) -> None:
    school = small_school(app)
    phone = _online(phones, client)
    first = phone.sign_in_online(SERVER, "teacher1", PASSWORD)
    first.engine.sync()
    case_id = _new_case(first, school)
    second = phone.sign_in_online(SERVER, "cleaner1", PASSWORD)
    assert phone.current is second
    assert Path(first.store.path) != Path(second.store.path)
    # Signing the second user in locked the first one.
    assert first.store.is_locked and first.store._key is None
    with pytest.raises(StoreLocked):
        first.store.get("sick_cases", case_id)
    assert second.store.get("sick_cases", case_id) is None
    second.engine.sync()
    assert second.store.records("areas") and not second.store.records("sick_cases")
    assert {u.profile.username for u in phone.users()} == {"teacher1", "cleaner1"}

    # Switching back (offline) locks the cleaner.
    teacher = phone.unlock(_user(phone, "teacher1"), PASSWORD)
    assert second.store.is_locked
    with pytest.raises(StoreLocked):
        second.store.records("areas")
    assert teacher.store.get("sick_cases", case_id) is not None
    assert teacher.engine.sync().pushed == 1


# Sign-out ----------------------------------------------------------------------------


def test_sign_out_refuses_to_drop_unsynced_changes_unless_forced(
    client: TestClient, app: FastAPI, phones: Phones
) -> None:
    school = small_school(app)
    phone = _online(phones, client)
    session = phone.sign_in_online(SERVER, "teacher1", PASSWORD)
    token = session.store.get_meta("token")
    assert token is not None
    _new_case(session, school)
    _new_case(session, school)
    path = Path(session.store.path)
    with pytest.raises(UnsyncedChanges) as refused:
        phone.sign_out()
    assert refused.value.count == 2
    assert phone.current is session and path.exists()
    assert session.store.pending_count() == 2  # nothing was lost by asking

    phone.sign_out(force=True)
    assert phone.current is None
    assert not path.exists()
    assert not Path(f"{path}-wal").exists() and not Path(f"{path}-shm").exists()
    assert phone.users() == []
    # The server was told: that sign-in is over.
    assert client.get("/api/v1/auth/me", headers=auth(token)).status_code == 401


def test_sign_out_after_sync_needs_no_force(
    client: TestClient, app: FastAPI, phones: Phones
) -> None:
    school = small_school(app)
    phone = _online(phones, client)
    session = phone.sign_in_online(SERVER, "teacher1", PASSWORD)
    _new_case(session, school)
    session.engine.sync()
    path = Path(session.store.path)
    phone.sign_out()
    assert not path.exists() and phone.users() == []


# Password changed on the server -----------------------------------------------------


def _reset_password(client: TestClient, user_id: str, password: str) -> None:
    response = client.patch(
        f"/api/v1/admin/users/{user_id}",
        headers=_lead_headers(client),
        json={"password": password},
    )
    assert response.status_code == 200, response.text


def test_password_reset_on_the_server_rewraps_with_the_old_secret(
    client: TestClient, app: FastAPI, phones: Phones
) -> None:
    school = small_school(app)
    phone = _online(phones, client)
    session = phone.sign_in_online(SERVER, "teacher1", PASSWORD)
    case_id = _new_case(session, school)  # not synced yet
    user_id = _user_id(session)
    phone.lock_current()
    _reset_password(client, user_id, NEW_PASSWORD)

    with pytest.raises(OldSecretNeeded):
        phone.sign_in_online(SERVER, "teacher1", NEW_PASSWORD)
    assert phone.current is None
    session = phone.sign_in_online(SERVER, "teacher1", NEW_PASSWORD, old_secret=PASSWORD)
    assert session.store.get("sick_cases", case_id) is not None
    assert session.store.failed_attempts() == 0
    # The new sign-in's token syncs the change made before the reset.
    assert session.engine.sync().pushed == 1
    phone.lock_current()

    restarted, _ = _offline(phones)
    teacher = _user(restarted, "teacher1")
    with pytest.raises(WrongSecret):
        restarted.unlock(teacher, PASSWORD)
    session = restarted.unlock(teacher, NEW_PASSWORD)
    assert session.store.get("sick_cases", case_id) is not None


def test_password_reset_old_pin_works_as_the_old_secret(
    client: TestClient, app: FastAPI, phones: Phones
) -> None:
    school = small_school(app)
    phone = _online(phones, client)
    session = phone.sign_in_online(SERVER, "teacher1", PASSWORD)
    case_id = _new_case(session, school)
    session.store.set_pin(PIN)
    user_id = _user_id(session)
    phone.lock_current()
    _reset_password(client, user_id, NEW_PASSWORD)
    session = phone.sign_in_online(SERVER, "teacher1", NEW_PASSWORD, old_secret=PIN)
    assert session.store.get("sick_cases", case_id) is not None
    phone.lock_current()
    restarted, _ = _offline(phones)
    session = restarted.unlock(_user(restarted, "teacher1"), NEW_PASSWORD)
    assert session.store.get("sick_cases", case_id) is not None


def test_password_reset_with_an_all_digit_old_password(
    client: TestClient, app: FastAPI, phones: Phones
) -> None:
    """An old password made of digits is still a password, not a PIN.

    PhoneUsers.sign_in_online picks the kind of `old_secret` with `old_secret.isdigit()`,
    so an all-digit password (allowed by the server: 8+ characters) is tried as a PIN
    and refused; each such try also counts towards the wipe.
    """
    small_school(app)  # for its lead
    create_user(app, Role.CLASS_TEACHER, "teacher9", password="20260901")
    phone = _online(phones, client)
    session = phone.sign_in_online(SERVER, "teacher9", "20260901")
    session.store.set_meta("note_to_self", "家长说精神好些了")
    user_id = _user_id(session)
    phone.lock_current()
    _reset_password(client, user_id, NEW_PASSWORD)
    session = phone.sign_in_online(SERVER, "teacher9", NEW_PASSWORD, old_secret="20260901")
    assert session.store.get_meta("note_to_self") == "家长说精神好些了"


# Wipes -------------------------------------------------------------------------------


def _deactivate(client: TestClient, user_id: str, active: bool = False) -> None:
    response = client.patch(
        f"/api/v1/admin/users/{user_id}", headers=_lead_headers(client), json={"active": active}
    )
    assert response.status_code == 200, response.text


def _assert_gone(phone: PhoneUsers, path: Path, username: str, sensitive: list[str]) -> None:
    assert username not in {u.profile.username for u in phone.users()}
    raw = _raw(path) if path.exists() else b""
    assert [s for s in sensitive if s.encode() in raw] == []
    if path.exists():
        conn = sqlite3.connect(path)
        try:
            for table in ("records", "outbox", "meta", "keyring", "profile"):
                assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0  # noqa: S608
        finally:
            conn.close()


@pytest.mark.parametrize("block", ["account_disabled", "device_revoked"])
def test_remote_wipe_at_the_next_sync(
    client: TestClient, app: FastAPI, phones: Phones, block: str
) -> None:
    school = small_school(app)
    phone = _online(phones, client)
    other = phone.sign_in_online(SERVER, "cleaner1", PASSWORD)  # shares the phone
    other.store.set_meta("note", "cleaner's own")
    session = phone.sign_in_online(SERVER, "teacher1", PASSWORD)
    session.engine.sync()
    case_id = _new_case(session, school, "家长说精神好些了")
    path = Path(session.store.path)
    user_id = _user_id(session)
    if block == "account_disabled":
        _deactivate(client, user_id)
    else:
        revoked = client.post(
            f"/api/v1/admin/devices/{phone.device_id}/revoke", headers=_lead_headers(client)
        )
        assert revoked.status_code == 200

    with pytest.raises((StoreWiped, StoreLocked)) as stopped:
        session.engine.sync()
    _assert_gone(phone, path, "teacher1", ["家长说精神好些了", "学生00", case_id, user_id])
    with pytest.raises(StoreLocked):
        session.store.get("sick_cases", case_id)
    with pytest.raises(WrongSecret):
        session.store.unlock(PASSWORD)  # no key left to unwrap
    # The other user of the phone keeps their data.
    cleaner = phone.unlock(_user(phone, "cleaner1"), PASSWORD)
    assert cleaner.store.get_meta("note") == "cleaner's own"
    # What the engine raises: the store was wiped, and it says so.
    assert isinstance(stopped.value, StoreWiped), (
        f"sync raised {stopped.value!r} instead of StoreWiped "
        f"(context: {stopped.value.__context__!r})"
    )
    assert stopped.value.code == block


def _wipe_by_guessing(phones: Phones, username: str) -> None:
    for attempt in range(1, MAX_FAILED_UNLOCKS + 1):
        restarted, _ = _offline(phones)
        user = _user(restarted, username)
        expected = DataWiped if attempt == MAX_FAILED_UNLOCKS else WrongSecret
        with pytest.raises(expected):
            restarted.unlock(user, f"guess {attempt}")
    assert username not in {u.profile.username for u in _offline(phones)[0].users()}


def test_user_can_sign_in_again_after_too_many_wrong_guesses(
    client: TestClient, app: FastAPI, phones: Phones
) -> None:
    """After a wipe the phone holds no store for the user: the next sign-in starts afresh.

    Today the wiped (empty) store file stays at the user's path, so sign_in_online takes it
    for an existing store, fails to unlock it with the right password and asks for the
    old secret (OldSecretNeeded), each try counting towards another wipe.
    """
    school = small_school(app)
    phone = _online(phones, client)
    session = phone.sign_in_online(SERVER, "teacher1", PASSWORD)
    _new_case(session, school)
    phone.lock_current()
    _wipe_by_guessing(phones, "teacher1")

    again = _online(phones, client)
    session = again.sign_in_online(SERVER, "teacher1", PASSWORD)
    assert session.store.records("sick_cases") == []
    assert session.engine.sync().pulled > 0


def test_user_can_sign_in_again_after_remote_wipe_and_reactivation(
    client: TestClient, app: FastAPI, phones: Phones
) -> None:
    school = small_school(app)
    phone = _online(phones, client)
    session = phone.sign_in_online(SERVER, "teacher1", PASSWORD)
    _new_case(session, school)
    user_id = _user_id(session)
    _deactivate(client, user_id)
    with pytest.raises((StoreWiped, StoreLocked)):
        session.engine.sync()
    assert phone.users() == []
    _deactivate(client, user_id, active=True)
    session = phone.sign_in_online(SERVER, "teacher1", PASSWORD)
    assert session.store.pending_count() == 0
    assert session.engine.sync().pulled > 0


# The data folder --------------------------------------------------------------------


def test_data_dir_is_flets_folder_when_set(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    flet_folder = tmp_path / "flet" / "data"
    monkeypatch.setenv("FLET_APP_STORAGE_DATA", str(flet_folder))
    assert config.data_dir() == flet_folder
    phone = PhoneUsers(config.data_dir(), transport_for=lambda url: NoNetwork())
    assert (flet_folder / "device_id").read_text() == phone.device_id
    assert phone.users() == []


def test_data_dir_falls_back_to_a_per_user_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("FLET_APP_STORAGE_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("APPDATA", str(tmp_path / "roaming"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    expected = {
        "linux": tmp_path / "home" / ".local" / "share" / "carerounds",
        "darwin": tmp_path / "home" / "Library" / "Application Support" / "CareRounds",
        "win32": tmp_path / "roaming" / "CareRounds",
    }
    for platform, folder in expected.items():
        with monkeypatch.context() as patched:
            patched.setattr("sys.platform", platform)
            assert config.data_dir() == folder
            patched.setenv("FLET_APP_STORAGE_DATA", "")  # set but empty: not a folder
            assert config.data_dir() == folder
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    with monkeypatch.context() as patched:
        patched.setattr("sys.platform", "linux")
        assert config.data_dir() == tmp_path / "xdg" / "carerounds"
