"""The server's merge rule: LWW per register (shared.merge) plus the conflicts it keeps.

Pure functions over values, no database: a change is merged into a record's state, and
every value that loses to a concurrent one (written by another device after the change's
`base_seq`, or arriving with an older clock) comes back as a `Loss` to keep in a
conflict record. Nothing anyone typed is dropped silently.
"""

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from shared.hlc import parse
from shared.merge import entry_into, merge, read_register, registers

DELETED = "deleted"  # the register name a delete is recorded under in field_meta


@dataclass(frozen=True)
class Side:
    """One value of a register with where it came from."""

    value: Any
    hlc: str
    author: str | None
    device: str

    def as_json(self) -> dict[str, Any]:
        return {"value": self.value, "hlc": self.hlc, "author": self.author, "device": self.device}


@dataclass(frozen=True)
class Loss:
    """A register where two devices raced: the winner stays, the loser is kept aside."""

    field: str
    winner: Side
    loser: Side


@dataclass(frozen=True)
class IncomingChange:
    fields: Mapping[str, Any]
    hlc: str
    author: uuid.UUID | None
    base_seq: int | None
    seq: int
    deleted: bool = False

    @property
    def device(self) -> str:
        return parse(self.hlc).node


@dataclass
class RecordState:
    fields: dict[str, Any] = field(default_factory=dict)
    field_hlc: dict[str, str] = field(default_factory=dict)
    field_meta: dict[str, Any] = field(default_factory=dict)
    deleted: bool = False
    # The `field_meta` entries the change made (one dict may stand for many registers):
    # the plan's numbers in them move when the plan is renumbered.
    stamps: list[dict[str, Any]] = field(default_factory=list, compare=False)


# A push's changes have one author: its id written once (a UUID's text is made in Python).
_text_of = lru_cache(maxsize=256)(str)


def _side(state: RecordState, key: str, value: Any) -> Side:
    meta = state.field_meta.get(key, {})
    hlc = state.field_hlc.get(key) or meta.get("hlc", "")
    device = meta.get("device") or (parse(hlc).node if hlc else "")
    return Side(value, hlc, meta.get("by"), device)


def _raced(state: RecordState, key: str, change: IncomingChange, device: str) -> bool:
    """Another device wrote `key` after what this change's author had seen."""
    meta = state.field_meta.get(key)
    if meta is None:
        return False
    other = meta.get("device")
    if other is None:
        other = parse(state.field_hlc.get(key) or meta.get("hlc", "")).node
    unseen = change.base_seq is None or int(meta["seq"]) > change.base_seq
    return other != device and unseen


def apply(
    state: RecordState, change: IncomingChange, map_fields: Collection[str]
) -> tuple[RecordState, list[Loss]]:
    """Merge `change` into `state`; returns the new state and the values that lost."""
    author = _text_of(change.author) if change.author else None
    device = change.device  # parsed once: it is compared for every register
    if not (state.fields or state.field_hlc or state.field_meta or state.deleted):
        return _first_write(change, map_fields, author, device), []
    return _merge_change(state, change, map_fields, author, device)


def _merge_change(
    state: RecordState,
    change: IncomingChange,
    map_fields: Collection[str],
    author: str | None,
    device: str,
) -> tuple[RecordState, list[Loss]]:
    incoming = Side(None, change.hlc, author, device)
    losses: list[Loss] = []
    for key, value in registers(change.fields, map_fields):
        current = state.field_hlc.get(key)
        if current is None:
            continue
        old = read_register(state.fields, key)
        if old == value:
            continue
        if current >= change.hlc:
            # The change lost. Its author's own newer value beating it is no loss.
            if parse(current).node != device:
                losses.append(Loss(key, _side(state, key, old), _with(incoming, value)))
        elif _raced(state, key, change, device):
            losses.append(Loss(key, _with(incoming, value), _side(state, key, old)))
    if (
        state.deleted
        and not change.deleted
        and change.fields
        and _raced(state, DELETED, change, device)
    ):
        # An edit of a record another device deleted meanwhile: the delete stands, and the
        # edit is kept beside it.
        losses.append(
            Loss(DELETED, _side(state, DELETED, True), _with(incoming, dict(change.fields)))
        )

    merged = merge(state.fields, state.field_hlc, change.fields, change.hlc, map_fields)
    meta = dict(state.field_meta)
    stamps = []
    for key in merged.won:
        if key in meta and read_register(state.fields, key) == read_register(merged.fields, key):
            # The same value written again: whoever wrote it first still owns it, so a later
            # overwrite by someone who never saw it is still a conflict.
            continue
        meta[key] = {"seq": change.seq, "by": author, "device": device}
        stamps.append(meta[key])
    deleted = state.deleted
    if change.deleted and not deleted:
        deleted = True
        meta[DELETED] = {"seq": change.seq, "by": author, "hlc": change.hlc}
        stamps.append(meta[DELETED])
    new_state = RecordState(merged.fields, merged.field_hlc, meta, deleted, stamps)
    return new_state, losses


def _first_write(
    change: IncomingChange, map_fields: Collection[str], author: str | None, device: str
) -> RecordState:
    """`apply` to a record nobody has written: every register wins, nothing can be lost.
    The same outcome as the general path (a test holds them equal), in one pass. Every
    register's `field_meta` entry is the one dict: the change wrote them all."""
    fields: dict[str, Any] = {}
    field_hlc: dict[str, str] = {}
    meta: dict[str, Any] = {}
    hlc, seq = change.hlc, change.seq
    stamp = {"seq": seq, "by": author, "device": device}
    # The same register twice in one change (`items` and `items.a`): the first stands.
    entry_keys = False  # whether a key named a map entry yet (`items.a`)
    for key, value in change.fields.items():
        name, dot, entry = key.partition(".")
        if dot:
            entry_keys = True
            if key not in field_hlc:
                field_hlc[key] = hlc
                meta[key] = stamp
                entry_into(fields, name)[entry] = value
        elif name in map_fields and not entry_keys and type(value) is dict:
            # A whole map before any entry key (the usual new record): none of its entries
            # is written yet, so all of them go in at once, in their order.
            registers = [f"{name}.{item}" for item in value]
            field_hlc.update(dict.fromkeys(registers, hlc))
            meta.update(dict.fromkeys(registers, stamp))
            if value:
                fields[name] = dict(value)
        elif name in map_fields and isinstance(value, Mapping):
            entries = None  # the map, found (or made) at its first entry written
            for item, item_value in value.items():
                register = f"{name}.{item}"
                if register not in field_hlc:
                    field_hlc[register] = hlc
                    meta[register] = stamp
                    if entries is None:
                        entries = entry_into(fields, name)
                    entries[item] = item_value
        elif key not in field_hlc:
            field_hlc[key] = hlc
            meta[key] = stamp
            fields[name] = value
    stamps = [stamp]
    if change.deleted:
        meta[DELETED] = {"seq": seq, "by": author, "hlc": hlc}
        stamps.append(meta[DELETED])
    return RecordState(fields, field_hlc, meta, change.deleted, stamps)


def _with(side: Side, value: Any) -> Side:
    return Side(value, side.hlc, side.author, side.device)
