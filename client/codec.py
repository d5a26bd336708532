"""JSON on the device: orjson where it is installed (desktop and phone builds), else the
standard library (the browser build, whose Python has no orjson wheel).

Both give compact UTF-8 JSON that reads back to equal values. `loads` also reads what the
standard library wrote before (stores from earlier versions).

A pull page is read by msgspec where it is installed, leaving each record's values as the
JSON text they came as (`Encoded`): the store seals that text as it is, instead of parsing
a kilobyte of values per record only to encode them again. Without msgspec (a build whose
wheel index lacks it) the page is parsed whole, and the store encodes the values itself.
"""

import json
from collections.abc import Callable
from typing import Any


def _std_dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _std_loads(raw: str | bytes) -> Any:
    return json.loads(raw)


_fast_dumps: Callable[[Any], bytes] | None
_fast_loads: Callable[[str | bytes], Any] | None
try:
    import orjson

    _fast_dumps, _fast_loads = orjson.dumps, orjson.loads
except ImportError:  # pragma: no cover - the browser build
    _fast_dumps = _fast_loads = None


class Encoded(bytes):
    """A JSON document kept as its text (a pulled record's values)."""


_page_decoder: Any
try:
    import msgspec

    class _Change(msgspec.Struct):
        collection: str
        record_id: str
        seq: int
        fields: msgspec.Raw
        field_hlc: dict[str, str]
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
    _not_a_page: tuple[type[Exception], ...] = (msgspec.ValidationError, msgspec.DecodeError)
except ImportError:  # pragma: no cover - a build without msgspec
    _page_decoder = None
    _not_a_page = ()


def loads_pull_page(raw: bytes) -> Any:
    """A pull reply: a page with each change's `fields` as `Encoded` text where msgspec is
    installed (else parsed, as `loads` does); anything else (an error) as `loads` reads it."""
    if _page_decoder is None:
        return loads(raw)
    try:
        page = _page_decoder.decode(raw)
    except _not_a_page:
        return loads(raw)
    return {
        "changes": [
            {
                "collection": c.collection,
                "record_id": c.record_id,
                "seq": c.seq,
                "fields": Encoded(c.fields),
                "field_hlc": c.field_hlc,
                "deleted": c.deleted,
                "updated_by": c.updated_by,
                "updated_at": c.updated_at,
            }
            for c in page.changes
        ],
        "removed": [{"collection": r.collection, "record_id": r.record_id} for r in page.removed],
        "cursor": page.cursor,
        "has_more": page.has_more,
    }


def dumps(value: Any) -> bytes:
    """`value` as compact UTF-8 JSON."""
    if _fast_dumps is not None:
        try:
            return _fast_dumps(value)
        except TypeError:
            pass  # what only the standard library takes: keys that are not strings, huge ints
    return _std_dumps(value)


def loads(raw: str | bytes) -> Any:
    """The value of a JSON document."""
    if _fast_loads is not None:
        try:
            return _fast_loads(raw)
        except ValueError:
            pass  # NaN or Infinity, which the standard library writes and orjson refuses
    return _std_loads(raw)
