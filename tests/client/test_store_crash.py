"""The encrypted store survives the app being killed mid-write, again and again.

A child process (crash_writer.py) makes a stream of edits and reports each one after its
commit returned; the test SIGKILLs it at a random point, resumes it, kills it again, and
then checks the store: every reported edit is there with its outbox entry, the one edit
the kill interrupted is all there or not at all, and SQLite finds the file sound.
"""

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from client.encrypted_store import EncryptedStore
from tests.client.crash_writer import DEVICE_ID, PROFILE

ROOT = Path(__file__).resolve().parents[2]
WRITER = Path(__file__).with_name("crash_writer.py")
PASSWORD = "kill-me-softly-42"
RUNS = 4
LIMIT = 200_000  # never reached: every run is killed long before


@dataclass
class Edit:
    index: int
    kind: str  # new | update
    record_id: str
    fields: dict[str, Any]
    change_id: str | None = None  # set once the writer reported the commit


@dataclass
class Ledger:
    """What the writers reported, across all runs."""

    committed: list[Edit] = field(default_factory=list)
    interrupted: list[Edit] = field(default_factory=list)  # begun, commit never reported
    next_index: int = 0

    def read_run(self, output: str) -> int:
        """Take one run's stdout; returns how many commits it reported."""
        current: Edit | None = None
        reported = 0
        # A line cut short by the kill has no newline: it was never fully reported.
        for line in output.splitlines(keepends=True):
            if not line.endswith("\n"):
                break
            word, rest = line.rstrip("\n").split(" ", 1)
            if word == "begin":
                index, kind, record_id, fields = rest.split(" ", 3)
                assert current is None, f"two edits begun at once: {line!r}"
                current = Edit(int(index), kind, record_id, json.loads(fields))
                self.next_index = current.index + 1
            else:
                index, record_id, change_id = rest.split(" ")
                assert current is not None and current.index == int(index), line
                assert current.record_id == record_id, line
                current.change_id = change_id
                self.committed.append(current)
                current = None
                reported += 1
        if current is not None:
            self.interrupted.append(current)
        return reported


def _run_and_kill(path: Path, ledger: Ledger, rng: random.Random) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, str(WRITER), str(path), PASSWORD, str(ledger.next_index)]
    with subprocess.Popen(
        [*command, str(LIMIT)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        out, err = proc.stdout, proc.stderr
        assert out is not None and err is not None
        head: list[bytes] = []
        # Wait for the first reported commit, so the kill lands in the stream of edits
        # (not in start-up), then kill after a number of lines or after a short while.
        lines_before_kill = rng.randint(10, 600) if rng.random() < 0.5 else None
        timer: threading.Timer | None = None
        while lines_before_kill is None or len(head) < lines_before_kill:
            line = out.readline()
            assert line, f"the writer stopped early: {err.read()!r}"
            head.append(line)
            if lines_before_kill is None and line.startswith(b"done"):
                delay = rng.uniform(0.02, 0.4)
                timer = threading.Timer(delay, proc.send_signal, [signal.SIGKILL])
                timer.start()
                break
        else:
            proc.send_signal(signal.SIGKILL)
        rest = out.read()  # up to where it died
        errors = err.read()
        proc.wait(timeout=60)
        if timer is not None:
            timer.join()
    assert proc.returncode == -signal.SIGKILL, f"not killed mid-stream: {errors!r}"
    # The kill may cut a line, even a character, short: that line was never reported.
    reported = ledger.read_run(b"".join([*head, rest]).decode(errors="replace"))
    assert reported > 0


def _expected_records(ledger: Ledger, landed: set[int]) -> dict[str, dict[str, Any]]:
    """Each record's fields after the reported edits and those interrupted ones that landed."""
    edits = sorted(
        [*ledger.committed, *(e for e in ledger.interrupted if e.index in landed)],
        key=lambda e: e.index,
    )
    records: dict[str, dict[str, Any]] = {}
    for edit in edits:
        if edit.kind == "new":
            records[edit.record_id] = dict(edit.fields)
        else:
            records[edit.record_id].update(edit.fields)
    return records


def test_killed_writer_loses_no_committed_edit_and_tears_nothing(tmp_path: Path) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    path = tmp_path / "store.db"
    ledger = Ledger()
    for _ in range(RUNS):
        _run_and_kill(path, ledger, rng)

    interrupted = [e.index for e in ledger.interrupted]
    context = f"seed={seed}, committed={len(ledger.committed)}, interrupted={interrupted}"
    store = EncryptedStore(path, DEVICE_ID)
    try:
        assert store.profile() == PROFILE
        store.unlock(PASSWORD)
        # Every outbox entry opens (none is torn), and every reported commit has its own.
        outbox = {e.change_id: e for e in store.pending(10 * LIMIT)}
        for edit in ledger.committed:
            assert edit.change_id is not None
            entry = outbox.pop(edit.change_id, None)
            assert entry is not None, f"reported edit {edit.index} lost its outbox entry; {context}"
            assert entry.record_id == edit.record_id and _same(entry.fields, edit.fields), context
        # What is left came from an interrupted edit that committed before the kill.
        landed: set[int] = set()
        for entry in outbox.values():
            match = [
                e
                for e in ledger.interrupted
                if e.record_id == entry.record_id and _same(entry.fields, e.fields)
            ]
            assert len(match) == 1, f"unexplained outbox entry {entry}; {context}"
            landed.add(match[0].index)
        assert len(landed) == len(outbox)

        # Every record's view decrypts and equals the edits that committed, no more, no less.
        expected = _expected_records(ledger, landed)
        stored = {r.record_id: r for r in store.records("follow_ups", include_deleted=True)}
        assert stored.keys() == expected.keys(), context
        for record_id, fields in expected.items():
            assert _same(stored[record_id].fields, fields), f"{record_id}: {context}"
            assert not stored[record_id].deleted
        # The server layer of every row opens too (it is written by every edit).
        rows = store._conn.execute("SELECT * FROM records").fetchall()
        assert len(rows) == len(expected)
        assert all(store._server(row) == {} for row in rows)
        creates = sum(e.kind == "new" for e in ledger.committed)
        assert creates <= len(rows) <= creates + RUNS
        assert len(ledger.committed) <= store.pending_count() <= len(ledger.committed) + RUNS
        # The store still takes edits after all that.
        after = store.edit("follow_ups", ledger.committed[0].record_id, {"note": "after"})
        assert store.pending(10 * LIMIT)[-1].change_id == after.change_id
    finally:
        store.close()

    check = sqlite3.connect(path)
    try:
        assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        check.close()


def _same(stored: dict[str, Any], written: dict[str, Any]) -> bool:
    """What was written is there; a new record also holds its schema defaults."""
    return all(stored.get(key) == value for key, value in written.items())
