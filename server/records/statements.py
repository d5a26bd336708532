"""The SQL a writer writes with, and the row encoders: SQLite's INSERTs (one executemany per
table) and PostgreSQL's staging tables, COPY and the one statement that checks and writes
a plan under the lock."""

from collections.abc import Iterable
from operator import attrgetter, itemgetter
from typing import Any

import orjson
import sqlalchemy as sa

from server.records.rows import CHANGES, MOVES, RECORDS

_UPDATED = (
    "fields",
    "field_hlc",
    "field_meta",
    "deleted",
    "seq",
    "bucket",
    "scope_collection",
    "updated_by",
    "updated_at",
)


class _Insert:
    """An INSERT of some of a table's columns with `?` parameters, and its row encoder.

    Each value is encoded as its column type's bind processor would (a test compares the
    stored rows with the ORM's), with the hot cases done directly: JSON by orjson as the
    engine's serializer does, and ids, times and a first write's values (its log entry's
    too) encoded once per plan, by identity, across its tables.
    """

    def __init__(self, table: sa.Table, suffix: str = "", skip: tuple[str, ...] = ()) -> None:
        self.columns = [c for c in table.columns if c.name not in skip]
        names = [c.name for c in self.columns]
        self.sql = (
            f"INSERT INTO {table.name} ({', '.join(names)}) "  # noqa: S608 - model names
            f"VALUES ({', '.join('?' for _ in names)}){suffix}"
        )
        self._encoders: dict[str, list[tuple[int, Any, bool]]] = {}

    def _steps(self, dialect: sa.Dialect) -> list[tuple[int, Any, bool]]:
        """(column index, encoder, memoized) for each column that needs encoding."""
        steps = self._encoders.get(dialect.name)
        if steps is None:
            steps = []
            for index, column in enumerate(self.columns):
                if isinstance(column.type, sa.JSON):
                    steps.append((index, _json_text, True))
                    continue
                proc = column.type.dialect_impl(dialect).bind_processor(dialect)
                if proc is not None:
                    memo = isinstance(column.type, (sa.Uuid, sa.types.TypeDecorator))
                    steps.append((index, proc, memo))
            self._encoders[dialect.name] = steps
        return steps

    def rows(
        self,
        dialect: sa.Dialect,
        items: Iterable[Any],
        made: dict[int, Any],
        attribute: bool = False,
    ) -> list[Any]:
        """The items' values as the driver takes them. `made`: values encoded already, by
        the id of the value, shared by the tables of one plan (a value is encoded the same
        in any column that can hold it); the caller holds every value while it is used.
        By identity, because hashing a UUID runs Python code."""
        names = [c.name for c in self.columns]
        get = attrgetter(*names) if attribute else itemgetter(*names)
        steps = self._steps(dialect)
        out = []
        for item in items:
            values = list(get(item))
            for index, encode, memoized in steps:
                value = values[index]
                if value is None:
                    continue
                if memoized:
                    encoded = made.get(id(value))
                    if encoded is None:
                        encoded = made[id(value)] = encode(value)
                    values[index] = encoded
                else:
                    values[index] = encode(value)
            out.append(values)
        return out


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


_SQLITE_RECORDS = _Insert(
    RECORDS,
    " ON CONFLICT (collection, record_id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in _UPDATED),
)
_SQLITE_CHANGES = _Insert(CHANGES)
_SQLITE_MOVES = _Insert(MOVES, skip=("id",))  # numbered by the database


_RECORD_COLUMNS = [c.name for c in RECORDS.columns]
_CHANGE_COLUMNS = [c.name for c in CHANGES.columns]
_MOVE_COLUMNS = [c.name for c in MOVES.columns if c.name != "id"]


def _numbered(columns: list[str]) -> str:
    """The select list: the plan's numbers follow the counter (moved up by `shift`)."""
    return ", ".join("j.seq + (SELECT shift FROM ok)" if c == "seq" else f"j.{c}" for c in columns)


# The field_meta entries the plan made hold plan numbers (above its base) too; rewritten
# only when the counter moved since the plan was numbered (never with a single writer).
_META = """CASE WHEN (SELECT shift FROM ok) = 0 THEN j.field_meta ELSE
    (SELECT coalesce(json_object_agg(e.key, CASE WHEN (e.value->>'seq')::bigint > %(base)s
        THEN jsonb_set(e.value::jsonb, '{seq}',
                       to_jsonb((e.value->>'seq')::bigint + (SELECT shift FROM ok)))::json
        ELSE e.value END), '{}'::json) FROM json_each(j.field_meta) e) END"""

