"""The encrypted device store: nothing readable at rest, tamper evidence, unlock and lock."""

import json
import secrets
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from client.crypto import IntegrityError
from client.encrypted_store import (
    MAX_FAILED_UNLOCKS,
    DataWiped,
    EncryptedStore,
    InvalidPin,
    Profile,
    StoreLocked,
    WrongSecret,
)
from client.native_crypto import CryptographyBackend
from client.plain_store import PlainStore
from shared.schemas.collections import COLLECTIONS, validate_record

DEVICE = "phone-test-1"
PASSWORD = "晨检-password-1"
NEW_PASSWORD = "another long secret 2"
PIN = "482913"
PROFILE = Profile(str(uuid.uuid4()), "wang_teacher", "class_teacher", "https://school.example")
CLASS_ID = str(uuid.uuid4())
CASE_ID = str(uuid.uuid4())

STUDENT_NAME = "张小明"
CHINESE_NOTE = "家长说精神好些了"
ENGLISH_NOTE = "Mother says he slept badly; fever back after lunch"
SYMPTOMS = "发烧38.5度，咳嗽"
DISPLAY_NAME = "王红梅老师"


class FakeClock:
    """A `monotonic` the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "users" / "store.db"


@pytest.fixture
def store(path: Path) -> Iterator[EncryptedStore]:
    created = EncryptedStore.create(path, DEVICE, PASSWORD, PROFILE)
    yield created
    created.close()


def _sidecars(path: Path) -> list[Path]:
    """The store file and whichever of its WAL, shared-memory and journal files exist."""
    found = [Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm", "-journal")]
    return [p for p in found if p.exists()]


def _raw(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in _sidecars(path))


def _forms(value: str) -> list[bytes]:
    """The ways a text can land in a file: UTF-8, UTF-16, JSON with \\u escapes."""
    return [
        value.encode(),
        value.encode("utf-16-le"),
        json.dumps(value).strip('"').encode(),
    ]


def _leaks(raw: bytes, secrets_: list[str]) -> list[str]:
    return [s for s in secrets_ if any(form in raw for form in _forms(s))]


def _write_sensitive(store: PlainStore, token: str) -> dict[str, str]:
    """A student, a sick case with a follow-up, and the sign-in's metadata; returns ids."""
    student_id, case_id, visit_id = (str(uuid.uuid4()) for _ in range(3))
    store.edit("students", student_id, {"name": STUDENT_NAME, "class_id": CLASS_ID})
    store.edit(
        "sick_cases",
        case_id,
        {
            "student_id": student_id,
            "class_id": CLASS_ID,
            "onset_date": "2026-11-28",
            "symptoms": SYMPTOMS,
        },
    )
    store.edit(
        "follow_ups",
        visit_id,
        {
            "case_id": case_id,
            "visit_date": "2026-11-29",
            "method": "phone",
            "condition": CHINESE_NOTE,
            "note": ENGLISH_NOTE,
        },
    )
    store.set_meta("token", token)
    store.set_meta("display_name", DISPLAY_NAME)
    return {"student": student_id, "case": case_id, "visit": visit_id}


def _follow_up(index: int = 0) -> dict[str, Any]:
    """A follow-up as the store keeps it: whole, defaults filled in."""
    return validate_record(
        COLLECTIONS["follow_ups"],
        {
            "case_id": CASE_ID,
            "visit_date": "2026-11-29",
            "method": "home_visit",
            "note": f"{CHINESE_NOTE} {index}",
        },
    )


def _record_blobs(path: Path) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        records = conn.execute(
            "SELECT collection, record_id, server_fields, fields FROM records ORDER BY 1, 2"
        ).fetchall()
        outbox = conn.execute("SELECT change_id, fields FROM outbox ORDER BY id").fetchall()
        meta = conn.execute("SELECT key, value FROM meta WHERE key != 'clock'").fetchall()
    finally:
        conn.close()
    return [*records, *outbox, *meta]


