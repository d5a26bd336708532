"""The merge rule as pure functions: every field and map entry is an LWW register by HLC.

Client and server run this same code.

A record is held as its values (`fields`, map fields whole) and the clock of each register
(`field_hlc`, keyed as in a push: `name` or `map.entry`). Applying the same set of
changes in any order gives the same record, because each register keeps the value with
the greatest HLC and HLCs never tie across devices.
"""

from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.schemas.collections import split_field_key


@dataclass
class MergeOutcome:
    fields: dict[str, Any]
    field_hlc: dict[str, str]
    # Registers the change won, and those where an existing newer value beat it.
    won: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)


def registers(
    incoming: Mapping[str, Any], map_fields: Collection[str]
) -> Iterator[tuple[str, Any]]:
    """The single registers a change writes: a whole map counts as one write per entry."""
    for key, value in incoming.items():
        name, entry = split_field_key(key)
        if entry is None and name in map_fields and isinstance(value, Mapping):
            for item, item_value in value.items():
                yield f"{name}.{item}", item_value
        else:
            yield key, value


def names_entries(keys: Iterable[str]) -> bool:
    """Whether a key names a map entry (`items.a`): one search of the keys joined, for a
    change's few keys (a dot cannot come from the separator)."""
    return "." in "\0".join(keys)


def read_register(fields: Mapping[str, Any], key: str) -> Any:
    name, entry = split_field_key(key)
    if entry is None:
        return fields.get(name)
    container = fields.get(name)
    return container.get(entry) if isinstance(container, Mapping) else None


def entry_into(fields: dict[str, Any], name: str) -> dict[str, Any]:
    """The map `name` of `fields` to write an entry into; a map in place of anything else
    (a null, say, written earlier in the same change)."""
    container = fields.get(name)
    if not isinstance(container, dict):
        container = fields[name] = {}
    return container


def merge(
    fields: Mapping[str, Any],
    field_hlc: Mapping[str, str],
    incoming: Mapping[str, Any],
    hlc: str,
    map_fields: Collection[str],
) -> MergeOutcome:
    """Apply one change stamped `hlc` to a record; the inputs are left untouched."""
    out = MergeOutcome(
        fields={
            k: (dict(v) if k in map_fields and isinstance(v, Mapping) else v)
            for k, v in fields.items()
        },
        field_hlc=dict(field_hlc),
    )
    for key, value in registers(incoming, map_fields):
        current = out.field_hlc.get(key)
        if current is not None and current >= hlc:
            out.lost.append(key)
            continue
        out.field_hlc[key] = hlc
        name, entry = split_field_key(key)
        if entry is None:
            out.fields[name] = value
        else:
            entry_into(out.fields, name)[entry] = value
        out.won.append(key)
    return out
