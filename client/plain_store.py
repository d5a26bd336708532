"""The device store on plain SQLite: records, the outbox and sync metadata in one file.

Each record is kept in two layers: what the server last said (`server_*`) and the view the
user sees, which is the server layer with the device's pending changes merged over it by
the same rule the server uses. Pulling replaces the server layer and rebuilds the view,
which is how pending changes are rebased over what others did meanwhile.
"""

import json
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from client.store import LocalRecord, OutboxEntry, PushOutcome, RejectedChange
from shared.hlc import Clock
from shared.merge import merge
from shared.schemas.collections import COLLECTIONS, validate_field, validate_record

# Ordered, append-only: an app update adds a step; a store at step N runs the rest.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE records (
        collection TEXT NOT NULL,
        record_id TEXT NOT NULL,
        server_fields TEXT NOT NULL DEFAULT '{}',
        server_hlc TEXT NOT NULL DEFAULT '{}',
        server_deleted INTEGER NOT NULL DEFAULT 0,
        seq INTEGER,
        fields TEXT NOT NULL,
        field_hlc TEXT NOT NULL,
        deleted INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (collection, record_id)
    );
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        change_id TEXT NOT NULL UNIQUE,
        collection TEXT NOT NULL,
        record_id TEXT NOT NULL,
        hlc TEXT NOT NULL,
        base_seq INTEGER,
        fields TEXT NOT NULL,
        deleted INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX outbox_record ON outbox (collection, record_id);
    CREATE TABLE rejected (
        change_id TEXT PRIMARY KEY,
        collection TEXT NOT NULL,
        record_id TEXT NOT NULL,
        hlc TEXT NOT NULL,
        base_seq INTEGER,
        fields TEXT NOT NULL,
        deleted INTEGER NOT NULL DEFAULT 0,
        code TEXT NOT NULL,
        message TEXT NOT NULL,
        rejected_at TEXT NOT NULL
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
    """,
)

_CONFIRMED = ("applied", "duplicate", "conflict")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class PlainStore:
    """A device store on SQLite without encryption (tests, and the base of the real one)."""

    def __init__(self, path: str | Path, device_id: str) -> None:
        self.path = str(path)
        self.device_id = device_id
        self._conn = self._open()
        last = self.get_meta("clock")
        self._clock = Clock(device_id, last=last)

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        if self.path != ":memory:":
            conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives the app being killed; only power loss can cost the
        # last transactions.
        conn.execute("PRAGMA synchronous=NORMAL")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for step, script in enumerate(MIGRATIONS[version:], start=version + 1):
            conn.executescript(f"BEGIN IMMEDIATE;{script};PRAGMA user_version={step};COMMIT;")
        return conn

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # Local edits -------------------------------------------------------------------

    def edit(
        self,
        collection: str,
        record_id: str,
        fields: dict[str, Any],
        *,
        deleted: bool = False,
    ) -> OutboxEntry:
        """Apply a local edit and queue it for the server, in one transaction.

        Raises:
            UnknownField, InvalidValue: the edit breaks the collection's schema.
        """
        spec = COLLECTIONS[collection]
        cleaned = {key: validate_field(spec, key, value) for key, value in fields.items()}
        with self._tx() as conn:
            row = self._row(conn, collection, record_id)
            view = json.loads(row["fields"]) if row else {}
            view_hlc = json.loads(row["field_hlc"]) if row else {}
            stamp = self._clock.now()
            merged = merge(view, view_hlc, cleaned, stamp, spec.map_fields)
            if not deleted and (row is None or not view):
                # A new record must be whole, as the server will check.
                validate_record(spec, merged.fields)
            entry = OutboxEntry(
                change_id=str(uuid.uuid4()),
                collection=collection,
                record_id=record_id,
                hlc=stamp,
                base_seq=row["seq"] if row else None,
                fields=cleaned,
                deleted=deleted,
            )
            conn.execute(
                "INSERT INTO outbox (change_id, collection, record_id, hlc, base_seq, fields,"
                " deleted) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.change_id,
                    collection,
                    record_id,
                    stamp,
                    entry.base_seq,
                    _dumps(cleaned),
                    int(deleted),
                ),
            )
            conn.execute(
                "INSERT INTO records (collection, record_id, fields, field_hlc, deleted)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (collection, record_id) DO UPDATE SET"
                " fields = excluded.fields, field_hlc = excluded.field_hlc,"
                " deleted = records.deleted OR excluded.deleted",
                (
                    collection,
                    record_id,
                    _dumps(merged.fields),
                    _dumps(merged.field_hlc),
                    int(deleted),
                ),
            )
            self._save_clock(conn)
        return entry

    # Reading --------------------------------------------------------------------------

    def _row(self, conn: sqlite3.Connection, collection: str, record_id: str) -> Any:
        return conn.execute(
            "SELECT * FROM records WHERE collection = ? AND record_id = ?",
            (collection, record_id),
        ).fetchone()

    @staticmethod
    def _record(row: Any) -> LocalRecord:
        return LocalRecord(
            collection=row["collection"],
            record_id=row["record_id"],
            fields=json.loads(row["fields"]),
            field_hlc=json.loads(row["field_hlc"]),
            deleted=bool(row["deleted"]),
            seq=row["seq"],
        )

    def get(self, collection: str, record_id: str) -> LocalRecord | None:
        row = self._row(self._conn, collection, record_id)
        return self._record(row) if row else None

    def records(self, collection: str, *, include_deleted: bool = False) -> list[LocalRecord]:
        query = "SELECT * FROM records WHERE collection = ?"
        if not include_deleted:
            query += " AND deleted = 0"
        return [self._record(r) for r in self._conn.execute(query, (collection,))]

    def server_records(self) -> list[LocalRecord]:
        """The server layer of every record (what the server last said), for checks."""
        return [
            LocalRecord(
                r["collection"],
                r["record_id"],
                json.loads(r["server_fields"]),
                json.loads(r["server_hlc"]),
                bool(r["server_deleted"]),
                r["seq"],
            )
            for r in self._conn.execute("SELECT * FROM records WHERE seq IS NOT NULL")
        ]

    # The outbox ------------------------------------------------------------------------

    @staticmethod
    def _entry(row: Any) -> OutboxEntry:
        return OutboxEntry(
            change_id=row["change_id"],
            collection=row["collection"],
            record_id=row["record_id"],
            hlc=row["hlc"],
            base_seq=row["base_seq"],
            fields=json.loads(row["fields"]),
            deleted=bool(row["deleted"]),
        )

    def pending(self, limit: int) -> list[OutboxEntry]:
        rows = self._conn.execute("SELECT * FROM outbox ORDER BY id LIMIT ?", (limit,))
        return [self._entry(r) for r in rows]

    def pending_count(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def record_push_outcomes(self, outcomes: Sequence[PushOutcome]) -> None:
        now = datetime.now(UTC).isoformat()
        with self._tx() as conn:
            touched: set[tuple[str, str]] = set()
            for outcome in outcomes:
                row = conn.execute(
                    "SELECT * FROM outbox WHERE change_id = ?", (outcome.change_id,)
                ).fetchone()
                if row is None:
                    continue  # already recorded (a re-sent batch)
                entry = self._entry(row)
                conn.execute("DELETE FROM outbox WHERE change_id = ?", (entry.change_id,))
                touched.add((entry.collection, entry.record_id))
                if outcome.status in _CONFIRMED:
                    self._fold_into_server_layer(conn, entry)
                else:
                    conn.execute(
                        "INSERT OR REPLACE INTO rejected (change_id, collection, record_id, hlc,"
                        " base_seq, fields, deleted, code, message, rejected_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            entry.change_id,
                            entry.collection,
                            entry.record_id,
                            entry.hlc,
                            entry.base_seq,
                            _dumps(entry.fields),
                            int(entry.deleted),
                            outcome.code or "rejected",
                            outcome.message or "",
                            now,
                        ),
                    )
            for collection, record_id in touched:
                self._rebuild_view(conn, collection, record_id)

    def _fold_into_server_layer(self, conn: sqlite3.Connection, entry: OutboxEntry) -> None:
        # The server took it: until the next pull brings the server's own version, the
        # change counts as server state (the pull will replace this layer whole).
        row = self._row(conn, entry.collection, entry.record_id)
        if row is None:
            return
        spec = COLLECTIONS[entry.collection]
        merged = merge(
            json.loads(row["server_fields"]),
            json.loads(row["server_hlc"]),
            entry.fields,
            entry.hlc,
            spec.map_fields,
        )
        conn.execute(
            "UPDATE records SET server_fields = ?, server_hlc = ?,"
            " server_deleted = server_deleted OR ? WHERE collection = ? AND record_id = ?",
            (
                _dumps(merged.fields),
                _dumps(merged.field_hlc),
                int(entry.deleted),
                entry.collection,
                entry.record_id,
            ),
        )

    def _rebuild_view(self, conn: sqlite3.Connection, collection: str, record_id: str) -> None:
        row = self._row(conn, collection, record_id)
        if row is None:
            return
        fields = json.loads(row["server_fields"])
        field_hlc = json.loads(row["server_hlc"])
        deleted = bool(row["server_deleted"])
        map_fields = COLLECTIONS[collection].map_fields
        pending = conn.execute(
            "SELECT * FROM outbox WHERE collection = ? AND record_id = ? ORDER BY id",
            (collection, record_id),
        )
        for entry in map(self._entry, pending):
            outcome = merge(fields, field_hlc, entry.fields, entry.hlc, map_fields)
            fields, field_hlc = outcome.fields, outcome.field_hlc
            deleted = deleted or entry.deleted
        if row["seq"] is None and not fields and not deleted:
            # Never reached the server and nothing of it is pending: it was only ours.
            conn.execute(
                "DELETE FROM records WHERE collection = ? AND record_id = ?",
                (collection, record_id),
            )
            return
        conn.execute(
            "UPDATE records SET fields = ?, field_hlc = ?, deleted = ?"
            " WHERE collection = ? AND record_id = ?",
            (_dumps(fields), _dumps(field_hlc), int(deleted), collection, record_id),
        )

    # Pulling ------------------------------------------------------------------------

    def apply_pull_page(
        self,
        changes: Iterable[dict[str, Any]],
        removed: Iterable[dict[str, Any]],
        cursor: str | None,
    ) -> None:
        with self._tx() as conn:
            pending_keys = {
                (r[0], r[1])
                for r in conn.execute("SELECT DISTINCT collection, record_id FROM outbox")
            }
            for change in changes:
                key = (change["collection"], str(change["record_id"]))
                fields = _dumps(change["fields"])
                field_hlc = _dumps(change["field_hlc"])
                for stamp in change["field_hlc"].values():
                    self._clock.observe(stamp)
                conn.execute(
                    "INSERT INTO records (collection, record_id, server_fields, server_hlc,"
                    " server_deleted, seq, fields, field_hlc, deleted)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (collection, record_id) DO UPDATE SET"
                    " server_fields = excluded.server_fields, server_hlc = excluded.server_hlc,"
                    " server_deleted = excluded.server_deleted, seq = excluded.seq,"
                    " fields = excluded.fields, field_hlc = excluded.field_hlc,"
                    " deleted = excluded.deleted",
                    (
                        *key,
                        fields,
                        field_hlc,
                        int(change["deleted"]),
                        change["seq"],
                        fields,
                        field_hlc,
                        int(change["deleted"]),
                    ),
                )
                if key in pending_keys:
                    self._rebuild_view(conn, *key)
            for gone in removed:
                conn.execute(
                    "DELETE FROM records WHERE collection = ? AND record_id = ?",
                    (gone["collection"], str(gone["record_id"])),
                )
            self._set_meta(conn, "cursor", cursor)
            self._save_clock(conn)

    def cursor(self) -> str | None:
        return self.get_meta("cursor")

    def reset_cursor(self) -> None:
        self.set_meta("cursor", None)

    # Rejected changes ---------------------------------------------------------------

    def rejected(self) -> list[RejectedChange]:
        rows = self._conn.execute("SELECT * FROM rejected ORDER BY rejected_at, change_id")
        return [
            RejectedChange(self._entry(r), r["code"], r["message"], r["rejected_at"]) for r in rows
        ]

    def discard_rejected(self, change_id: str) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM rejected WHERE change_id = ?", (change_id,))

    # Metadata -------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str | None) -> None:
        with self._tx() as conn:
            self._set_meta(conn, key, value)

    @staticmethod
    def _set_meta(conn: sqlite3.Connection, key: str, value: str | None) -> None:
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def _save_clock(self, conn: sqlite3.Connection) -> None:
        self._set_meta(conn, "clock", self._clock.now())

    def wipe(self) -> None:
        self._conn.close()
        if self.path != ":memory:":
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(self.path + suffix).unlink(missing_ok=True)
        self._conn = self._open()
        self._clock = Clock(self.device_id)