def _update_raw(path: Path, sql: str, *params: Any) -> None:
    conn = sqlite3.connect(path)
    try:
        with conn:
            changed = conn.execute(sql, params).rowcount
        assert changed == 1, sql
    finally:
        conn.close()


def _select_raw(path: Path, sql: str, *params: Any) -> Any:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchone()[0]
    finally:
        conn.close()


# Nothing readable at rest ---------------------------------------------------------------


def test_plain_store_control_shows_the_search_finds_values(tmp_path: Path) -> None:
    """The same writes in a PlainStore are found by the byte search used below."""
    path = tmp_path / "plain.db"
    plain = PlainStore(path, DEVICE)
    token = secrets.token_urlsafe(32)
    try:
        _write_sensitive(plain, token)
        raw = _raw(path)
    finally:
        plain.close()
    sensitive = [STUDENT_NAME, CHINESE_NOTE, ENGLISH_NOTE, SYMPTOMS, DISPLAY_NAME, token]
    assert _leaks(raw, sensitive) == sensitive


def test_store_files_hold_no_sensitive_value_open_or_closed(path: Path) -> None:
    token = secrets.token_urlsafe(32)
    sensitive = [STUDENT_NAME, CHINESE_NOTE, ENGLISH_NOTE, SYMPTOMS, DISPLAY_NAME, token]
    store = EncryptedStore.create(path, DEVICE, PASSWORD, PROFILE)
    try:
        ids = _write_sensitive(store, token)
        # Update and delete too, so old versions of pages pass through the WAL.
        store.edit("follow_ups", ids["visit"], {"next_step": f"{STUDENT_NAME} 明天复查"})
        store.edit("students", ids["student"], {"student_no": "S-001"})
        assert store.get("students", ids["student"]) is not None
        wal = Path(f"{path}-wal")
        # Not checkpointed yet: the WAL holds the new pages (the plain record id shows it).
        assert wal.exists() and wal.stat().st_size > 0
        assert ids["visit"].encode() in wal.read_bytes()
        raw_open = _raw(path)
        assert ids["student"].encode() in raw_open
        assert _leaks(raw_open, sensitive) == []
        store.lock()
        assert _leaks(_raw(path), sensitive) == []
    finally:
        store.close()
    assert _sidecars(path) == [path]  # closed: checkpointed into the main file
    raw_closed = path.read_bytes()
    assert ids["case"].encode() in raw_closed
    assert _leaks(raw_closed, sensitive) == []
    # The password and PIN are never stored either, only what they wrap.
    assert _leaks(raw_closed, [PASSWORD]) == []


def test_pin_and_password_are_not_in_the_file(path: Path, store: EncryptedStore) -> None:
    store.set_pin(PIN)
    store.change_password(PASSWORD, NEW_PASSWORD)
    assert _leaks(_raw(path), [PASSWORD, NEW_PASSWORD, PIN]) == []


# Tamper evidence ------------------------------------------------------------------------


def test_any_flipped_byte_of_a_sealed_value_is_an_integrity_error() -> None:
    crypto = CryptographyBackend()
    key = crypto.new_key()
    sealed = crypto.seal(key, CHINESE_NOTE.encode(), b"view|follow_ups|r1")
    assert crypto.open(key, sealed, b"view|follow_ups|r1") == CHINESE_NOTE.encode()
    for position in range(len(sealed)):
        for bit in (0x01, 0x80):
            altered = bytearray(sealed)
            altered[position] ^= bit
            with pytest.raises(IntegrityError):
                crypto.open(key, bytes(altered), b"view|follow_ups|r1")
    with pytest.raises(IntegrityError):
        crypto.open(key, sealed[:-1], b"view|follow_ups|r1")
    with pytest.raises(IntegrityError):
        crypto.open(crypto.new_key(), sealed, b"view|follow_ups|r1")


