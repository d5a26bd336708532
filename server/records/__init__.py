"""Writing synced records: one path for the lead's administration and for device pushes.

A `RecordWriter` is one transaction's worth of writes. Every change it writes gets a
change number (`seq`) from the single `seq_counter` row, and the no-gap cursor rests on
one rule: **seqs become visible in commit order** (a reader that sees seq N has already
seen every seq below N). So a writer takes the counter's row lock (PostgreSQL: a row lock;
SQLite: the counter UPDATE is the transaction's first write, so it is also the moment the
transaction becomes the one writer) and holds it until it commits. The counter is read
and bumped under that lock, in the same transaction as the rows numbered from it.

The lock need only cover the short write phase. A device's push opens its writer unlocked
(`lock=False`):
1. It reads the committed counter, S0, before anything else, then reads the records the
   batch touches or points at (batched), validates and merges every change, numbering
   them S0 + 1, S0 + 2, ... as if nobody else committed meanwhile. No lock is held.
2. `lock_and_finish()` takes the lock. Every write of a record sets the record's `seq` to
   a new number, so what others committed since step 1 is exactly the records with
   `seq > S0`. If the counter still reads S0 (the usual case with one device) the plan is
   written at once: on PostgreSQL the rows are first copied (COPY) into staging tables
   of the transaction's own, then lock, check and write are one statement (one INSERT
   per table from its staging table, only if the locked counter equals S0); on SQLite an
   executemany per table.
3. Otherwise nothing is written yet; the records committed meanwhile are read (one
   indexed query on `seq`) and `stale()` tells which of them this writer had read at
   another version, or read as absent. None: the plan stands and `finish()` moves its
   numbers up to follow the counter (records, the `field_meta` entries it made, the log,
   moves) and writes it. Some: the caller `restart()`s, checking and merging the batch
   again under the lock on the records as they are now (only those are read again).
4. The caller commits, which releases the lock.

Writers opened with `lock=True` (the lead's administration, roster imports, demo seeding)
take the lock first and never go stale; they may read between writes (moves, deletes).

A read made before the lock is never trusted on its own, so no stale snapshot can leak in:
on PostgreSQL (READ COMMITTED) the statements after the lock see every earlier commit; on
SQLite the driver opens no transaction for SELECTs, so the unlocked reads hold no snapshot
and the lock's UPDATE begins the write transaction on the newest data.

The writer is split into its steps, one module each, read in this order:
- `rows`: a record as a writer holds it (`RecordRow`), the tables, the read helpers;
- `state`: what a writer holds while it works (the attributes every step shares);
- `reading`: reading and preloading the records a batch touches, and users;
- `numbering`: the change numbers and the lock (steps 1 to 3 above);
- `merging`: one change merged into its record, logged, its bucket set (`write_row`);
- `moves`: moves between buckets, and what follows a record that moved;
- `conflicts`: the conflict records that keep what lost a race;
- `writing_out`: the plan written out (`finish`, `write_if_current`);
- `statements`: the SQL and row encoders `writing_out` uses;
- `writer`: `RecordWriter`, the steps assembled.
"""

from server.records.numbering import Interference
from server.records.rows import (
    CHANGES,
    COUNTER,
    MOVES,
    RECORDS,
    Key,
    RecordRow,
    as_record,
    as_uuid,
    get_live,
    ids_in,
    live,
    view,
)
from server.records.statements import (
    _CHANGE_COLUMNS,
    _RECORD_COLUMNS,
    COPY_FROM_ROWS,
    _staging_types,
)
from server.records.writer import RecordWriter

__all__ = [
    "CHANGES",
    "COPY_FROM_ROWS",
    "COUNTER",
    "MOVES",
    "RECORDS",
    "_CHANGE_COLUMNS",
    "_RECORD_COLUMNS",
    "Interference",
    "Key",
    "RecordRow",
    "RecordWriter",
    "_staging_types",
    "as_record",
    "as_uuid",
    "get_live",
    "ids_in",
    "live",
    "view",
]
