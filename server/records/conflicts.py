"""Conflict records: every value that lost to a concurrent write is kept, with its clock,
author and device, in the bucket of the record it is about."""

import uuid

from server.records.rows import RecordRow
from server.records.state import WriterState
from server.sync.merge_rule import Loss


class Conflicts(WriterState):
    """A value that lost a race, kept in a conflict record."""

    def _keep_conflict(self, record: RecordRow, loss: Loss) -> None:
        # Named by what lost, so the same race found twice is one conflict record.
        conflict_id = uuid.uuid5(
            uuid.NAMESPACE_URL,
            f"carerounds:{record.collection}/{record.record_id}/{loss.field}/{loss.loser.hlc}",
        )
        if self.row("conflicts", conflict_id) is not None:
            return
        fields = {
            "collection": record.collection,
            "record_id": str(record.record_id),
            "field": loss.field,
            "winner": loss.winner.as_json(),
            "loser": loss.loser.as_json(),
            "settled_by": None,
        }
        conflict, _ = self.write_row(
            "conflicts",
            conflict_id,
            fields,
            hlc=self.clock.now(),
            author=None,
            device_id=None,
        )
        conflict.bucket = record.bucket
        conflict.scope_collection = record.collection
        conflict.created_by = record.created_by
