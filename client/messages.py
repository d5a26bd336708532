"""Refused values said in the user's language, naming the field by its label.

The schemas say what broke as pydantic error types on field paths (`shared.schemas.
collections.Problem`); a person reads "浓度须大于 0。", never `items.x.concentration:
Input should be greater than 0`. A change the server refused is checked again here, so its
reason reads the same way as a refusal on the phone.
"""

from collections.abc import Mapping
from typing import Any

from shared.i18n import t
from shared.schemas.collections import (
    COLLECTIONS,
    InvalidValue,
    Problem,
    UnknownField,
    validate_field,
    validate_record,
)

# Pydantic's error types (and the schemas' own) → the catalogue's message (`msg.<name>`).
_SAID = {
    "greater_than": "greater_than",
    "greater_than_equal": "greater_than_equal",
    "less_than": "less_than",
    "less_than_equal": "less_than_equal",
    "string_too_long": "too_long",
    "too_long": "too_many",
    "string_too_short": "missing",
    "too_short": "too_few",
    "missing": "missing",
    "float_parsing": "number",
    "float_type": "number",
    "int_parsing": "number",
    "int_type": "number",
    "finite_number": "number",
    "int_from_float": "whole_number",
    "enum": "choice",
    "literal_error": "choice",
    "uuid_parsing": "choice",
    "uuid_type": "choice",
    "date_parsing": "date",
    "date_type": "date",
    "date_from_datetime_parsing": "date",
    "date_from_datetime_inexact": "date",
    "datetime_parsing": "time",
    "datetime_type": "time",
    "datetime_from_date_parsing": "time",
    "timezone_aware": "time",
    "string_pattern_mismatch": "pattern",
    "bool_parsing": "yes_no",
    "bool_type": "yes_no",
    "percent_over_100": "percent_over_100",
    "low_above_high": "low_above_high",
    "closed_needs_return_day": "closed_needs_return_day",
    "fever_over_checked": "fever_over_checked",
    "control_characters": "control_characters",
    "date_out_of_range": "date_out_of_range",
}
_LIMITS = ("gt", "ge", "lt", "le", "max_length", "min_length")


def field_label(collection: str, path: tuple[str, ...] | list[str], lang: str) -> str:
    """The label of the field at `path` (a map entry's own id and list positions skipped):
    the deepest part with a label of its own (`field.part.concentration`), else the
    collection's field (`field.disinfection_rounds.items`), else the collection's name."""
    names = [p for p in path if not p.isdigit()]
    spec = COLLECTIONS.get(collection)
    if names and spec is not None and names[0] in spec.map_fields:
        del names[1:2]  # the entry's id (an item's key, a date)
    for name in reversed(names[1:]):
        label = t(f"field.part.{name}", lang)
        if label != f"field.part.{name}":
            return label
    if names:
        label = t(f"field.{collection}.{names[0]}", lang)
        if label != f"field.{collection}.{names[0]}":
            return label
    return t(f"collection.{collection}", lang)


def _limit(ctx: Mapping[str, Any]) -> str:
    for name in _LIMITS:
        if name in ctx:
            value = ctx[name]
            return f"{value:g}" if isinstance(value, float) else str(value)
    return ""


def problem_text(collection: str, problem: Problem, lang: str) -> str:
    path, kind, ctx = problem
    said = _SAID.get(kind, "invalid")
    if kind == "string_too_short" and ctx.get("min_length", 1) > 1:
        said = "too_short"
    text = t(f"msg.{said}", lang)
    return text.format(field=field_label(collection, path, lang), limit=_limit(ctx))


def invalid_text(exc: InvalidValue | UnknownField, lang: str) -> str:
    """What was wrong, every problem once, in `lang`."""
    problems = getattr(exc, "problems", ())
    if not problems:
        return t("msg.invalid_change", lang)
    collection = getattr(exc, "collection", "")
    said = dict.fromkeys(problem_text(collection, p, lang) for p in problems)
    return " ".join(said)


def rejected_text(
    collection: str,
    fields: Mapping[str, Any],
    code: str,
    detail: str,
    lang: str,
    record: Mapping[str, Any] | None = None,
) -> str:
    """The reason the server gave for refusing a change, in `lang`: its values are checked
    again here, alone and in the phone's copy of the record (`record`, the change applied);
    what only the server can tell (a reference, a permission) is said by code, naming the
    field the server's detail names."""
    spec = COLLECTIONS.get(collection)
    if spec is None:
        return t("msg.invalid_change", lang)
    if code == "invalid_value":
        for key, value in fields.items():
            try:
                validate_field(spec, key, value)
            except InvalidValue as exc:
                return invalid_text(exc, lang)
            except UnknownField:
                return t("msg.invalid_change", lang)
        whole = _folded(fields, record or {})
        if record or set(whole) >= _required(collection):
            try:
                validate_record(spec, whole)
            except InvalidValue as exc:
                return invalid_text(exc, lang)
            except UnknownField:
                pass
    named = _named_field(collection, detail)
    gone = code == "invalid_value" and " record " in detail and ": no " in detail
    said = t("msg.refused.gone" if gone else f"msg.refused.{code}", lang)
    if said == f"msg.refused.{code}":
        said = t("msg.refused.invalid_value", lang)
    field = field_label(collection, named, lang) if named else t(f"collection.{collection}", lang)
    return said.format(field=field)


def _required(collection: str) -> set[str]:
    schema = COLLECTIONS[collection].schema
    return {name for name, info in schema.model_fields.items() if info.is_required()}


def _folded(fields: Mapping[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
    """The record as the change would leave it (map entries, `items.x`, into their maps),
    for a whole-record check."""
    whole = {k: dict(v) if isinstance(v, dict) else v for k, v in record.items()}
    for key, value in fields.items():
        name, dot, entry = key.partition(".")
        if dot:
            whole.setdefault(name, {})[entry] = value
        else:
            whole[name] = value
    return whole


def _named_field(collection: str, detail: str) -> list[str]:
    """The first field path the server's detail names ("The record would break:
    fever_count: ..."), if any."""
    fields = COLLECTIONS[collection].schema.model_fields
    for part in detail.split(": "):
        path = part.strip().strip("'\"").split(".")
        if path[0] in fields:
            return path
    return []
