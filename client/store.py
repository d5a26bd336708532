"""The device store as the sync engine and the app state see it.

`PlainStore` (plain SQLite) implements it today; the encrypted store implements the same
interface, so the engine never knows which one it runs on.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from client import codec


@dataclass(frozen=True)
class LocalRecord:
    collection: str
    record_id: str
    fields: dict[str, Any]
    field_hlc: dict[str, str]
    deleted: bool
    # The last server change number this device has seen for the record (None: never synced).
    seq: int | None


@dataclass(frozen=True)
class OutboxEntry:
    """A local change waiting to be pushed, exactly as it will go on the wire."""

    change_id: str
    collection: str
    record_id: str
    hlc: str
    base_seq: int | None
    fields: dict[str, Any]
    deleted: bool

    def as_wire(self) -> dict[str, Any]:
        return {
            "change_id": self.change_id,
            "collection": self.collection,
            "record_id": self.record_id,
            "hlc": self.hlc,
            "base_seq": self.base_seq,
            "fields": self.fields,
            "deleted": self.deleted,
        }


@dataclass(frozen=True)
class EncodedEntry:
    """A pending change as read to be sent: its values left as the JSON text they were
    stored as (opened, not parsed), which goes into the request as it is."""

    change_id: str
    collection: str
    record_id: str
    hlc: str
    base_seq: int | None
    fields_json: bytes
    deleted: bool

    def entry(self) -> OutboxEntry:
        """The change with its values parsed."""
        return OutboxEntry(
            change_id=self.change_id,
            collection=self.collection,
            record_id=self.record_id,
            hlc=self.hlc,
            base_seq=self.base_seq,
            fields=codec.loads(self.fields_json),
            deleted=self.deleted,
        )

    def wire_json(self) -> bytes:
        """The change on the wire (`OutboxEntry.as_wire`), as JSON."""
        head = codec.dumps(
            {
                "change_id": self.change_id,
                "collection": self.collection,
                "record_id": self.record_id,
                "hlc": self.hlc,
                "base_seq": self.base_seq,
                "deleted": self.deleted,
            }
        )
        return head[:-1] + b',"fields":' + self.fields_json + b"}"


@dataclass(frozen=True)
class RejectedChange:
    """A change the server refused, kept for the user to fix or discard deliberately."""

    entry: OutboxEntry
    code: str
    message: str
    rejected_at: str


@dataclass(frozen=True)
class PushOutcome:
    change_id: str
    status: str  # applied | duplicate | conflict | rejected
    seq: int | None = None
    code: str | None = None
    message: str | None = None


class Store(Protocol):
    """What a device store does; every method is one transaction."""

    device_id: str

    def edit(
        self,
        collection: str,
        record_id: str,
        fields: dict[str, Any],
        *,
        deleted: bool = False,
    ) -> OutboxEntry:
        """Apply a local edit and queue it for the server, in one transaction."""

    def get(self, collection: str, record_id: str) -> LocalRecord | None: ...

    def records(self, collection: str, *, include_deleted: bool = False) -> list[LocalRecord]: ...

    def pending(self, limit: int, after: str | None = None) -> list[OutboxEntry]:
        """The oldest changes not yet confirmed by the server, in the order they were made
        (those made after the pending change `after`, if given)."""

    def pending_encoded(self, limit: int, after: str | None = None) -> list[EncodedEntry]:
        """`pending`, each change's values as their JSON text (to send them as they are)."""

    def pending_count(self) -> int: ...

    def pending_records(self) -> int: ...

    def record_push_outcomes(
        self, outcomes: Sequence[PushOutcome], sent: Sequence[OutboxEntry | EncodedEntry] = ()
    ) -> None:
        """Drop confirmed changes from the outbox; set rejected ones aside with the reason.

        `sent` may give the entries as `pending` (or `pending_encoded`) returned them, to
        save reading them again.
        """

    def apply_pull_page(
        self,
        changes: Iterable[dict[str, Any]],
        removed: Iterable[dict[str, Any]],
        cursor: str | None,
    ) -> None:
        """Take one pulled page: server state, purges and the new cursor, atomically."""

    def cursor(self) -> str | None: ...

    def reset_cursor(self) -> None: ...

    def rejected(self) -> list[RejectedChange]: ...

    def discard_rejected(self, change_id: str) -> None: ...

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str | None) -> None: ...

    def wipe(self) -> None:
        """Destroy everything stored for this user on this device."""
