"""Moves between buckets: a record whose bucket changed leaves a move behind (devices that
read the old bucket remove it), and what follows it (a case's follow-ups, conflict records
about it) moves with it."""

import sqlalchemy as sa

from server.records.rows import RECORDS, Key, RecordRow, _row
from server.records.state import WriterState


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
        # What lives where this record lives follows it: a case's follow-ups, and the
        # conflict records about any of them. Each gets a new number, so that the devices
        # that now read the bucket receive it.
        there: dict[Key, RecordRow] = {}
        for db in self.session.execute(sa.select(RECORDS).where(RECORDS.c.bucket == old_bucket)):
            key = (db.collection, db.record_id)
            if key not in self._db:
                self._db[key] = _row(db)
            current = self.row(*key)
            if current is not None:
                there[key] = current
        for key, pending in self._rows.items():
            there[key] = pending  # written by this writer, maybe not in the database yet
        for other in list(there.values()):
            if other.bucket != old_bucket:
                continue
            follows = (
                other.collection == "follow_ups"
                and record.collection == "sick_cases"
                and other.fields.get("case_id") == str(record.record_id)
            ) or (
                other.collection == "conflicts"
                and other.fields.get("record_id") == str(record.record_id)
                and other.scope_collection == record.collection
            )
            if follows:
                moved = RecordRow(
                    other.collection,
                    other.record_id,
                    other.fields,
                    other.field_hlc,
                    other.field_meta,
                    other.deleted,
                    self.next_seq(),
                    record.bucket,
                    other.scope_collection,
                    other.created_by,
                    other.created_at,
                    other.updated_by,
                    other.updated_at,
                )
                self._rows[moved.key] = moved
                self._written.append(moved.key)
                self._add_move(moved, old_bucket)
