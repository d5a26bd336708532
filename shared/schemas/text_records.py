"""Records already in the form their JSON takes, validated without a dump.

`plain_records` validates a record into dicts of Python values (UUIDs, days, moments,
enum members), then dumps them to JSON-ready data. Most records a device sends are
already that data: each id, day and moment written as the model's own dump writes it
(`2026-11-29T08:15:30Z`, a lowercase id with hyphens). This module derives, from the
same core schema, one that accepts such a record only: an id, a day, a moment or an enum
must be a string in that form exactly, or the record is refused here (and goes on to
`plain_records`, then the model). What it accepts comes out as the model's dump would
give it, so no dump is made. Where a schema has anything this module does not know the
dump of (a value of any type, a moment without the years' bound, a validator it does not
know returns text), it derives nothing and `collections` uses `plain_records` alone. A
property test holds its output equal to the model's over every collection.
"""

import re
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

from pydantic import BaseModel
from pydantic_core import SchemaError, SchemaValidator

from shared.schemas import types
from shared.schemas.plain_records import NO_CONTROLS, NotDerivable, derive, typed_dict

# The forms the model's dump writes, within the years a day or a moment may name
# (`types.FIRST_DAY` to `types.LAST_DAY`: 2000 to 2099) and only real days of the calendar.
_YEAR = r"20[0-9]{2}"
_LEAP = r"20(?:[02468][048]|[13579][26])"  # 2000 to 2096, every fourth
_MONTH_DAY = (
    r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    r"|02-(?:0[1-9]|1[0-9]|2[0-8]))"
)
_DAY = rf"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP}-02-29)"
# A moment's day is its own (in its offset), which is what the model bounds. The dump
# writes UTC as Z, and a fraction of a second as six digits, none when it is zero.
_FRACTION = (  # six digits, not all zeros
    r"\.(?:[1-9][0-9]{5}|0[1-9][0-9]{4}|00[1-9][0-9]{3}|000[1-9][0-9]{2}|0000[1-9][0-9]|00000[1-9])"
)
_TIME = rf"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:{_FRACTION})?"
_OFFSET = r"(?:Z|[+-](?:(?:0[1-9]|1[0-9]|2[0-3]):[0-5][0-9]|00:(?:0[1-9]|[1-5][0-9])))"
DAY_TEXT = rf"^{_DAY}$"
MOMENT_TEXT = rf"^{_DAY}T{_TIME}{_OFFSET}$"
UUID_TEXT = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_BOUNDS = ("ge", "gt", "le", "lt")
_TEXT_KEYS = frozenset(
    {"type", "strict", "strip_whitespace", "min_length", "max_length", "pattern", "metadata"}
)


def _text(pattern: str) -> dict[str, Any]:
    return {"type": "str", "strict": True, "pattern": pattern}


def _finite(schema: Mapping[str, Any]) -> bool:
    """A float that can be neither infinite nor NaN (whose dump would differ)."""
    if schema.get("allow_inf_nan") is False:
        return True
    bounded = ("ge" in schema or "gt" in schema) and ("le" in schema or "lt" in schema)
    return bounded


def _default(value: Any) -> Any:
    """A default as the dump writes it."""
    if isinstance(value, Enum) and isinstance(value.value, str):
        return value.value
    if value is None or type(value) in (str, int, float, bool):
        return value
    raise NotDerivable(f"a default {value!r}")


def _derive_text(schema: Mapping[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if "serialization" in schema:  # (a `ref` is dropped: one to it would not be derived)
        raise NotDerivable(f"a {kind} with its own serializer")
    if kind == "model":
        return typed_dict(schema, _derive_text)
    if kind == "function-after":
        return _after(schema)
    if kind in ("str", "bool", "int"):
        if kind == "str" and set(schema) - _TEXT_KEYS:
            raise NotDerivable(f"text with {sorted(set(schema) - _TEXT_KEYS)}")
        return dict(schema)
    if kind == "float" and _finite(schema):
        return dict(schema)
    if kind == "uuid" and "version" not in schema:
        return _text(UUID_TEXT)
    if kind == "enum" and schema.get("sub_type") == "str" and "missing" not in schema:
        values = [member.value for member in schema["members"]]
        return _text("^(?:" + "|".join(re.escape(v) for v in values) + ")$")
    if kind == "default":
        if "default_factory" in schema:
            if schema["default_factory"] not in (dict, list):
                raise NotDerivable("a default made by a function")
            return {**schema, "schema": _derive_text(schema["schema"])}
        return {
            **schema,
            "default": _default(schema["default"]),
            "schema": _derive_text(schema["schema"]),
        }
    if kind == "nullable":
        return {**schema, "schema": _derive_text(schema["schema"])}
    if kind == "list":
        return {**schema, "items_schema": _derive_text(schema["items_schema"])}
    if kind == "dict":
        keys, values = schema["keys_schema"], schema["values_schema"]
        return {**schema, "keys_schema": _derive_text(keys), "values_schema": _derive_text(values)}
    raise NotDerivable(f"a {kind} schema")


def _after(schema: Mapping[str, Any]) -> dict[str, Any]:
    function, inner = schema.get("function", {}), schema["schema"]
    check = function.get("function")
    if function.get("type") != "no-info":
        raise NotDerivable("a validator with info")
    kind = inner.get("type")
    unbounded = not any(bound in inner for bound in _BOUNDS)
    if check is types.moment_within_years and kind == "datetime" and unbounded:
        if inner.get("tz_constraint") != "aware" or set(inner) - {"type", "tz_constraint"} - {
            "microseconds_precision"
        }:
            raise NotDerivable("a moment with more constraints")
        return _text(MOMENT_TEXT)
    if check is types.within_years and kind == "date" and unbounded and set(inner) == {"type"}:
        return _text(DAY_TEXT)
    if check in NO_CONTROLS and kind == "str" and "pattern" not in inner:
        return _derive_text({**inner, "pattern": NO_CONTROLS[check]})
    if check in NO_CONTROLS and kind == "str":
        return {**schema, "schema": _derive_text(inner)}
    if kind == "model":
        # A model validator reads the model's attributes: the record, once valid as text, is
        # checked by the dict path of the same model (validator included), which gives it
        # the values it would have had.
        whole = SchemaValidator(derive(schema))
        return {
            "type": "function-after",
            "function": {"type": "no-info", "function": _checked_by(whole)},
            "schema": _derive_text(inner),
        }
    raise NotDerivable(f"the validator {check!r}")


def _checked_by(whole: SchemaValidator) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def check(values: dict[str, Any]) -> dict[str, Any]:
        whole.validate_python(values)
        return values

    return check


class TextValidator:
    """Validate a record given in its JSON form into exactly what the model's dump gives,
    or raise (pydantic's `ValidationError`, whatever the reason)."""

    def __init__(self, model: type[BaseModel]) -> None:
        self._validate = SchemaValidator(_derive_text(model.__pydantic_core_schema__))

    def __call__(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = self._validate.validate_python(fields)
        return values


def text_validator(model: type[BaseModel]) -> TextValidator | None:
    """The text-only path for `model`'s records; None when it cannot be derived exactly."""
    try:
        return TextValidator(model)
    except (NotDerivable, SchemaError):  # SchemaError: a pattern the core does not take
        return None
