"""The device store on SQLite: records, the outbox and sync metadata in one file.

Each record is kept in two layers: what the server last said (`server_*`) and the view the
user sees, which is the server layer with the device's pending changes merged over it by
the same rule the server uses. Pulling replaces the server layer and rebuilds the view,
which is how pending changes are rebased over what others did meanwhile.

What people typed (record values, pending changes, metadata) goes through `_seal` and
`_unseal`: plain JSON here, AES-GCM in `EncryptedStore`. Ids, collection names and clocks
stay readable, since the store needs them to work while nothing is decrypted.
"""

import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from client import codec, pull_page
from client.store import EncodedEntry, LocalRecord, OutboxEntry, PushOutcome, RejectedChange
from shared.hlc import Clock
from shared.merge import merge
from shared.schemas.collections import COLLECTIONS, validate_field, validate_record

# Ordered and append-only: an app update adds a step; a store at step N runs the rest, in
# one transaction each, so a failed step leaves the store as it was.
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
    """
    -- Who the store belongs to, readable while locked (a shared phone lists its users).
    CREATE TABLE profile (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        user_id TEXT NOT NULL,
        username TEXT NOT NULL,
        role TEXT NOT NULL,
        server_url TEXT NOT NULL
    );
    -- The data key, wrapped once per secret (password, PIN); and wrong guesses in a row.
    CREATE TABLE keyring (
        kind TEXT PRIMARY KEY,
        salt BLOB NOT NULL,
        n INTEGER NOT NULL,
        r INTEGER NOT NULL,
        p INTEGER NOT NULL,
        wrapped BLOB NOT NULL
    );
    CREATE TABLE lock_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        failed_attempts INTEGER NOT NULL DEFAULT 0
    );
    INSERT INTO lock_state (id, failed_attempts) VALUES (1, 0);
    """,
)

_CONFIRMED = ("applied", "duplicate", "conflict")

# SQLite's page size for a new store. A record is 2-3 KB (sealed values and their stamps):
# with 4 KiB pages an initial pull spent over twice as long in SQLite, mostly in the
# kernel (a page held one record, each written to the log and then the file on its own,
# and checkpoints four times as often); an edit costs the same (one flush either way).
# A store made with another size keeps it (only a VACUUM outside WAL mode could change it).
PAGE_SIZE = 16384

# What the view columns (`fields`, `field_hlc`) hold while nothing is pending for the
# record: the view is then the server layer itself, read from there, not stored twice.
SAME_AS_SERVER = ""


def _json(value: Any) -> str:
    return codec.dumps(value).decode()


# Keys per `IN (...)`: well under SQLite's bound on parameters, even old builds' 999.
_CHUNK = 500


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _marks(items: Sequence[str]) -> str:
    return ", ".join("?" * len(items))


def _of(
    conn: sqlite3.Connection, table: str, keys: Iterable[tuple[str, str]], order: str = ""
) -> Iterator[Any]:
    """The rows of `table` (records, outbox) for these (collection, record_id) keys, a
    collection and a chunk of ids per query; `order` applies within each query."""
    for collection, ids in _by_collection(keys).items():
        for chunk in _chunks(ids):
            query = (
                f"SELECT * FROM {table} WHERE collection = ?"  # noqa: S608 - our table names
                f" AND record_id IN ({_marks(chunk)}){order}"
            )
            yield from conn.execute(query, (collection, *chunk))


