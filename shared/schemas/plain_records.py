"""A collection's records validated as plain dicts: the models' own rules, no model objects.

Validating a record through its model builds one object per nested model (a round: the
round and each of its checklist items), then dumps them back to JSON-ready data. This
module derives, from each model's own core schema, one that validates the same input
into dicts instead: every field schema, constraint, default and validator is the model's,
only each model node becomes a typed dict (`extra="forbid"` kept) and a model validator
is run on a read-only view of the dict. It is only a fast path: `collections` answers
with the model whenever this path refuses a value (to say why in the model's words) and
uses the model for any schema this module cannot derive exactly (`plain_validator` is then
None). A property test holds the two paths equal over every collection.
"""

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel
from pydantic_core import SchemaError, SchemaSerializer, SchemaValidator

from shared.schemas import types

# Schema types derived as they are (their nested schemas derived in turn).
_LEAVES = frozenset(
    {"any", "bool", "date", "datetime", "enum", "float", "int", "literal", "str", "uuid"}
)
_WRAPPERS = frozenset({"default", "dict", "list", "nullable", "union", "definitions"})
_NESTED = ("schema", "items_schema", "keys_schema", "values_schema")
# The keys of a model node and of its fields that this module knows how to derive.
_MODEL_KEYS = frozenset({"type", "cls", "schema", "config", "ref", "metadata"})
_MODEL_FALSE = ("custom_init", "root_model")
_CONFIG_KEYS = frozenset({"extra_fields_behavior", "title"})
_FIELDS_KEYS = frozenset({"type", "fields", "model_name", "computed_fields"})
_FIELD_KEYS = frozenset({"type", "schema", "metadata"})
_FUNCTION_KEYS = frozenset({"type", "function", "schema", "ref", "metadata"})


class NotDerivable(Exception):
    """The model's schema uses something this module does not derive."""


class _View(Mapping[str, Any]):
    """A validated dict read as the model's attributes, for its model validators."""

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Any:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def _on_view(check: Callable[[Any], Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A model's `mode="after"` validator run on the dict: it checks, the dict stays."""

    def run(values: dict[str, Any]) -> dict[str, Any]:
        view = _View(values)
        if check(view) is not view:  # it made another record: only the model can say which
            raise ValueError("a model validator that replaces its record")
        return values

    return run


# Python validators of `types` said as core constraints, checked without a call into Python:
# what the constraint accepts, the validator accepts too (and returns unchanged). Control
# characters: a lone surrogate never reaches the pattern (a `string_unicode` error).
NO_CONTROLS = {
    types.one_line: r"^[^\x00-\x1f\x7f-\x9f]*$",
    types.multi_line: r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$",
}
# A moment's own day is within the years when its instant is a day inside them (an offset
# is less than a day): stricter at the two ends, where the model path decides.
_MOMENTS = {
    "ge": datetime.combine(types.FIRST_DAY + timedelta(days=1), time(), UTC),
    "lt": datetime.combine(types.LAST_DAY, time(), UTC),
}
_BOUNDS = ("ge", "gt", "le", "lt")


def _in_core(check: Callable[[Any], Any], inner: Mapping[str, Any]) -> dict[str, Any] | None:
    """`inner` with `check` as its own constraints, when `check` is one `types` says so."""
    kind = inner.get("type")
    if check in NO_CONTROLS and kind == "str" and "pattern" not in inner:
        return {**inner, "pattern": NO_CONTROLS[check]}
    if any(bound in inner for bound in _BOUNDS):
        return None
    if check is types.within_years and kind == "date":
        return {**inner, "ge": types.FIRST_DAY, "le": types.LAST_DAY}
    if check is types.moment_within_years and kind == "datetime":
        return {**inner, **_MOMENTS}
    return None


def derive(schema: Mapping[str, Any]) -> dict[str, Any]:
    """`schema` (a model's core schema, or a part of one) with dicts for model objects."""
    return _derive(schema)


def _derive(schema: Mapping[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if kind == "model":
        return typed_dict(schema, _derive)
    if kind == "function-after":
        function = schema.get("function", {})
        if function.get("type") != "no-info" or set(schema) - _FUNCTION_KEYS:
            raise NotDerivable(f"a validator with {sorted(set(schema) - _FUNCTION_KEYS)}")
        inner = schema["schema"]
        check = function["function"]
        in_core = _in_core(check, inner)
        if in_core is not None and "ref" not in schema:
            return _derive(in_core)
        derived = _derive(inner)
        if inner.get("type") == "model":  # a model validator: it reads the model's attributes
            check = _on_view(check)
        after = {"type": "function-after", "function": {"type": "no-info", "function": check}}
        return {**after, "schema": derived, **({"ref": schema["ref"]} if "ref" in schema else {})}
    if kind == "definition-ref":
        return dict(schema)
    if kind in _LEAVES:
        if "serialization" in schema:
            raise NotDerivable(f"a {kind} with its own serializer")
        return dict(schema)
    if kind not in _WRAPPERS:
        raise NotDerivable(f"a {kind} schema")
    if "serialization" in schema:
        raise NotDerivable(f"a {kind} with its own serializer")
    derived = dict(schema)
    for key in _NESTED:
        if key in schema:
            derived[key] = _derive(schema[key])
    if kind == "union":
        derived["choices"] = [
            (_derive(c[0]), c[1]) if isinstance(c, tuple) else _derive(c) for c in schema["choices"]
        ]
    if kind == "definitions":
        derived["definitions"] = [_derive(d) for d in schema["definitions"]]
    return derived


def typed_dict(
    model: Mapping[str, Any], derive: Callable[[Mapping[str, Any]], dict[str, Any]]
) -> dict[str, Any]:
    """A model node as a typed dict of the same fields, each field's schema `derive`d."""
    config = model.get("config", {})
    fields = model["schema"]
    if (
        set(model) - _MODEL_KEYS - set(_MODEL_FALSE)
        or any(model.get(key) for key in _MODEL_FALSE)
        or set(config) - _CONFIG_KEYS
        or fields.get("type") != "model-fields"
        or set(fields) - _FIELDS_KEYS
        or fields.get("computed_fields")
    ):
        raise NotDerivable(f"model {model.get('cls')} has more than plain fields")
    derived: dict[str, Any] = {}
    for name, field in fields["fields"].items():
        if set(field) - _FIELD_KEYS:
            raise NotDerivable(f"field {name} has aliases or settings")
        inner = field["schema"]
        derived[name] = {
            "type": "typed-dict-field",
            "schema": derive(inner),
            "required": inner.get("type") != "default",
        }
    typed: dict[str, Any] = {
        "type": "typed-dict",
        "fields": derived,
        "extra_behavior": config.get("extra_fields_behavior", "ignore"),
    }
    if "ref" in model:
        typed["ref"] = model["ref"]
    return typed


class PlainValidator:
    """Validate a record of one collection into JSON-ready data (as `model_dump(mode="json")`
    of the model gives), or raise pydantic's `ValidationError`."""

    def __init__(self, model: type[BaseModel]) -> None:
        schema = _derive(model.__pydantic_core_schema__)
        self._validator = SchemaValidator(schema)
        self._serializer = SchemaSerializer(schema)

    def __call__(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        values = self._validator.validate_python(fields)
        dumped: dict[str, Any] = self._serializer.to_python(values, mode="json")
        return dumped


def plain_validator(model: type[BaseModel]) -> PlainValidator | None:
    """The fast path for `model`'s records; None when it cannot be derived exactly."""
    try:
        return PlainValidator(model)
    except (NotDerivable, SchemaError):  # SchemaError: a pattern the core does not take
        return None