# PostgreSQL: check and write the whole plan in one statement, under the counter's lock
# (taken by the statement before it, in the same transaction, so that this statement's
# snapshot has every earlier commit). Written only if every record the plan read is still
# at the seq it read (absent ones still absent), no record of the watched collections
# changed since the plan's base, and, when `strict`, the counter itself has not moved.
# The plan is numbered base + 1 ... base + used; if others committed since, its numbers
# move up by what the counter moved (`shift`).
_PG_LOCK = "SELECT last_seq FROM seq_counter WHERE id = 1 FOR UPDATE"
# A plan's rows are copied into tables of the session's own (PostgreSQL empties them at
# each commit), then moved into place by `_PG_WRITE`.
_PG_STAGING = """
SET LOCAL client_min_messages = warning;  -- not "already exists, skipping"
CREATE TEMP TABLE IF NOT EXISTS staged_records (LIKE records) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS staged_changes (LIKE changes) ON COMMIT DELETE ROWS;
SELECT c.relname, a.attname, a.atttypid::int FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
WHERE c.oid IN ('staged_records'::regclass, 'staged_changes'::regclass)
    AND a.attnum > 0 AND NOT a.attisdropped
"""
_PG_COPY_RECORDS = f"COPY staged_records ({', '.join(_RECORD_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_PG_COPY_CHANGES = f"COPY staged_changes ({', '.join(_CHANGE_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_record_values = attrgetter(*_RECORD_COLUMNS)
_change_values = itemgetter(*_CHANGE_COLUMNS)


def _staging_types(raw: Any) -> dict[str, list[int]]:
    """Make the transaction's staging tables unless the connection has them (made in a
    transaction that rolled back, they are gone); their column types, in COPY order (a
    binary COPY names them). One round trip."""
    with raw.cursor() as cursor:
        cursor.execute(_PG_STAGING)
        while cursor.nextset():  # to the last statement's rows
            pass
        found = {(table, column): oid for table, column, oid in cursor.fetchall()}
    return {
        "staged_records": [found[("staged_records", c)] for c in _RECORD_COLUMNS],
        "staged_changes": [found[("staged_changes", c)] for c in _CHANGE_COLUMNS],
    }


_PG_WRITE_ROWS_FROM = f"""
WITH cur AS (SELECT last_seq FROM seq_counter WHERE id = 1),
stale AS (
    SELECT count(*) AS n
    FROM json_to_recordset(%(read)s::json) AS k(collection text, record_id uuid, seq int)
    LEFT JOIN records r ON r.collection = k.collection AND r.record_id = k.record_id
    WHERE r.seq IS DISTINCT FROM k.seq
),
watched AS (
    SELECT count(*) AS n FROM records
    WHERE seq > %(base)s AND collection = ANY(%(watch)s::text[])
),
ok AS (
    SELECT last_seq, last_seq - %(base)s AS shift,
           (SELECT n FROM stale) = 0 AND (SELECT n FROM watched) = 0
           AND (NOT %(strict)s OR last_seq = %(base)s) AS ok
    FROM cur
),
bump AS (
    UPDATE seq_counter SET last_seq = last_seq + %(used)s WHERE id = 1 AND (SELECT ok FROM ok)
),
rec AS (
    INSERT INTO records ({", ".join(_RECORD_COLUMNS)})
    SELECT {_numbered(_RECORD_COLUMNS).replace("j.field_meta", _META)}
    FROM {{records}} j
    WHERE (SELECT ok FROM ok)
    ON CONFLICT (collection, record_id) DO UPDATE SET
    {", ".join(f"{name} = EXCLUDED.{name}" for name in _UPDATED)}
),
chg AS (
    INSERT INTO changes ({", ".join(_CHANGE_COLUMNS)})
    SELECT {_numbered(_CHANGE_COLUMNS)}
    FROM {{changes}} j
    WHERE (SELECT ok FROM ok)
),
mov AS (
    INSERT INTO moves ({", ".join(_MOVE_COLUMNS)})
    SELECT {_numbered(_MOVE_COLUMNS)}
    FROM json_populate_recordset(NULL::moves, %(moves)s::json) j
    WHERE (SELECT ok FROM ok)
)
SELECT ok, last_seq FROM ok
"""  # noqa: S608 - column names from the models, values as parameters
# A plan's rows reach PostgreSQL as JSON parameters of that one statement (one round trip:
# a small plan, such as a phone's few changes), or, from COPY_FROM_ROWS rows on, staged by
# COPY first (a few round trips more, and several times faster to read: a big push).
COPY_FROM_ROWS = 64
_PG_WRITE = {
    False: _PG_WRITE_ROWS_FROM.replace(
        "{records}", "json_populate_recordset(NULL::records, %(records)s::json)"
    ).replace("{changes}", "json_populate_recordset(NULL::changes, %(changes)s::json)"),
    True: _PG_WRITE_ROWS_FROM.replace("{records}", "staged_records").replace(
        "{changes}", "staged_changes"
    ),
}
