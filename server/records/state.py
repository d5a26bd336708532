"""What a writer holds while it works, shared by the steps (see `server.records`)."""

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from server.models import Record, User
from server.records.rows import Key, RecordRow
from server.sync.merge_rule import Loss
from shared.hlc import Clock

if TYPE_CHECKING:
    from server.records.numbering import Interference


class WriterState:
    """The attributes every step of a `RecordWriter` reads and writes (set in
    `RecordWriter.__init__`), and, for the type checker, the steps' methods that other
    steps call: each is defined in the module of its step."""

    session: Session
    clock: Clock
    locked: bool
    moved: bool  # a write moved a record to another bucket
    postgresql: bool
    # What was read from the database (None: no such record), the stale-check's basis.
    _db: dict[Key, RecordRow | None]
    # What this writer wrote, newest version per record; the change log and moves.
    _rows: dict[Key, RecordRow]
    _changes: list[dict[str, Any]]
    _moves: list[dict[str, Any]]
    # The field_meta entries this writer made, each holding one of its numbers.
    _stamped: list[dict[str, Any]]
    _users: dict[uuid.UUID, User | None]
    _written: list[Key]  # keys written, in order (repeats included)
    _records: dict[Key, Record]  # see `Reading.get`
    # The plan is numbered base + 1 ... base + used, base being the counter as the
    # plan's reads found it (as if nobody commits before it is written).
    _base: int | None
    _used: int
    _shift: int  # what the plan's numbers were moved up by since they were given
    _now: datetime  # what is written as received now, and ages are counted to
    _bucket_keys: dict[str, list[Key]]  # the keys of a bucket read whole by `_in_bucket`

    if TYPE_CHECKING:
        # numbering.py
        def _take_lock(self) -> int: ...
        def _anchor(self) -> int: ...
        def _since(self, base: int, counter: int | None = None) -> "Interference": ...
        def _renumber(self, base: int) -> None: ...
        def _forget_plan(self) -> None: ...
        def next_seq(self) -> int: ...

        # reading.py
        def preload(self, keys: Iterable[Key]) -> None: ...
        def row(self, collection: str, record_id: uuid.UUID) -> RecordRow | None: ...
        def live_row(self, collection: str, record_id: uuid.UUID) -> RecordRow | None: ...
        def _record(self, row: RecordRow) -> Record: ...

        # merging.py
        def write_row(
            self,
            collection: str,
            record_id: uuid.UUID,
            fields: Mapping[str, Any],
            *,
            hlc: str,
            author: uuid.UUID | None,
            device_id: str | None,
            base_seq: int | None = None,
            deleted: bool = False,
            change_id: uuid.UUID | None = None,
        ) -> tuple[RecordRow, list[Loss]]: ...

        # moves.py
        def _moved(self, record: RecordRow, old_bucket: str) -> None: ...
        def _add_move(self, record: RecordRow, old_bucket: str) -> None: ...

        def _bucket(self, record: RecordRow) -> str: ...

        # conflicts.py
        def _keep_conflict(self, record: RecordRow, loss: Loss) -> None: ...

        # writing_out.py
        def _written_out(self) -> None: ...
