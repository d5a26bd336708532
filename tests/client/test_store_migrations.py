"""Local schema migrations: an app update changes the store without losing unsynced work."""

import gc
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from client.encrypted_store import EncryptedStore, Profile
from client.plain_store import MIGRATIONS, PAGE_SIZE, PlainStore
from client.store import LocalRecord, OutboxEntry
from client.sync_engine import SyncEngine
from tests.factories import login
from tests.sync_support import AppTransport, School, device, small_school

PASSWORD = "migrate-me-please"
NEW_STEP = """
    ALTER TABLE records ADD COLUMN due_on TEXT;
    CREATE INDEX records_due_on ON records (due_on) WHERE due_on IS NOT NULL;
"""
TEMPLATE = {"name": "晨检", "items": {"a": {"zh": "擦桌面"}}}
BAD_STEP = """
    CREATE TABLE half_done (x INTEGER);
    ALTER TABLE outbox ADD COLUMN tried INTEGER;
    THIS IS NOT SQL;
"""


class OldPlainStore(PlainStore):
    """The store as an older app version had it: the first migration only."""

    migrations = MIGRATIONS[:1]


class BrokenPlainStore(PlainStore):
    migrations = (*MIGRATIONS, BAD_STEP)


class UpdatedEncryptedStore(EncryptedStore):
    """The next app version: one more step on top of today's."""

    migrations = (*MIGRATIONS, NEW_STEP)


class BrokenEncryptedStore(EncryptedStore):
    migrations = (*MIGRATIONS, BAD_STEP)


