"""What a disinfection round amounts to, by the checklist's items in use, run alike on
phones and the server (whatever a client says of its own round).

- An item counts as **done** when ticked, **excused** when not ticked but given a reason
  (`SkipReason`), and **remains** otherwise. Only the checklist's items in use count;
  a retired item's tick is history.
- A round is **complete** when nothing remains. A round marked completed with items
  remaining is **incomplete**: the area is still due, and the reports say so.
- A dose other than the one prescribed, and a reading outside its allowed range, are
  accepted and **flagged**, for the cleaner at once and for the lead in the reports.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Fields = Mapping[str, Any]


def in_use(items: Mapping[str, Fields]) -> list[tuple[str, Fields]]:
    """The items on the checklist (not retired), in order: (key, item)."""
    return sorted(
        ((key, item) for key, item in items.items() if not item.get("retired")),
        key=lambda kv: (kv[1].get("order", 0), kv[0]),
    )


@dataclass(frozen=True)
class Flag:
    """A recorded value the lead should see: `dose` (not the prescribed concentration) or
    `reading` (outside the allowed range)."""

    item_id: str
    kind: str
    value: float
    unit: str
    expected: str  # what was asked, as "500" or "-25 ~ -15"


@dataclass(frozen=True)
class RoundTally:
    items_total: int
    items_done: int
    items_excused: int
    remaining: tuple[str, ...]  # item ids, in checklist order
    flags: tuple[Flag, ...]

    @property
    def complete(self) -> bool:
        return not self.remaining


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def dose_flag(item_id: str, asked: Fields | None, used: Fields | None) -> Flag | None:
    """A flag when the concentration used is not the one prescribed (or in another unit)."""
    if not asked or not used:
        return None
    value = _number(used.get("concentration"))
    prescribed = _number(asked.get("concentration"))
    if value is None or prescribed is None:
        return None
    unit = str(asked.get("unit") or "mg_per_l")
    if abs(value - prescribed) < 1e-9 and str(used.get("unit") or unit) == unit:
        return None
    return Flag(item_id, "dose", value, str(used.get("unit") or unit), f"{prescribed:g}")


def reading_flag(item_id: str, asked: Fields | None, value: Any) -> Flag | None:
    """A flag when a reading falls outside the range the item allows."""
    reading = _number(value)
    if not asked or reading is None:
        return None
    low, high = _number(asked.get("low")), _number(asked.get("high"))
    if (low is None or reading >= low) and (high is None or reading <= high):
        return None
    expected = f"{'' if low is None else f'{low:g}'} ~ {'' if high is None else f'{high:g}'}"
    return Flag(item_id, "reading", reading, str(asked.get("unit") or ""), expected.strip())


def item_flags(item_id: str, item: Fields, entry: Fields) -> list[Flag]:
    """What one recorded item raises against what its checklist line asks."""
    flags = [
        dose_flag(item_id, item.get("dosage"), entry.get("dosage")),
        reading_flag(item_id, item.get("reading"), entry.get("reading")),
    ]
    return [f for f in flags if f is not None]


def tally_round(
    checklist_items: Mapping[str, Fields], round_items: Mapping[str, Fields]
) -> RoundTally:
    """A round's items done, excused and remaining, and its flags, against the checklist."""
    done = excused = 0
    remaining: list[str] = []
    flags: list[Flag] = []
    used = in_use(checklist_items)
    for item_id, item in used:
        entry = round_items.get(item_id) or {}
        if entry.get("done"):
            done += 1
            flags += item_flags(item_id, item, entry)
        elif entry.get("skipped"):
            excused += 1
        else:
            remaining.append(item_id)
    return RoundTally(len(used), done, excused, tuple(remaining), tuple(flags))


def round_checklist(
    round_fields: Fields, areas: Mapping[str, Fields], templates: Mapping[str, Fields]
) -> Mapping[str, Fields]:
    """The checklist items a round is held to: its area's checklist (none if unknown)."""
    area = areas.get(str(round_fields.get("area_id"))) or {}
    template = templates.get(str(area.get("checklist_template_id"))) or {}
    items: Mapping[str, Fields] = template.get("items") or {}
    return items


def tally_of(
    areas: Mapping[str, Fields], templates: Mapping[str, Fields]
) -> Callable[[Fields], RoundTally]:
    """`round fields → RoundTally` for one school's areas and checklists."""

    def tally(round_fields: Fields) -> RoundTally:
        return tally_round(
            round_checklist(round_fields, areas, templates), round_fields.get("items") or {}
        )

    return tally


def completeness(
    areas: Mapping[str, Fields], templates: Mapping[str, Fields]
) -> Callable[[Fields], bool]:
    """`round fields → whether the round leaves nothing undone` (for `schedule.round_days`)."""
    tally = tally_of(areas, templates)
    return lambda round_fields: tally(round_fields).complete


def flags_of(rounds: Iterable[Fields], tally: Callable[[Fields], RoundTally]) -> list[Flag]:
    return [flag for fields in rounds for flag in tally(fields).flags]