def test_values_sealed_together_each_have_their_own_nonce_and_open_alone() -> None:
    crypto = CryptographyBackend()
    key = crypto.new_key()
    items = [
        (f"{CHINESE_NOTE} {i}".encode(), f"server|follow_ups|r{i}".encode()) for i in range(50)
    ]
    sealed = crypto.seal_many(key, items)
    assert len({value[1:13] for value in sealed}) == len(items)  # VERSION, then the nonce
    assert [crypto.open(key, value, ad) for value, (_, ad) in zip(sealed, items, strict=True)] == [
        plain for plain, _ in items
    ]
    with pytest.raises(IntegrityError):  # each sealed under its own record's name
        crypto.open(key, sealed[0], items[1][1])
    assert crypto.seal_many(key, []) == []


def _server_layers(store: EncryptedStore) -> list[Any]:
    """Open the server layer of every record (also of those never synced)."""
    return [store._server(row) for row in store._conn.execute("SELECT * FROM records")]


@pytest.mark.parametrize("position", [0, 1, 12, 13, 20, -1], ids=lambda p: f"byte{p}")
def test_flipped_byte_in_the_file_is_an_integrity_error(
    path: Path, store: EncryptedStore, position: int
) -> None:
    """Version byte, nonce, ciphertext and tag: each altered on disk fails to open."""
    record_id = str(uuid.uuid4())
    entry = store.edit("follow_ups", record_id, _follow_up())
    store.set_meta("token", "bearer-abc")
    cases: list[tuple[str, str, str, str, Any]] = [
        ("records", "fields", "record_id", record_id, lambda: store.get("follow_ups", record_id)),
        ("records", "server_fields", "record_id", record_id, lambda: _server_layers(store)),
        ("outbox", "fields", "change_id", entry.change_id, lambda: store.pending(10)),
        ("meta", "value", "key", "token", lambda: store.get_meta("token")),
    ]
    for table, column, key, value, read in cases:
        select = f"SELECT {column} FROM {table} WHERE {key} = ?"  # noqa: S608
        update = f"UPDATE {table} SET {column} = ? WHERE {key} = ?"  # noqa: S608
        original = _select_raw(path, select, value)
        assert isinstance(original, bytes)
        altered = bytearray(original)
        altered[position] ^= 0x40
        _update_raw(path, update, bytes(altered), value)
        with pytest.raises(IntegrityError):
            read()
        _update_raw(path, update, original, value)
        read()  # opens again once the byte is back
    record = store.get("follow_ups", record_id)
    assert record is not None and record.fields == _follow_up()
    assert store.pending(10)[0].fields == _follow_up()
    assert store.get_meta("token") == "bearer-abc"


def test_ciphertext_copied_onto_another_record_fails_to_open(
    path: Path, store: EncryptedStore
) -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    store.edit("follow_ups", first, _follow_up(1))
    store.edit("follow_ups", second, _follow_up(2))
    moved = "SELECT fields FROM records WHERE record_id = ?"
    _update_raw(
        path,
        "UPDATE records SET fields = ? WHERE record_id = ?",
        _select_raw(path, moved, first),
        second,
    )
    with pytest.raises(IntegrityError):
        store.get("follow_ups", second)
    with pytest.raises(IntegrityError):
        store.records("follow_ups")
    first_record = store.get("follow_ups", first)
    assert first_record is not None and first_record.fields == _follow_up(1)