def _sql(path: Path, query: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(query).fetchall()
    finally:
        conn.close()


def _version(path: Path) -> int:
    return int(_sql(path, "PRAGMA user_version")[0][0])


def _tables(path: Path) -> set[str]:
    return {r[0] for r in _sql(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}


def _columns(path: Path, table: str) -> set[str]:
    return {r[1] for r in _sql(path, f"PRAGMA table_info({table})")}


def _blobs(path: Path) -> list[tuple[Any, ...]]:
    return _sql(path, "SELECT collection, record_id, fields FROM records ORDER BY 1, 2") + _sql(
        path, "SELECT change_id, fields FROM outbox ORDER BY id"
    )


def _offline_work(store: PlainStore, class_id: str, student_id: str) -> list[str]:
    """A teacher's offline work: a new sick case, a visit to it, an edit to the case."""
    case_id, visit_id = str(uuid.uuid4()), str(uuid.uuid4())
    store.edit(
        "sick_cases",
        case_id,
        {
            "student_id": student_id,
            "class_id": class_id,
            "onset_date": "2026-11-28",
            "symptoms": "发烧，咳嗽",
        },
    )
    store.edit(
        "follow_ups",
        visit_id,
        {
            "case_id": case_id,
            "visit_date": "2026-11-29",
            "method": "phone",
            "note": "家长说精神好些了",
        },
    )
    store.edit("sick_cases", case_id, {"medical_care": "去过校医室"})
    return [case_id, visit_id]


def _first_student(school: School) -> tuple[str, str]:
    class_id = school.class_ids[0]
    return class_id, school.student_ids[class_id][0]


def _snapshot(store: PlainStore, ids: list[str]) -> tuple[list[OutboxEntry], list[LocalRecord]]:
    records = [
        record
        for collection in ("students", "sick_cases", "follow_ups")
        for record in store.records(collection, include_deleted=True)
    ]
    assert {r.record_id for r in records} >= set(ids)
    return store.pending(100), sorted(records, key=lambda r: (r.collection, r.record_id))


def _assert_server_has(client: TestClient, school: School, ids: list[str]) -> None:
    """Another phone of the same teacher pulls the changes: the server applied them."""
    other = device(client, school.teachers[0])
    other.engine.sync()
    case = other.store.get("sick_cases", ids[0])
    visit = other.store.get("follow_ups", ids[1])
    assert case is not None and case.seq is not None
    assert case.fields["symptoms"] == "发烧，咳嗽" and case.fields["medical_care"] == "去过校医室"
    assert visit is not None and visit.fields["note"] == "家长说精神好些了"


def test_plain_store_from_an_older_version_keeps_unsynced_changes(
    client: TestClient, app: FastAPI, tmp_path: Path
) -> None:
    school = small_school(app)
    path = tmp_path / "old.db"
    device_id = "migrating-phone"
    token = login(client, "teacher1", device_id=device_id)["token"]
    old = OldPlainStore(path, device_id)
    try:
        SyncEngine(old, AppTransport(client), token).sync()  # students and cursor
        ids = _offline_work(old, *_first_student(school))
        before = _snapshot(old, ids)
        cursor = old.cursor()
    finally:
        old.close()
    assert _version(path) == 1 and "keyring" not in _tables(path)

    store = PlainStore(path, device_id)  # the app was updated
    try:
        assert _version(path) == len(MIGRATIONS) == 2
        assert {"profile", "keyring", "lock_state"} <= _tables(path)
        assert _snapshot(store, ids) == before
        assert store.pending_count() == 3 and store.cursor() == cursor is not None
        report = SyncEngine(store, AppTransport(client), token).sync()
        assert report.pushed == 3 and report.rejected == 0
        assert store.pending_count() == 0
    finally:
        store.close()
    _assert_server_has(client, school, ids)


def test_encrypted_store_update_keeps_unsynced_changes(
    client: TestClient, app: FastAPI, tmp_path: Path
) -> None:
    school = small_school(app)
    path = tmp_path / "phone.db"
    device_id = "updating-phone"
    body = login(client, "teacher1", device_id=device_id)
    user = body["user"]
    profile = Profile(user["id"], user["username"], user["role"], "http://testserver")
    store = EncryptedStore.create(path, device_id, PASSWORD, profile)
    try:
        store.set_meta("token", body["token"])
        SyncEngine(store, AppTransport(client), body["token"]).sync()
        ids = _offline_work(store, *_first_student(school))
        before = _snapshot(store, ids)
    finally:
        store.close()
    blobs = _blobs(path)
    assert _version(path) == 2

    updated = UpdatedEncryptedStore(path, device_id)
    try:
        # Applied at open, while still locked: the schema needs no key.
        assert updated.is_locked
        assert _version(path) == 3
        assert "due_on" in _columns(path, "records")
        indexes = _sql(path, "SELECT name FROM sqlite_master WHERE type = 'index'")
        assert ("records_due_on",) in indexes
        assert _blobs(path) == blobs  # the sealed data was left as it was
        updated.unlock(PASSWORD)
        assert _snapshot(updated, ids) == before
        assert updated.profile() == profile
        token = updated.get_meta("token")
        assert token is not None and token == body["token"]
        report = SyncEngine(updated, AppTransport(client), token).sync()
        assert report.pushed == 3 and report.rejected == 0
        assert updated.pending_count() == 0
    finally:
        updated.close()
    _assert_server_has(client, school, ids)

    again = UpdatedEncryptedStore(path, device_id)  # the next start runs nothing twice
    try:
        assert _version(path) == 3
        again.unlock(PASSWORD)
        assert again.get("follow_ups", ids[1]) is not None
    finally:
        again.close()


def _encrypted_with_work(path: Path) -> tuple[list[OutboxEntry], list[LocalRecord]]:
    profile = Profile(str(uuid.uuid4()), "teacher9", "class_teacher", "http://x")
    store = EncryptedStore.create(path, "phone-9", PASSWORD, profile)
    try:
        ids = _offline_work(store, str(uuid.uuid4()), str(uuid.uuid4()))
        return _snapshot(store, ids)
    finally:
        store.close()


def _collect_failed_opener() -> None:
    """Free the connection the failed open left behind, with its write lock.

    That it lingers until the garbage collector runs is a bug of its own, shown by
    test_failed_step_does_not_leave_the_file_locked; collected here so that these tests
    check what is on disk.
    """
    gc.collect()


def test_failed_step_leaves_the_encrypted_store_at_its_version(tmp_path: Path) -> None:
    path = tmp_path / "phone.db"
    before = _encrypted_with_work(path)
    blobs = _blobs(path)
    with pytest.raises(sqlite3.OperationalError):
        BrokenEncryptedStore(path, "phone-9")
    _collect_failed_opener()
    assert _version(path) == 2
    assert "half_done" not in _tables(path)
    assert "tried" not in _columns(path, "outbox")
    assert _blobs(path) == blobs
    store = EncryptedStore(path, "phone-9")  # the app as it was still opens it
    try:
        store.unlock(PASSWORD)
        assert _snapshot(store, []) == before
        assert store.pending_count() == 3
    finally:
        store.close()


def test_failed_step_keeps_the_steps_before_it(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = OldPlainStore(path, "phone-8")
    try:
        ids = _offline_work(old, str(uuid.uuid4()), str(uuid.uuid4()))
        before = _snapshot(old, ids)
    finally:
        old.close()
    with pytest.raises(sqlite3.OperationalError):
        BrokenPlainStore(path, "phone-8")
    _collect_failed_opener()
    # Step 2 committed on its own; the broken step 3 left nothing behind.
    assert _version(path) == 2
    assert "keyring" in _tables(path) and "half_done" not in _tables(path)
    store = PlainStore(path, "phone-8")
    try:
        assert _snapshot(store, ids) == before
        store.edit("sick_cases", ids[0], {"status": "closed"})  # and it still takes edits
        assert store.pending_count() == 4
    finally:
        store.close()


def test_failed_step_does_not_leave_the_file_locked(tmp_path: Path) -> None:
    """A store that refuses to open must not keep its file write-locked.

    PlainStore._open runs each step in BEGIN IMMEDIATE ... COMMIT; when a step fails, the
    transaction has to be rolled back and the connection closed before the error goes up.
    Otherwise the file stays write-locked until the garbage collector happens to free that
    connection, and the app as it was (or a retry) cannot write: its unlock waits 5 s and
    fails with "database is locked".
    """
    path = tmp_path / "phone.db"
    _encrypted_with_work(path)
    with pytest.raises(sqlite3.OperationalError, match="syntax error"):
        BrokenEncryptedStore(path, "phone-9")  # the error is not kept
    probe = sqlite3.connect(path, timeout=0.2, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")  # fails today: database is locked
        probe.execute("ROLLBACK")
    finally:
        probe.close()


def test_a_new_store_has_large_pages_and_an_old_one_keeps_its_own(tmp_path: Path) -> None:
    new = PlainStore(tmp_path / "new.db", "phone-1")
    new.edit("checklist_templates", str(uuid.uuid4()), TEMPLATE)
    new.close()
    assert _sql(tmp_path / "new.db", "PRAGMA page_size") == [(PAGE_SIZE,)]
    old = sqlite3.connect(tmp_path / "old.db")  # a store from before, in 4 KiB pages
    old.execute("PRAGMA page_size=4096")
    old.execute("PRAGMA journal_mode=WAL")
    old.executescript(f"BEGIN;{MIGRATIONS[0]};PRAGMA user_version=1;COMMIT;")
    old.close()
    store = PlainStore(tmp_path / "old.db", "phone-1")  # migrated to today's steps
    record_id = str(uuid.uuid4())
    store.edit("checklist_templates", record_id, TEMPLATE)
    assert store.get("checklist_templates", record_id) is not None
    store.close()
    assert _sql(tmp_path / "old.db", "PRAGMA page_size") == [(4096,)]
