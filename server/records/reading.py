"""Reading and preloading the records a writer works on, and the users it checks."""

import uuid
from collections.abc import Iterable
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from server.models import Record, User
from server.records.rows import (
    _CHUNK,
    _COLUMNS,
    COUNTER,
    RECORDS,
    Key,
    RecordRow,
    _keys_in,
    _row,
    as_record,
)
from server.records.state import WriterState
from shared.schemas.vocabulary import Role

_UNREAD = cast(RecordRow, object())  # a key not read yet


class Reading(WriterState):
    """Reading the records a batch touches (preloaded in a few queries), as this
    writer will leave them so far."""

    def preload(self, keys: Iterable[Key]) -> None:
        """Fetch many records in one query (the first also reads the counter, if unread)."""
        # Set operations with dicts reuse the hashes they hold: a key is hashed once here
        # (hashing a UUID runs Python code) and once more as it is remembered.
        wanted = list(set(keys).difference(self._db, self._rows))
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            where = _keys_in(chunk)
            if self._base is None:
                # One statement, one snapshot: the counter the reads are numbered after.
                rows = list(
                    self.session.execute(
                        sa.select(COUNTER.c.last_seq, RECORDS)
                        .select_from(COUNTER.outerjoin(RECORDS, where))
                        .where(COUNTER.c.id == 1)
                    )
                )
                self._base = int(rows[0].last_seq)
                found = {(r.collection, r.record_id): _row(r) for r in rows if r.collection}
            else:
                rows = list(self.session.execute(sa.select(RECORDS).where(where)))
                found = {(r.collection, r.record_id): _row(r) for r in rows}
            self._db.update(dict.fromkeys(chunk))  # None: no such record
            self._db.update(found)

    def row(self, collection: str, record_id: uuid.UUID) -> RecordRow | None:
        """The record as this transaction will leave it so far (None: there is none)."""
        key = (collection, record_id)
        pending = self._rows.get(key)
        if pending is not None:
            return pending
        read = self._db.get(key, _UNREAD)
        if read is _UNREAD:
            self._anchor()
            db = self.session.execute(
                sa.select(RECORDS).where(
                    RECORDS.c.collection == collection, RECORDS.c.record_id == record_id
                )
            ).first()
            read = self._db[key] = _row(db) if db is not None else None
        return read

    def live_row(self, collection: str, record_id: uuid.UUID) -> RecordRow | None:
        record = self.row(collection, record_id)
        return None if record is None or record.deleted else record

    # The administration's code works with `Record` objects: the session's own when it has
    # loaded the record (kept up to date with what this writer writes, as the ORM did),
    # else one the writer keeps. None is ever flushed: the writer writes the rows itself.

    def get(self, collection: str, record_id: uuid.UUID) -> Record | None:
        """`row` as a `Record`, for the administration's code."""
        record = self.row(collection, record_id)
        return self._record(record) if record is not None else None

    def get_live(self, collection: str, record_id: uuid.UUID) -> Record | None:
        record = self.live_row(collection, record_id)
        return self._record(record) if record is not None else None

    def _record(self, row: RecordRow) -> Record:
        held = self.session.identity_map.get(identity_key(Record, row.key))
        if held is None:
            held = self._records.get(row.key)
        if held is None:
            self._records[row.key] = record = as_record(row)
            return record
        for name in _COLUMNS:
            set_committed_value(held, name, getattr(row, name))
        assert isinstance(held, Record)
        return held

    def user(self, user_id: uuid.UUID) -> User | None:
        if user_id not in self._users:
            self._users[user_id] = self.session.get(User, user_id)
        return self._users[user_id]

    def user_is(self, user_id: uuid.UUID, roles: set[Role]) -> bool:
        user = self.user(user_id)
        return user is not None and user.active and user.role in roles  # a StrEnum is its text
