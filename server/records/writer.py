"""The writer, assembled from its steps (see `server.records` for how they fit together)."""

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session

from server.models import Record, User, utcnow
from server.records.conflicts import Conflicts
from server.records.merging import Merging
from server.records.moves import Moves
from server.records.numbering import Numbering
from server.records.reading import Reading
from server.records.rows import Key, RecordRow
from server.records.writing_out import WritingOut
from shared.hlc import Clock


class RecordWriter(Merging, Moves, Conflicts, Reading, Numbering, WritingOut):
    """Merges changes into records and logs them, numbering each from the locked counter."""

    def __init__(
        self, session: Session, clock: Clock, *, lock: bool = True, now: datetime | None = None
    ) -> None:
        self.session = session
        self.clock = clock
        self.locked = False
        self.moved = False  # a write moved a record to another bucket
        self.postgresql = session.get_bind().dialect.name == "postgresql"
        # What was read from the database (None: no such record), the stale-check's basis.
        self._db: dict[Key, RecordRow | None] = {}
        # What this writer wrote, newest version per record; the change log and moves.
        self._rows: dict[Key, RecordRow] = {}
        self._changes: list[dict[str, Any]] = []
        self._moves: list[dict[str, Any]] = []
        # The field_meta entries this writer made, each holding one of its numbers.
        self._stamped: list[dict[str, Any]] = []
        self._users: dict[uuid.UUID, User | None] = {}
        self._written: list[Key] = []  # keys written, in order (repeats included)
        self._bucket_keys: dict[str, list[Key]] = {}  # buckets read whole by `_in_bucket`
        self._records: dict[Key, Record] = {}  # see `get`
        # The plan is numbered base + 1 ... base + used, base being the counter as the
        # plan's reads found it (as if nobody commits before it is written).
        self._base: int | None = None
        self._used = 0
        self._shift = 0  # what the plan's numbers were moved up by since they were given
        self._now = now or utcnow()  # what is written as received now, and ages are counted to
        if lock:
            self._base = self._take_lock()
        elif self.postgresql:
            # Each read sees the newest commits; the write is one statement, its own
            # transaction, so the lock is held only while PostgreSQL runs it.
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