def _by_collection(keys: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for collection, record_id in keys:
        grouped.setdefault(collection, []).append(record_id)
    return grouped


def _pulled_rows(changes: Iterable[dict[str, Any]]) -> tuple[list[pull_page.Row], str]:
    """What the store keeps of each pulled change, and the newest stamp among them."""
    if isinstance(changes, pull_page.PulledChanges):
        return changes.rows(), changes.latest  # read from the reply as it came
    rows: list[pull_page.Row] = []
    latest = ""
    for change in changes:
        fields, field_hlc = change["fields"], change["field_hlc"]
        if isinstance(field_hlc, codec.Encoded):
            field_hlc = codec.loads(field_hlc)
        latest = max(latest, max(field_hlc.values(), default=""))
        rows.append(
            (
                change["collection"],
                str(change["record_id"]),
                change["seq"],
                fields if isinstance(fields, codec.Encoded) else codec.dumps(fields),
                _json(field_hlc),
                bool(change["deleted"]),
            )
        )
    return rows, latest


class PlainStore:
    """A device store on SQLite without encryption (tests, and the base of the real one)."""

    migrations: tuple[str, ...] = MIGRATIONS

    def __init__(
        self,
        path: str | Path,
        device_id: str,
        *,
        journal_mode: str = "WAL",
        after_commit: Callable[[], None] | None = None,
        synchronous: str = "FULL",
    ) -> None:
        """Open (or create) the store at `path`.

        Args:
            journal_mode: SQLite's; the browser keeps the journal in memory, since its
                files only become durable when `after_commit` copies them to IndexedDB.
            after_commit: called after every committed transaction, inside it as far as
                the caller is concerned (the browser's write to IndexedDB).
            synchronous: SQLite's. FULL: an edit the app has stored survives a power cut
                (the write-ahead log is flushed at each commit; about 1 ms an edit here,
                `python -m bench.store_bench`). NORMAL survives the app being killed but
                may lose the last edits to a power cut.
        """
        if synchronous not in ("NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"synchronous must be NORMAL, FULL or EXTRA, not {synchronous!r}")
        self.path = str(path)
        self.device_id = device_id
        self._journal_mode = journal_mode
        self._synchronous = synchronous
        self._after_commit = after_commit or (lambda: None)
        self._lock = threading.RLock()
        self._journal: str | None = None  # the journal mode in effect, once asked
        self._conn = self._open()
        self._clock = Clock(device_id)
        self._load_clock()

    # Opening, transactions, sealing ---------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA page_size={PAGE_SIZE}")  # a no-op unless the file is new
        if self.path != ":memory:":
            conn.execute(f"PRAGMA journal_mode={self._journal_mode}")
        conn.execute(f"PRAGMA synchronous={self._synchronous}")
        conn.execute("PRAGMA secure_delete=ON")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        try:
            for step, script in enumerate(self.migrations[version:], start=version + 1):
                conn.executescript(f"BEGIN IMMEDIATE;{script};PRAGMA user_version={step};COMMIT;")
                self._after_commit()
        except sqlite3.Error:
            # Leave the file as the last good step left it, and unlocked.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.close()
            raise
        return conn

    def _load_clock(self) -> None:
        last = self.get_meta("clock")
        if last is not None:
            self._clock.observe(last)

    def close(self) -> None:
        self._conn.close()

    def _tx(self, *, durable: bool = True) -> AbstractContextManager[sqlite3.Connection]:
        self._check_open()
        return self._tx_raw(durable=durable)

    @contextmanager
    def _tx_raw(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction. `durable=False`: what it writes can be had from the server
        again (a pulled page with its cursor, the outcomes of a push), so its commit does
        not wait for the disk: a power cut may roll it back whole (the page is pulled
        again; the changes, still in the outbox, are sent again and answered `duplicate`),
        never half of it, and never an edit committed after it (a durable commit flushes
        the log up to itself, this transaction included)."""
        # One connection, used from the UI and from the background sync: a transaction
        # holds the lock so that nothing of another thread lands inside it.
        with self._lock:
            relaxed = not durable and self._synchronous != "NORMAL" and self._wal()
            if relaxed:
                self._conn.execute("PRAGMA synchronous=NORMAL")
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            finally:
                if relaxed:
                    self._conn.execute(f"PRAGMA synchronous={self._synchronous}")
            self._after_commit()

    def _wal(self) -> bool:
        """Whether the store keeps a write-ahead log (only there is a commit that does not
        wait for the disk still whole after a power cut, or rolled back)."""
        if self._journal is None:
            self._journal = str(self._conn.execute("PRAGMA journal_mode").fetchone()[0])
        return self._journal.lower() == "wal"

    def _check_open(self) -> None:
        """Raise if the store may not be used now (the encrypted store when locked)."""

    def _seal(self, value: Any, associated: str) -> str | bytes:
        return self._seal_encoded(codec.dumps(value), associated)

    def _seal_encoded(self, plaintext: bytes, associated: str) -> str | bytes:
        """Seal a value already encoded as JSON (so that one encoding can serve twice);
        `plaintext` may also be a buffer of a pull reply (`pull_page.Row`)."""
        return str(plaintext, "utf-8")

    def _unseal(self, raw: str | bytes, associated: str) -> Any:
        return codec.loads(raw)

    def _seal_many(self, items: Sequence[tuple[bytes, str]]) -> list[str | bytes]:
        """`_seal_encoded` of each (plaintext, associated) pair, in one go."""
        return [self._seal_encoded(plaintext, associated) for plaintext, associated in items]

    def _unseal_many(self, items: Sequence[tuple[str | bytes, str]]) -> list[Any]:
        """`_unseal` of each (sealed, associated) pair, in one go."""
        return [self._unseal(raw, associated) for raw, associated in items]

    def _open_many(self, items: Sequence[tuple[str | bytes, str]]) -> list[bytes]:
        """The JSON text of each (sealed, associated) pair, opened but not parsed."""
        return [raw.encode() if isinstance(raw, str) else raw for raw, _ in items]

    def _view_sealed(self, row: Any) -> tuple[str | bytes, str]:
        """The sealed view of a record row and its associated data, to open."""
        if row["fields"] == SAME_AS_SERVER:
            return row["server_fields"], f"server|{row['collection']}|{row['record_id']}"
        return row["fields"], f"view|{row['collection']}|{row['record_id']}"

    def _view(self, row: Any) -> Any:
        return self._unseal(*self._view_sealed(row))

    def _view_hlc(self, row: Any) -> Any:
        raw = row["field_hlc"]
        return codec.loads(row["server_hlc"] if raw == SAME_AS_SERVER else raw)

    def _server(self, row: Any) -> Any:
        return self._unseal(row["server_fields"], f"server|{row['collection']}|{row['record_id']}")

    def _change_ad(self, table: str, collection: str, record_id: str, change_id: str) -> str:
        return f"{table}|{collection}|{record_id}|{change_id}"

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
            view = self._view(row) if row else {}
            view_hlc = self._view_hlc(row) if row else {}
            stamp = self._clock.now()
            merged = merge(view, view_hlc, cleaned, stamp, spec.map_fields)
            if not deleted and (row is None or not view):
                # A new record goes out whole, its defaults filled in, as the server keeps it.
                cleaned = validate_record(spec, merged.fields)
                merged = merge(view, view_hlc, cleaned, stamp, spec.map_fields)
            change_id = str(uuid.uuid4())
            ad = self._change_ad("outbox", collection, record_id, change_id)
            entry = OutboxEntry(
                change_id=change_id,
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
                    change_id,
                    collection,
                    record_id,
                    stamp,
                    entry.base_seq,
                    self._seal(cleaned, ad),
                    int(deleted),
                ),
            )
            conn.execute(
                "INSERT INTO records (collection, record_id, server_fields, fields, field_hlc,"
                " deleted) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (collection, record_id)"
                " DO UPDATE SET fields = excluded.fields, field_hlc = excluded.field_hlc,"
                " deleted = records.deleted OR excluded.deleted",
                (
                    collection,
                    record_id,
                    self._seal({}, f"server|{collection}|{record_id}"),
                    self._seal(merged.fields, f"view|{collection}|{record_id}"),
                    _json(merged.field_hlc),
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

    def _record(self, row: Any, fields: Any = None) -> LocalRecord:
        return LocalRecord(
            collection=row["collection"],
            record_id=row["record_id"],
            fields=self._view(row) if fields is None else fields,
            field_hlc=self._view_hlc(row),
            deleted=bool(row["deleted"]),
            seq=row["seq"],
        )

    def get(self, collection: str, record_id: str) -> LocalRecord | None:
        self._check_open()
        with self._lock:
            row = self._row(self._conn, collection, record_id)
            return self._record(row) if row else None

    def records(self, collection: str, *, include_deleted: bool = False) -> list[LocalRecord]:
        self._check_open()
        query = "SELECT * FROM records WHERE collection = ?"
        if not include_deleted:
            query += " AND deleted = 0"
        with self._lock:
            rows = self._conn.execute(query, (collection,)).fetchall()
            views = self._unseal_many([self._view_sealed(row) for row in rows])
            return [self._record(row, view) for row, view in zip(rows, views, strict=True)]

    def server_records(self) -> list[LocalRecord]:
        """The server layer of every record (what the server last said), for checks."""
        self._check_open()
        return [
            LocalRecord(
                r["collection"],
                r["record_id"],
                self._server(r),
                codec.loads(r["server_hlc"]),
                bool(r["server_deleted"]),
                r["seq"],
            )
            for r in self._conn.execute("SELECT * FROM records WHERE seq IS NOT NULL")
        ]

    # The outbox ------------------------------------------------------------------------

    def _entry(self, row: Any, table: str = "outbox") -> OutboxEntry:
        return OutboxEntry(
            change_id=row["change_id"],
            collection=row["collection"],
            record_id=row["record_id"],
            hlc=row["hlc"],
            base_seq=row["base_seq"],
            fields=self._unseal(
                row["fields"],
                self._change_ad(table, row["collection"], row["record_id"], row["change_id"]),
            ),
            deleted=bool(row["deleted"]),
        )

    def pending(self, limit: int, after: str | None = None) -> list[OutboxEntry]:
        self._check_open()
        with self._lock:
            if after is None:
                rows = self._conn.execute("SELECT * FROM outbox ORDER BY id LIMIT ?", (limit,))
            else:
                rows = self._conn.execute(
                    "SELECT * FROM outbox WHERE id > (SELECT id FROM outbox WHERE change_id = ?)"
                    " ORDER BY id LIMIT ?",
                    (after, limit),
                )
            return [self._entry(r) for r in rows]

    def pending_encoded(self, limit: int, after: str | None = None) -> list[EncodedEntry]:
        """`pending`, each change's values opened but left as JSON text: sent as they are,
        not parsed and encoded again."""
        self._check_open()
        with self._lock:
            if after is None:
                found = self._conn.execute("SELECT * FROM outbox ORDER BY id LIMIT ?", (limit,))
            else:
                found = self._conn.execute(
                    "SELECT * FROM outbox WHERE id > (SELECT id FROM outbox WHERE change_id = ?)"
                    " ORDER BY id LIMIT ?",
                    (after, limit),
                )
            rows = found.fetchall()
            texts = self._open_many(
                [
                    (
                        r["fields"],
                        self._change_ad("outbox", r["collection"], r["record_id"], r["change_id"]),
                    )
                    for r in rows
                ]
            )
            return [
                EncodedEntry(
                    change_id=r["change_id"],
                    collection=r["collection"],
                    record_id=r["record_id"],
                    hlc=r["hlc"],
                    base_seq=r["base_seq"],
                    fields_json=text,
                    deleted=bool(r["deleted"]),
                )
                for r, text in zip(rows, texts, strict=True)
            ]

    def pending_count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def pending_records(self) -> int:
        """Records with changes waiting: what a person counts (one round, not its ticks)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT count(*) FROM (SELECT DISTINCT collection, record_id FROM outbox)"
            ).fetchone()
            return int(row[0])

    def record_push_outcomes(
        self, outcomes: Sequence[PushOutcome], sent: Sequence[OutboxEntry | EncodedEntry] = ()
    ) -> None:
        # One transaction for the batch: its outbox rows read at once, each touched record
        # read, folded, rebuilt and written once (row by row this was most of a push).
        now = datetime.now(UTC).isoformat()
        # An outbox row never changes once written, so what was read to send it is what
        # the row holds: no need to open it again.
        known = {entry.change_id: entry for entry in sent}
        with self._tx(durable=False) as conn:
            rows: dict[str, Any] = {}
            for chunk in _chunks([o.change_id for o in outcomes]):
                # The changes sent are known: only their row ids are read (from the index
                # on change_id alone); any other is read whole.
                query = f"SELECT id, change_id FROM outbox WHERE change_id IN ({_marks(chunk)})"  # noqa: S608
                found = conn.execute(query, chunk).fetchall()
                rows.update((row["change_id"], row) for row in found if row["change_id"] in known)
                others = [row["change_id"] for row in found if row["change_id"] not in known]
                if others:
                    query = f"SELECT * FROM outbox WHERE change_id IN ({_marks(others)})"  # noqa: S608
                    rows.update((row["change_id"], row) for row in conn.execute(query, others))
            done: list[tuple[int]] = []
            rejected: list[tuple[Any, ...]] = []
            # Per touched record, in the order first met: the confirmed changes to fold.
            confirmed: dict[tuple[str, str], list[OutboxEntry | EncodedEntry]] = {}
            refused: set[tuple[str, str]] = set()  # records with a change rejected here
            for outcome in outcomes:
                row = rows.pop(outcome.change_id, None)
                if row is None:
                    continue  # already recorded (a re-sent batch)
                entry = known.get(outcome.change_id) or self._entry(row)
                done.append((row["id"],))
                key = (entry.collection, entry.record_id)
                folds = confirmed.setdefault(key, [])
                if outcome.status in _CONFIRMED:
                    folds.append(entry)
                    continue
                refused.add(key)
                ad = self._change_ad("rejected", entry.collection, entry.record_id, entry.change_id)
                sealed = (
                    self._seal_encoded(entry.fields_json, ad)
                    if isinstance(entry, EncodedEntry)
                    else self._seal(entry.fields, ad)
                )
                rejected.append(
                    (
                        entry.change_id,
                        entry.collection,
                        entry.record_id,
                        entry.hlc,
                        entry.base_seq,
                        sealed,
                        int(entry.deleted),
                        outcome.code or "rejected",
                        outcome.message or "",
                        now,
                    )
                )
            conn.executemany("DELETE FROM outbox WHERE id = ?", done)
            conn.executemany(
                "INSERT OR REPLACE INTO rejected (change_id, collection, record_id, hlc,"
                " base_seq, fields, deleted, code, message, rejected_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rejected,
            )
            self._rebuild_views(conn, confirmed, taken=set(confirmed) - refused)

    def _rebuild_views(
        self,
        conn: sqlite3.Connection,
        folds: dict[tuple[str, str], list[OutboxEntry | EncodedEntry]],
        taken: set[tuple[str, str]] | frozenset[tuple[str, str]] = frozenset(),
    ) -> None:
        """Fold each record's changes the server took into its server layer, then rebuild
        its view: the server layer with what is still pending merged over it.

        `taken`: records whose every change in `folds` the server took (none refused).
        The view of a record is always its server layer with its pending changes merged
        over it, in order; when the server took all of them and nothing else is pending,
        the new server layer is that view, taken over as it is (opened and sealed again
        as the server layer) instead of merged anew."""
        records = self._rows(conn, folds)
        pending = self._pending_of(conn, folds)
        both_rows: list[tuple[Any, ...]] = []  # server layer and view
        view_rows: list[tuple[Any, ...]] = []
        gone: list[tuple[str, str]] = []
        whole = [
            (key, row)
            for key, row in records.items()
            if key in taken
            and folds[key]
            and key not in pending
            and row["fields"] != SAME_AS_SERVER
            and row["field_hlc"] != SAME_AS_SERVER
        ]
        if whole:
            texts = self._open_many([(row["fields"], f"view|{c}|{r}") for (c, r), row in whole])
            sealed = self._seal_many(
                [(text, f"server|{c}|{r}") for ((c, r), _), text in zip(whole, texts, strict=True)]
            )
            for ((collection, record_id), row), text, server_fields in zip(
                whole, texts, sealed, strict=True
            ):
                deleted = int(row["deleted"])
                if row["seq"] is None and text == b"{}" and not deleted:
                    continue  # only ever ours: the general path below drops it
                both_rows.append(
                    (
                        server_fields,
                        row["field_hlc"],
                        deleted,
                        SAME_AS_SERVER,
                        SAME_AS_SERVER,
                        deleted,
                        collection,
                        record_id,
                    )
                )
                del records[(collection, record_id)]
        for (collection, record_id), entries in folds.items():
            row = records.get((collection, record_id))
            if row is None:
                continue
            map_fields = COLLECTIONS[collection].map_fields
            fields = self._server(row)
            field_hlc = codec.loads(row["server_hlc"])
            deleted = bool(row["server_deleted"])
            server: tuple[Any, ...] = ()
            if entries:
                # The server took them: until the next pull brings the server's own
                # version, they count as server state (the pull replaces this layer whole).
                for sent in entries:
                    entry = sent.entry() if isinstance(sent, EncodedEntry) else sent
                    merged = merge(fields, field_hlc, entry.fields, entry.hlc, map_fields)
                    fields, field_hlc = merged.fields, merged.field_hlc
                    deleted = deleted or entry.deleted
                server = (
                    self._seal(fields, f"server|{collection}|{record_id}"),
                    _json(field_hlc),
                    int(deleted),
                )
            still = pending.get((collection, record_id), ())
            for entry in still:
                merged = merge(fields, field_hlc, entry.fields, entry.hlc, map_fields)
                fields, field_hlc = merged.fields, merged.field_hlc
                deleted = deleted or entry.deleted
            if row["seq"] is None and not fields and not deleted:
                # Never reached the server and nothing of it is pending: it was only ours.
                gone.append((collection, record_id))
                continue
            if still:
                view = (self._seal(fields, f"view|{collection}|{record_id}"), _json(field_hlc))
            else:
                view = (SAME_AS_SERVER, SAME_AS_SERVER)
            key = (collection, record_id)
            if server:
                both_rows.append((*server, *view, int(deleted), *key))
            else:
                view_rows.append((*view, int(deleted), *key))
        conn.executemany(
            "UPDATE records SET server_fields = ?, server_hlc = ?, server_deleted = ?,"
            " fields = ?, field_hlc = ?, deleted = ? WHERE collection = ? AND record_id = ?",
            both_rows,
        )
        conn.executemany(
            "UPDATE records SET fields = ?, field_hlc = ?, deleted = ?"
            " WHERE collection = ? AND record_id = ?",
            view_rows,
        )
        conn.executemany("DELETE FROM records WHERE collection = ? AND record_id = ?", gone)

    def _rows(
        self, conn: sqlite3.Connection, keys: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], Any]:
        """The records rows of `keys` (those that exist)."""
        return {(row["collection"], row["record_id"]): row for row in _of(conn, "records", keys)}

    def _pending_of(
        self, conn: sqlite3.Connection, keys: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], list[OutboxEntry]]:
        """The changes still in the outbox for `keys`, oldest first."""
        found: dict[tuple[str, str], list[OutboxEntry]] = {}
        for row in _of(conn, "outbox", keys, " ORDER BY id"):
            entry = self._entry(row)
            found.setdefault((entry.collection, entry.record_id), []).append(entry)
        return found

    def apply_pull_page(
        self,
        changes: Iterable[dict[str, Any]],
        removed: Iterable[dict[str, Any]],
        cursor: str | None,
    ) -> None:
        with self._tx(durable=False) as conn:
            pending_keys = {
                (r[0], r[1])
                for r in conn.execute("SELECT DISTINCT collection, record_id FROM outbox")
            }
            rows, latest = _pulled_rows(changes)
            if latest:
                self._clock.observe(latest)
            # The view is the server layer until pending changes are merged over it.
            sealed = self._seal_many([(row[3], f"server|{row[0]}|{row[1]}") for row in rows])
            conn.executemany(
                "INSERT INTO records (collection, record_id, server_fields, server_hlc,"
                " server_deleted, seq, fields, field_hlc, deleted)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?5)"
                " ON CONFLICT (collection, record_id) DO UPDATE SET"
                " server_fields = excluded.server_fields, server_hlc = excluded.server_hlc,"
                " server_deleted = excluded.server_deleted, seq = excluded.seq,"
                " fields = excluded.fields, field_hlc = excluded.field_hlc,"
                " deleted = excluded.deleted",
                [
                    (collection, record_id, server_fields, hlc, int(deleted), seq, SAME_AS_SERVER)
                    for (collection, record_id, seq, _, hlc, deleted), server_fields in zip(
                        rows, sealed, strict=True
                    )
                ],
            )
            rebuild: dict[tuple[str, str], list[OutboxEntry | EncodedEntry]] = {}
            if pending_keys:
                rebuild = {key: [] for key in ((r[0], r[1]) for r in rows) if key in pending_keys}
            self._rebuild_views(conn, rebuild)
            conn.executemany(
                "DELETE FROM records WHERE collection = ? AND record_id = ?",
                [(gone["collection"], str(gone["record_id"])) for gone in removed],
            )
            self._set_meta(conn, "cursor", cursor)
            self._save_clock(conn)

    def cursor(self) -> str | None:
        return self.get_meta("cursor")

    def reset_cursor(self) -> None:
        self.set_meta("cursor", None)

    # Rejected changes ---------------------------------------------------------------

    def rejected(self) -> list[RejectedChange]:
        self._check_open()
        rows = self._conn.execute("SELECT * FROM rejected ORDER BY rejected_at, change_id")
        return [
            RejectedChange(self._entry(r, "rejected"), r["code"], r["message"], r["rejected_at"])
            for r in rows
        ]

    def discard_rejected(self, change_id: str) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM rejected WHERE change_id = ?", (change_id,))

    # Metadata -------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        self._check_open()
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None or row[0] is None:
            return None
        value: str | None = self._unseal(row[0], f"meta|{key}")
        return value

    def set_meta(self, key: str, value: str | None) -> None:
        with self._tx() as conn:
            self._set_meta(conn, key, value)

    def _set_meta(self, conn: sqlite3.Connection, key: str, value: str | None) -> None:
        sealed = None if value is None else self._seal(value, f"meta|{key}")
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, sealed))

    def _save_clock(self, conn: sqlite3.Connection) -> None:
        self._set_meta(conn, "clock", self._clock.now())

    def wipe(self) -> None:
        """Destroy the store's files (overwritten first) and start empty."""
        self._conn.close()
        if self.path != ":memory:":
            for suffix in ("-wal", "-shm", "-journal", ""):
                _shred(Path(self.path + suffix))
        self._conn = self._open()
        self._journal = None
        self._clock = Clock(self.device_id)


def _shred(path: Path) -> None:
    if not path.exists():
        return
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.write(b"\0" * size)
        handle.flush()
    path.unlink()
