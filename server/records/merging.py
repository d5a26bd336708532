"""Merging a change into its record: the merge rule, the change log entry, the bucket
the record now lives in; moves and conflicts go to their own steps."""

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm.util import identity_key

from server.models import Record
from server.records.rows import RecordRow, as_uuid
from server.records.state import WriterState
from server.sync import scopes
from server.sync.merge_rule import IncomingChange, Loss, RecordState, apply
from shared import retention
from shared.merge import names_entries
from shared.schemas.collections import COLLECTIONS, SCHOOL_SETTINGS_ID

# What lives, and is archived, with a case: the collection of its case.
_CASE_OF = {follower: case for case, follower in scopes.ARCHIVED_CASES.items()}


class Merging(WriterState):
    """One validated change merged into its record, logged, and its record's bucket set."""

    def write(
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
    ) -> tuple[Record, list[Loss]]:
        """`write_row`, answered with a `Record`, for the administration's code."""
        mark = len(self._written)
        row, losses = self.write_row(
            collection,
            record_id,
            fields,
            hlc=hlc,
            author=author,
            device_id=device_id,
            base_seq=base_seq,
            deleted=deleted,
            change_id=change_id,
        )
        for key in self._written[mark:]:  # conflict records and moved records too
            if key != row.key and (
                key in self._records or identity_key(Record, key) in self.session.identity_map
            ):
                self._record(self._rows[key])
        return self._record(row), losses

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
    ) -> tuple[RecordRow, list[Loss]]:
        """Merge one validated change into its record, log it, keep what it made lose."""
        spec = COLLECTIONS[collection]
        old = self.row(collection, record_id)
        state = (
            RecordState(old.fields, old.field_hlc, old.field_meta, old.deleted)
            if old is not None
            else RecordState()
        )
        seq = self.next_seq()
        change = IncomingChange(fields, hlc, author, base_seq, seq, deleted)
        new_state, losses = apply(state, change, spec.map_fields)
        self._stamped.extend(new_state.stamps)
        if old is None:
            record = RecordRow(
                collection,
                record_id,
                new_state.fields,
                new_state.field_hlc,
                new_state.field_meta,
                new_state.deleted,
                seq,
                "",
                collection,
                author,
                self._now,
                author,
                self._now,
            )
        else:
            record = RecordRow(
                collection,
                record_id,
                new_state.fields,
                new_state.field_hlc,
                new_state.field_meta,
                new_state.deleted,
                seq,
                old.bucket,
                old.scope_collection,
                old.created_by,
                old.created_at,
                author,
                self._now,
            )
        if collection != "conflicts":
            record.bucket = self._bucket(record)
        self._rows[record.key] = record
        self._written.append(record.key)
        self._changes.append(
            {
                "seq": seq,
                "change_id": change_id or uuid.uuid4(),
                "collection": collection,
                "record_id": record_id,
                "user_id": author,
                "device_id": device_id,
                "hlc": hlc,
                "fields": self._logged(fields, new_state.fields if old is None else None),
                "deleted": deleted,
                "received_at": self._now,
            }
        )
        if old is not None and old.bucket and old.bucket != record.bucket:
            self._moved(record, old.bucket)
        elif scopes.archived(record.bucket):
            # Written where no phone reads it (an edit made offline to a case since
            # archived): the phones that read where it lived drop it again.
            self._add_move(record, scopes.live_bucket(record.bucket))
        for loss in losses:
            self._keep_conflict(record, loss)
        return record, losses

    @staticmethod
    def _logged(fields: Mapping[str, Any], first: dict[str, Any] | None) -> dict[str, Any]:
        """The values a change logs: the record's own dict when a first write kept them as
        they came (no map entry named apart, no empty map left out), so that they are
        encoded once for both rows; else a copy."""
        if first is None or len(first) != len(fields) or names_entries(fields):
            return dict(fields)
        return first

    def _bucket(self, record: RecordRow) -> str:
        case_bucket = None
        if record.collection in _CASE_OF:
            case = self.row(_CASE_OF[record.collection], as_uuid(record.fields.get("case_id")))
            case_bucket = case.bucket if case is not None else None
        return scopes.bucket_for(
            record.collection,
            record.record_id,
            record.fields,
            record.created_by,
            case_bucket,
            archive=self._archived(record),
        )

    def _archived(self, record: RecordRow) -> bool:
        """A case closed longer than the school keeps closed cases on phones."""
        if record.collection not in scopes.ARCHIVED_CASES or record.deleted:
            return False
        settings = self.live_row("school_settings", SCHOOL_SETTINGS_ID)
        days = retention.days_on_phones(settings.fields if settings is not None else {})
        return retention.closed_before(record.fields, record.field_hlc, self._now, days)
