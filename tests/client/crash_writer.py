"""A stream of edits to an encrypted store, until the test kills it (see test_store_crash.py).

Usage: python crash_writer.py PATH PASSWORD START LIMIT

Creates the store at PATH if there is none, else unlocks it; then makes edits START,
START+1, ... (at most LIMIT of them), one `store.edit` each, and reports every one on
stdout, flushed:

    begin <i> <new|update> <record_id> <fields as JSON>    before the edit
    done <i> <record_id> <change_id>                       after `store.edit` returned

so every `done` line stands for a committed transaction, and at most one `begin` per run
lacks its `done` (the edit the kill interrupted).
"""

import json
import sys
import uuid
from pathlib import Path
from typing import Any

from client.encrypted_store import EncryptedStore, Profile

DEVICE_ID = "crash-phone"
PROFILE = Profile("8d0b5c8e-2c3a-4c0e-9d43-1a8f1f3f0c11", "crash", "class_teacher", "http://x")
CASE_ID = "5b6f7e0a-0d1e-4a57-9c55-3f1f0b7c2a90"


def fields_for(index: int) -> dict[str, Any]:
    """A whole new follow-up; some are long enough to spill over several pages."""
    return {
        "case_id": CASE_ID,
        "visit_date": "2026-11-29",
        "method": "phone",
        "temperature_c": 36.0 + (index % 30) / 10,
        "condition": f"家长说精神好些了 #{index}",
        "note": " ".join([f"English note {index}", "张小明" * (index % 7) * 150]).strip(),
    }


def update_for(index: int) -> dict[str, Any]:
    return {"note": f"第{index}次更新 update {index}", "next_step": f"call back {index}"}


def report(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv: list[str]) -> None:
    path, password, start, limit = argv[0], argv[1], int(argv[2]), int(argv[3])
    if Path(path).exists():
        store = EncryptedStore(path, DEVICE_ID)
        store.unlock(password)
    else:
        store = EncryptedStore.create(path, DEVICE_ID, password, PROFILE)
    created: list[str] = []  # records created by this run (only those get updates)
    for index in range(start, start + limit):
        if index % 3 == 2 and created:
            kind, record_id, fields = "update", created[-1], update_for(index)
        else:
            kind, record_id, fields = "new", str(uuid.uuid4()), fields_for(index)
        report(f"begin {index} {kind} {record_id} {json.dumps(fields, ensure_ascii=False)}")
        entry = store.edit("follow_ups", record_id, fields)
        report(f"done {index} {record_id} {entry.change_id}")
        if kind == "new":
            created.append(record_id)
    store.close()


if __name__ == "__main__":
    main(sys.argv[1:])
