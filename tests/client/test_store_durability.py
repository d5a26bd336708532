"""Which commits wait for the disk: a local edit always (it exists nowhere else); a pulled
page and the outcomes of a push do not (the server has them), and the setting is back
for the next edit, whatever happened."""

from pathlib import Path
from typing import Any

import pytest

from client.plain_store import PlainStore
from client.store import PushOutcome

FULL, NORMAL = 2, 1
TEMPLATE = {"name": "晨检", "items": {"a": {"zh": "擦桌面"}}}
RECORD = "00000000-0000-4000-8000-000000000001"


def _synchronous(store: PlainStore) -> int:
    return int(store._conn.execute("PRAGMA synchronous").fetchone()[0])


def _watch(store: PlainStore) -> list[int]:
    """The setting in force at each COMMIT the store sends."""
    seen: list[int] = []
    conn = store._conn

    class Spy:
        def __getattr__(self, name: str) -> Any:
            return getattr(conn, name)

        def execute(self, sql: str, *args: Any) -> Any:
            if sql == "COMMIT":
                seen.append(_synchronous(store))
            return conn.execute(sql, *args)

    store._conn = Spy()  # type: ignore[assignment]
    return seen


def test_edits_wait_for_the_disk_pulls_and_outcomes_do_not(tmp_path: Path) -> None:
    store = PlainStore(tmp_path / "s.db", "phone-1")
    seen = _watch(store)
    entry = store.edit("checklist_templates", RECORD, TEMPLATE)
    store.record_push_outcomes([PushOutcome(entry.change_id, "applied", seq=1)])
    page = {
        "collection": "checklist_templates",
        "record_id": RECORD,
        "seq": 1,
        "fields": TEMPLATE,
        "field_hlc": {"name": entry.hlc, "items.a": entry.hlc},
        "deleted": False,
    }
    store.apply_pull_page([page], [], "cursor-1")
    store.edit("checklist_templates", RECORD, {"name": "午检"})
    assert seen == [FULL, NORMAL, NORMAL, FULL]
    assert _synchronous(store) == FULL


def test_the_setting_comes_back_after_a_failed_page(tmp_path: Path) -> None:
    store = PlainStore(tmp_path / "s.db", "phone-1")
    with pytest.raises(KeyError):
        store.apply_pull_page([{"collection": "checklist_templates"}], [], "cursor-1")
    assert _synchronous(store) == FULL
    assert store.cursor() is None


def test_without_a_log_every_commit_waits(tmp_path: Path) -> None:
    store = PlainStore(tmp_path / "s.db", "phone-1", journal_mode="MEMORY")
    seen = _watch(store)
    store.apply_pull_page([], [], "cursor-1")
    assert seen == [FULL]
