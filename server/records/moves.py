"""Moves between buckets: a record whose bucket changed leaves a move behind (devices that
read the old bucket remove it), and what follows it (a case's follow-ups or interventions,
conflict records about any of them) moves with it."""

import sqlalchemy as sa

from server.records.rows import RECORDS, Key, RecordRow, _row
from server.records.state import WriterState
from server.sync import scopes


class Moves(WriterState):
    """A record that changed buckets: the move noted, and what lives with it follows."""

    def _add_move(self, record: RecordRow, old_bucket: str) -> None:
        self._moves.append(
            {
                "seq": record.seq,
                "collection": record.collection,
                "record_id": record.record_id,
                "from_bucket": old_bucket,
                "scope_collection": record.scope_collection,
            }
        )

    def _moved(self, record: RecordRow, old_bucket: str) -> None:
        self.moved = True
        self._add_move(record, old_bucket)
        # What lives where this record lives follows it: a case's follow-ups or
        # interventions, and the conflict records about any of them. Each gets a new
        # number, so that the devices that now read the bucket receive it.
        there = self._in_bucket(old_bucket)
        follower = scopes.ARCHIVED_CASES.get(record.collection)
        about = {(record.collection, str(record.record_id))}
        followers = [
            other
            for other in there
            if follower is not None
            and other.collection == follower
            and other.fields.get("case_id") == str(record.record_id)
        ]
        about |= {(other.collection, str(other.record_id)) for other in followers}
        followers += [
            other
            for other in there
            if other.collection == "conflicts"
            and (other.scope_collection, other.fields.get("record_id")) in about
        ]
        for other in followers:
            moved = RecordRow(
                other.collection,
                other.record_id,
                other.fields,
                other.field_hlc,
                other.field_meta,
                other.deleted,
                self.next_seq(),
                record.bucket if other.collection == "conflicts" else self._bucket(other),
                other.scope_collection,
                other.created_by,
                other.created_at,
                other.updated_by,
                other.updated_at,
            )
            self._rows[moved.key] = moved
            self._written.append(moved.key)
            self._add_move(moved, old_bucket)

    def _in_bucket(self, bucket: str) -> list[RecordRow]:
        """The records in `bucket` as this transaction will leave them so far.

        The bucket is read once per writer; then only its records and what this writer
        wrote are looked at (looking through every record the writer had read made a sweep
        archiving a school's years of cases quadratic: minutes at 10^5 records)."""
        keys = self._bucket_keys.get(bucket)
        if keys is None:
            keys = self._bucket_keys[bucket] = []
            for db in self.session.execute(sa.select(RECORDS).where(RECORDS.c.bucket == bucket)):
                key = (db.collection, db.record_id)
                if key not in self._db:
                    self._db[key] = _row(db)
                keys.append(key)
        rows: dict[Key, RecordRow] = {}
        for key in keys:
            row = self._rows.get(key) or self._db.get(key)
            if row is not None and row.bucket == bucket:
                rows[key] = row
        # Written by this writer, maybe not in the database yet (nor in the bucket read).
        rows.update((key, row) for key, row in self._rows.items() if row.bucket == bucket)
        return list(rows.values())