def test_ciphertext_moved_across_tables_collections_and_keys_fails(
    path: Path, store: EncryptedStore
) -> None:
    record_id = str(uuid.uuid4())
    entries = [store.edit("follow_ups", record_id, _follow_up(n)) for n in (1, 2)]
    # The same record id in another collection.
    store.edit("referrals", record_id, {"student_id": str(uuid.uuid4()), "reason": "情绪低落"})
    store.set_meta("token", "bearer-abc")
    store.set_meta("display_name", DISPLAY_NAME)
    view = _select_raw(
        path,
        "SELECT fields FROM records WHERE collection = 'follow_ups' AND record_id = ?",
        record_id,
    )
    # The view of one collection onto the same id in another; the view onto the server layer.
    _update_raw(
        path,
        "UPDATE records SET fields = ? WHERE collection = 'referrals' AND record_id = ?",
        view,
        record_id,
    )
    with pytest.raises(IntegrityError):
        store.get("referrals", record_id)
    _update_raw(
        path,
        "UPDATE records SET server_fields = ? WHERE collection = 'follow_ups' AND record_id = ?",
        view,
        record_id,
    )
    with pytest.raises(IntegrityError):
        _server_layers(store)
    # One outbox entry's fields onto another entry of the same record.
    first_fields = _select_raw(
        path, "SELECT fields FROM outbox WHERE change_id = ?", entries[0].change_id
    )
    _update_raw(
        path,
        "UPDATE outbox SET fields = ? WHERE change_id = ?",
        first_fields,
        entries[1].change_id,
    )
    with pytest.raises(IntegrityError):
        store.pending(10)
    # One metadata value under another key.
    token = _select_raw(path, "SELECT value FROM meta WHERE key = 'token'")
    _update_raw(path, "UPDATE meta SET value = ? WHERE key = 'display_name'", token)
    with pytest.raises(IntegrityError):
        store.get_meta("display_name")
    assert store.get_meta("token") == "bearer-abc"


# Unlocking ---------------------------------------------------------------------------


def _reopen(path: Path, **options: Any) -> EncryptedStore:
    return EncryptedStore(path, DEVICE, **options)


def test_reopened_store_is_locked_until_unlocked_offline(path: Path) -> None:
    store = EncryptedStore.create(path, DEVICE, PASSWORD, PROFILE)
    record_id = str(uuid.uuid4())
    store.edit("follow_ups", record_id, _follow_up())
    store.set_meta("display_name", DISPLAY_NAME)
    store.close()

    store = _reopen(path)
    try:
        assert store.is_locked and store._key is None
        assert store.profile() == PROFILE  # readable while locked, for the user list
        for read in (
            lambda: store.get("follow_ups", record_id),
            lambda: store.records("follow_ups"),
            lambda: store.pending(10),
            lambda: store.get_meta("display_name"),
            lambda: store.edit("follow_ups", str(uuid.uuid4()), _follow_up()),
        ):
            with pytest.raises(StoreLocked):
                read()
        store.unlock(PASSWORD)  # no server involved
        assert not store.is_locked
        record = store.get("follow_ups", record_id)
        assert record is not None and record.fields == _follow_up()
        assert store.get_meta("display_name") == DISPLAY_NAME
        assert [e.record_id for e in store.pending(10)] == [record_id]
    finally:
        store.close()


def test_wrong_secret_is_refused_with_tries_left_and_success_resets(
    path: Path, store: EncryptedStore
) -> None:
    store.edit("follow_ups", str(uuid.uuid4()), _follow_up())
    store.lock()
    for attempt in range(1, 4):
        with pytest.raises(WrongSecret) as refused:
            store.unlock("not the password")
        assert refused.value.remaining == MAX_FAILED_UNLOCKS - attempt
        assert "wiped" in str(refused.value)
        assert store.is_locked
    assert store.failed_attempts() == 3
    store.unlock(PASSWORD)
    assert store.failed_attempts() == 0
    assert store.pending_count() == 1
    store.lock()
    with pytest.raises(WrongSecret) as refused:
        store.unlock(PASSWORD.upper())
    assert refused.value.remaining == MAX_FAILED_UNLOCKS - 1  # counted afresh


def _assert_wiped(path: Path, store: EncryptedStore, sensitive: list[str]) -> None:
    assert store.profile() is None
    assert store.is_locked
    raw = _raw(path)
    assert _leaks(raw, [PROFILE.username, PROFILE.user_id, *sensitive]) == []
    conn = sqlite3.connect(path)
    try:
        for table in ("records", "outbox", "meta", "keyring", "profile"):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0  # noqa: S608
    finally:
        conn.close()


