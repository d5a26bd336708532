"""JSON on the device: orjson where it is installed (desktop and phone builds), else the
standard library (the browser build, whose Python has no orjson wheel).

Both give compact UTF-8 JSON that reads back to equal values. `loads` also reads what the
standard library wrote before (stores from earlier versions).

A pulled record's values may be kept as the JSON text they came as (`Encoded`, see
`client.pull_page`).
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
    """A JSON document kept as its text (a pulled record's values, or their stamps)."""

    __slots__ = ()  # no __dict__: made in half the time


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
