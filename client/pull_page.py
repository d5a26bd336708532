"""A pull reply as the device reads it: most of a page is stored as it came.

Where msgspec is installed, a page is read without parsing each record's values and their
clock stamps: both stay the JSON text they came as, the store seals the values and keeps
the stamps as they are (instead of parsing two kilobytes per record only to encode them
again). The stamps are still read once, to check that each change's is an object of
strings and to find the newest of the page, which the device's clock must pass.
Without msgspec (a build whose wheel index lacks it) the page is parsed whole, and the
store encodes the values itself.
"""

from collections.abc import Iterator, Sequence
from typing import Any, overload

from client import codec

# What the store keeps of a pulled change: collection, record id, seq, the values' JSON
# text (bytes, or a buffer of the reply), the stamps' JSON text, deleted.
Row = tuple[str, str, int, Any, str, bool]


class PulledChanges(Sequence[dict[str, Any]]):
    """A page's changes as msgspec read them, and `latest`, the newest stamp among them.

    One by one, a change is the wire's dict, its `fields` and `field_hlc` as
    `codec.Encoded` text; `rows()` gives what the store keeps of each without making them.
    """

    def __init__(self, changes: list[Any], latest: str) -> None:
        self._changes = changes
        self.latest = latest

    def __len__(self) -> int:
        return len(self._changes)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [_as_dict(c) for c in self._changes[index]]
        return _as_dict(self._changes[index])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (_as_dict(c) for c in self._changes)

    def rows(self) -> list[Row]:
        return [
            (c.collection, c.record_id, c.seq, c.fields, str(c.field_hlc, "utf-8"), c.deleted)
            for c in self._changes
        ]


def _as_dict(change: Any) -> dict[str, Any]:
    return {
        "collection": change.collection,
        "record_id": change.record_id,
        "seq": change.seq,
        "fields": codec.Encoded(change.fields),
        "field_hlc": codec.Encoded(change.field_hlc),
        "deleted": change.deleted,
        "updated_by": change.updated_by,
        "updated_at": change.updated_at,
    }


_page_decoder: Any
_push_decoder: Any
_stamps_decoder: Any
try:
    import msgspec

    class _Change(msgspec.Struct, gc=False):  # nothing in it can hold a cycle
        collection: str
        record_id: str
        seq: int
        fields: msgspec.Raw
        field_hlc: msgspec.Raw
        deleted: bool
        updated_by: str | None = None
        updated_at: str | None = None

    class _Removed(msgspec.Struct):
        collection: str
        record_id: str

    class _Page(msgspec.Struct):
        changes: list[_Change]
        removed: list[_Removed]
        cursor: str | None
        has_more: bool

    _page_decoder = msgspec.json.Decoder(_Page)
    _push_decoder = msgspec.json.Decoder(dict[str, msgspec.Raw])  # each key's value unread
    _stamps_decoder = msgspec.json.Decoder(dict[str, str])
    _not_a_page: tuple[type[Exception], ...] = (msgspec.ValidationError, msgspec.DecodeError)
except ImportError:  # pragma: no cover - a build without msgspec
    _page_decoder = _push_decoder = _stamps_decoder = None
    _not_a_page = ()


def loads_pull_page(raw: bytes) -> Any:
    """A pull reply: a page whose `changes` are `PulledChanges` where msgspec is installed
    (else parsed, as `codec.loads` does); anything else (an error) as `codec.loads` reads it."""
    if _page_decoder is None:
        return codec.loads(raw)
    try:
        return _as_page(_page_decoder.decode(raw))
    except _not_a_page:
        return codec.loads(raw)


def loads_push_answer(raw: bytes) -> Any:
    """A push's answer, whose `pull` (the page of a pull asked with the push) is read as
    `loads_pull_page` reads a page; anything else as `codec.loads` reads it."""
    if _push_decoder is None:
        return codec.loads(raw)
    try:
        parts = _push_decoder.decode(raw)
        page = parts.pop("pull", None)
        read = {key: codec.loads(bytes(value)) for key, value in parts.items()}
        if page is not None:
            read["pull"] = None if bytes(page) == b"null" else _as_page(_page_decoder.decode(page))
    except _not_a_page:
        return codec.loads(raw)
    return read


def _as_page(page: Any) -> dict[str, Any]:
    """A decoded page as the wire's dict (raises `_not_a_page` for stamps not strings)."""
    stamps = _stamps_decoder.decode  # each change's: an object of strings
    latest = max((max(stamps(c.field_hlc).values(), default="") for c in page.changes), default="")
    return {
        "changes": PulledChanges(page.changes, latest),
        "removed": [{"collection": r.collection, "record_id": r.record_id} for r in page.removed],
        "cursor": page.cursor,
        "has_more": page.has_more,
    }