def test_ten_wrong_secrets_in_a_row_wipe_the_store(path: Path, store: EncryptedStore) -> None:
    token = secrets.token_urlsafe(32)
    ids = _write_sensitive(store, token)
    store.lock()
    for attempt in range(1, MAX_FAILED_UNLOCKS):
        with pytest.raises(WrongSecret) as refused:
            store.unlock(f"guess {attempt}")
        assert refused.value.remaining == MAX_FAILED_UNLOCKS - attempt
    with pytest.raises(DataWiped):
        store.unlock("last guess")
    _assert_wiped(path, store, [STUDENT_NAME, CHINESE_NOTE, ENGLISH_NOTE, token, ids["visit"]])
    # The right password opens nothing any more.
    with pytest.raises(WrongSecret):
        store.unlock(PASSWORD)


def test_wrong_count_survives_restarts(path: Path) -> None:
    store = EncryptedStore.create(path, DEVICE, PASSWORD, PROFILE)
    token = secrets.token_urlsafe(32)
    _write_sensitive(store, token)
    store.close()
    for attempt in range(1, MAX_FAILED_UNLOCKS + 1):
        store = _reopen(path)  # the app was closed between guesses
        try:
            assert store.failed_attempts() == attempt - 1
            if attempt < MAX_FAILED_UNLOCKS:
                with pytest.raises(WrongSecret) as refused:
                    store.unlock("guess")
                assert refused.value.remaining == MAX_FAILED_UNLOCKS - attempt
            else:
                with pytest.raises(DataWiped):
                    store.unlock("guess")
                _assert_wiped(path, store, [STUDENT_NAME, CHINESE_NOTE, token])
        finally:
            store.close()
    store = _reopen(path)
    try:
        assert store.profile() is None
    finally:
        store.close()


def test_success_on_the_last_try_after_restarts_resets_the_count(path: Path) -> None:
    store = EncryptedStore.create(path, DEVICE, PASSWORD, PROFILE)
    record_id = str(uuid.uuid4())
    store.edit("follow_ups", record_id, _follow_up())
    store.close()
    for _ in range(MAX_FAILED_UNLOCKS - 1):
        store = _reopen(path)
        with pytest.raises(WrongSecret):
            store.unlock("guess")
        store.close()
    store = _reopen(path)
    try:
        assert store.failed_attempts() == MAX_FAILED_UNLOCKS - 1
        store.unlock(PASSWORD)  # the last try, and the right one
        assert store.failed_attempts() == 0
        record = store.get("follow_ups", record_id)
        assert record is not None and record.fields == _follow_up()
    finally:
        store.close()
    store = _reopen(path)
    try:
        assert store.failed_attempts() == 0
        with pytest.raises(WrongSecret) as refused:
            store.unlock("guess")
        assert refused.value.remaining == MAX_FAILED_UNLOCKS - 1
    finally:
        store.close()


@pytest.mark.parametrize(
    "pin", ["12345", "", "12345a", "abcdef", "12 3456", "１２３４５６", "٤٥٦٧٨٩", "1234567890123"]
)
def test_set_pin_refuses_what_is_not_6_to_12_digits(store: EncryptedStore, pin: str) -> None:
    with pytest.raises(InvalidPin):
        store.set_pin(pin)
    assert not store.has_pin()


