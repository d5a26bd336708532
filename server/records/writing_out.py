"""Writing the rows out: the records, the change log and the moves a plan made, with the
counter moved past them."""

from collections.abc import Collection
from typing import Any

import orjson
from psycopg.pq import TransactionStatus
from psycopg.types.json import Json, set_json_dumps

from server.records import statements
from server.records.numbering import Interference
from server.records.state import WriterState
from server.records.statements import (
    _PG_COPY_CHANGES,
    _PG_COPY_RECORDS,
    _PG_LOCK,
    _PG_WRITE,
    _SQLITE_CHANGES,
    _SQLITE_MOVES,
    _SQLITE_RECORDS,
    _change_values,
    _record_values,
    _staging_types,
)


class WritingOut(WriterState):
    """The plan written: one statement per table (SQLite), or staged by COPY and checked
    and written under the lock in one statement (PostgreSQL)."""

    def write_if_current(self, watch: Collection[str] = ()) -> Interference | None:
        """PostgreSQL, unlocked writer: write and commit the plan, if no record it read has
        changed since (nor, when it moved records, anything at all; nor any record of the
        `watch` collections); else write nothing, say what was committed.

        The plan's rows are staged first, unlocked. Then the lock is taken, the plan
        checked and written, and the transaction committed by statements sent together (a
        pipeline), so PostgreSQL holds the lock only while it runs them, never while Python
        runs. Follow an interference with `rebase`, then try
        again (or `lock`). None: written and committed (or nothing to write).
        """
        base = self._anchor()
        if self._used == 0:
            return None
        staged = self._staged()
        params = self._pg_params(watch, staged=staged)
        raw = self._driver()
        try:
            if staged:
                raw.execute("BEGIN")
                self._stage(raw)  # before the lock: only this transaction sees the rows
            with raw.pipeline():
                if not staged:
                    raw.execute("BEGIN")
                raw.execute(_PG_LOCK)
                result = raw.execute(_PG_WRITE[staged], params)
                raw.execute("COMMIT")
            ok, counter = result.fetchone()
        except BaseException:
            if raw.info.transaction_status != TransactionStatus.IDLE:
                raw.execute("ROLLBACK")
            raise
        if ok:
            self._renumber(counter)
            self._written_out()
            return None
        return self._since(base)

    def _driver(self) -> Any:
        """The psycopg connection under the session's."""
        return self.session.connection().connection.driver_connection

    def finish(self) -> None:
        """Write the plan (one statement per table) and the last number used; under the
        lock, after `lock` and `rebase`. The caller commits, which releases the lock."""
        if not self.locked:
            raise RuntimeError("take the lock (and check what went stale) before finishing")
        if self._used == 0:
            return
        if self.postgresql:
            raw = self._driver()
            staged = self._staged()
            if staged:
                self._stage(raw)
            ok, _ = raw.execute(_PG_WRITE[staged], self._pg_params(staged=staged)).fetchone()
            if not ok:  # pragma: no cover - under the lock, after `rebase`: nothing is stale
                raise RuntimeError("the plan went stale under the lock")
        else:
            self._write_rows()
        self._written_out()

    def _staged(self) -> bool:
        """PostgreSQL: whether the plan's rows go by COPY (see `_PG_WRITE`)."""
        return len(self._rows) + len(self._changes) >= statements.COPY_FROM_ROWS

    def _pg_params(self, watch: Collection[str] = (), *, staged: bool) -> dict[str, Any]:
        """The plan's parameters, numbered from its base (see `_PG_WRITE`): its rows as
        JSON unless they were staged."""
        read = [
            {"collection": c, "record_id": r, "seq": row.seq if row is not None else None}
            for (c, r), row in self._db.items()
        ]
        # JSON goes as orjson makes it (bytes, no round through str).
        params: dict[str, Any] = {
            "base": self._anchor(),
            "used": self._used,
            "strict": self.moved,
            "watch": list(watch),
            "read": Json(read, dumps=orjson.dumps),
            "moves": Json(self._moves, dumps=orjson.dumps),
        }
        if not staged:  # the dataclass's fields are the columns
            params["records"] = Json(list(self._rows.values()), dumps=orjson.dumps)
            params["changes"] = Json(self._changes, dumps=orjson.dumps)
        return params

    def _stage(self, raw: Any) -> None:
        """PostgreSQL: the plan's records and log entries into this session's staging
        tables (emptied at commit) by a binary COPY, which PostgreSQL reads several times
        faster than it takes the same rows apart from one JSON array."""
        types = _staging_types(raw)
        with raw.cursor() as cursor:
            set_json_dumps(orjson.dumps, cursor)  # JSON values go out as orjson's bytes
            with cursor.copy(_PG_COPY_RECORDS) as copy:
                copy.set_types(types["staged_records"])
                for row in self._rows.values():
                    copy.write_row(_record_values(row))
            with cursor.copy(_PG_COPY_CHANGES) as copy:
                copy.set_types(types["staged_changes"])
                for change in self._changes:
                    copy.write_row(_change_values(change))

    def _write_rows(self) -> None:
        """SQLite: one executemany per table on the driver's cursor, each value through
        its column type's own bind processor (so stored exactly as SQLAlchemy stores it)."""
        connection = self.session.connection()
        dialect = connection.dialect
        driver: Any = connection.connection.driver_connection
        cursor = driver.cursor()
        try:
            made: dict[int, Any] = {}  # a first write's values are its record's: one text
            records = _SQLITE_RECORDS.rows(dialect, self._rows.values(), made, attribute=True)
            cursor.executemany(_SQLITE_RECORDS.sql, records)
            changes = _SQLITE_CHANGES.rows(dialect, self._changes, made)
            cursor.executemany(_SQLITE_CHANGES.sql, changes)
            if self._moves:
                moves = _SQLITE_MOVES.rows(dialect, self._moves, made)
                cursor.executemany(_SQLITE_MOVES.sql, moves)
            cursor.execute(
                "UPDATE seq_counter SET last_seq = ? WHERE id = 1", (self._anchor() + self._used,)
            )
        finally:
            cursor.close()

    def _written_out(self) -> None:
        """The plan is in the database: what a later read would give."""
        self._base = self._anchor() + self._used
        self._db.update(self._rows)
        self._forget_plan()