def test_pin_unlocks_offline_and_wrong_pin_is_refused(path: Path, store: EncryptedStore) -> None:
    record_id = str(uuid.uuid4())
    store.edit("follow_ups", record_id, _follow_up())
    store.lock()
    with pytest.raises(StoreLocked):
        store.set_pin(PIN)  # only while unlocked
    store.unlock(PASSWORD)
    store.set_pin(PIN)
    assert store.has_pin()
    store.close()
    store = _reopen(path)
    try:
        with pytest.raises(WrongSecret) as refused:
            store.unlock("000000", kind="pin")
        assert refused.value.remaining == MAX_FAILED_UNLOCKS - 1
        with pytest.raises(WrongSecret):
            store.unlock(PIN)  # a PIN is not the password
        store.unlock(PIN, kind="pin")
        assert store.failed_attempts() == 0
        assert store.get("follow_ups", record_id) is not None
        store.remove_pin()
        store.lock()
        with pytest.raises(WrongSecret):
            store.unlock(PIN, kind="pin")
        store.unlock(PASSWORD)
    finally:
        store.close()


def test_password_change_rewraps_without_reencrypting(path: Path, store: EncryptedStore) -> None:
    ids = _write_sensitive(store, secrets.token_urlsafe(32))
    store.set_pin(PIN)
    before = _record_blobs(path)
    keyring_before = _select_raw(path, "SELECT wrapped FROM keyring WHERE kind = 'password'")
    with pytest.raises(WrongSecret):
        store.change_password("not the password", NEW_PASSWORD)
    store.change_password(PASSWORD, NEW_PASSWORD)
    assert _select_raw(path, "SELECT wrapped FROM keyring WHERE kind = 'password'") != (
        keyring_before
    )
    store.close()
    assert _record_blobs(path) == before  # the same ciphertexts: nothing was re-encrypted

    store = _reopen(path)
    try:
        with pytest.raises(WrongSecret):
            store.unlock(PASSWORD)
        store.unlock(NEW_PASSWORD)
        student = store.get("students", ids["student"])
        assert student is not None and student.fields["name"] == STUDENT_NAME
        visit = store.get("follow_ups", ids["visit"])
        assert visit is not None and visit.fields["condition"] == CHINESE_NOTE
        assert store.pending_count() == 3
        assert store.get_meta("display_name") == DISPLAY_NAME
        store.lock()
        store.unlock(PIN, kind="pin")  # the PIN wraps the same key: still good
        assert store.get("students", ids["student"]) is not None
    finally:
        store.close()


# Locking ------------------------------------------------------------------------------


def test_idle_store_locks_itself_and_drops_the_key(path: Path) -> None:
    clock = FakeClock()
    store = EncryptedStore.create(path, DEVICE, PASSWORD, PROFILE, idle_seconds=60, monotonic=clock)
    try:
        record_id = str(uuid.uuid4())
        store.edit("follow_ups", record_id, _follow_up())
        for _ in range(3):  # each input restarts the idle time
            clock.now += 59
            store.note_input()
            assert store.get("follow_ups", record_id) is not None
            assert not store.is_locked
        clock.now += 59
        assert store.get("follow_ups", record_id) is not None  # using it is not input
        clock.now += 2
        with pytest.raises(StoreLocked):
            store.get("follow_ups", record_id)
        assert store.is_locked
        assert store._key is None
        with pytest.raises(StoreLocked):
            store.edit("follow_ups", str(uuid.uuid4()), _follow_up())
        assert store.pending_count() == 1  # the refused edit queued nothing
        store.unlock(PASSWORD)
        assert store.get("follow_ups", record_id) is not None
        clock.now += 61
        assert store.is_locked and store._key is None
        with pytest.raises(StoreLocked):
            store.get_meta("token")
    finally:
        store.close()


def test_lock_drops_the_key_and_the_cipher(store: EncryptedStore) -> None:
    store.edit("follow_ups", str(uuid.uuid4()), _follow_up())
    assert store._key is not None
    store.lock()
    assert store._key is None
    assert isinstance(store._crypto, CryptographyBackend)
    assert store._crypto._ciphers == {}  # no key schedule left behind either
    assert store.is_locked
    with pytest.raises(StoreLocked):
        store.records("follow_ups")
    store.unlock(PASSWORD)
    assert len(store.records("follow_ups")) == 1
