"""A checklist as the lead types it: one item per line, in order, and the map entries that
turn a checklist's items into edited lines. A line reads

    拖地 | Mop the floor [含氯消毒液 500 mg/L]
    冷库温度 | Cold room temperature [读数 -25~-15 °C]

the English wording after "|" (optional); "[disinfectant strength unit]" at the end asks
the cleaner to record what they used, "[读数 low~high unit]" (or "[reading ...]") a
reading, flagged when outside the range (either bound may be left out)."""

import re
from collections.abc import Mapping
from typing import Any

from client.numbers import reading
from shared.rounds import in_use

# A checklist line that asks for the disinfectant used: "拖地 [含氯消毒液 500 mg/L]".
DOSAGE_LINE = re.compile(
    r"^(?P<label>.+?)\s*\[(?P<product>.+?)\s+(?P<strength>[\d.,]+)\s*(?P<unit>mg/L|%)\]$"
)
# A checklist line that asks for a reading: "冷库温度 [读数 -25~-15 °C]".
READING_LINE = re.compile(
    r"^(?P<label>.+?)\s*\[\s*(?:读数|reading)\s*"
    r"(?:(?P<low>-?[\d.]+)?\s*[~～]\s*(?P<high>-?[\d.]+)?)?\s*(?P<unit>[^\]\s\d~～-][^\]\s]*)\s*\]$",
    re.IGNORECASE,
)


def checklist_lines(text: str) -> list[dict[str, Any]]:
    """One item per line, in order; "[disinfectant strength unit]" at the end of a line
    asks the cleaner to record what they used for it."""
    items: list[dict[str, Any]] = []
    for line in (raw.strip() for raw in text.splitlines()):
        if not line:
            continue
        item: dict[str, Any] = {"zh": line, "order": len(items)}
        asked = DOSAGE_LINE.match(line)
        measured = READING_LINE.match(line)
        if asked:
            item["zh"] = asked["label"]
            item["dosage"] = {
                "disinfectant": asked["product"],
                "concentration": reading(asked["strength"], float),
                "unit": "percent" if asked["unit"] == "%" else "mg_per_l",
            }
        elif measured:
            item["zh"] = measured["label"]
            item["reading"] = {
                "unit": measured["unit"],
                "low": reading(measured["low"], float),
                "high": reading(measured["high"], float),
            }
        zh, bar, en = item["zh"].partition("|")
        item["zh"] = zh.strip() or item["zh"]
        if bar and en.strip():
            item["en"] = en.strip()
        items.append(item)
    return items


def checklist_items(text: str) -> dict[str, dict[str, Any]]:
    """A new checklist's items map, keyed item01, item02, ..."""
    return {f"item{n:02d}": item for n, item in enumerate(checklist_lines(text), 1)}


def checklist_text(items: dict[str, dict[str, Any]]) -> str:
    """A checklist's items (those not retired) as the lines the lead types."""
    return "\n".join(
        item["zh"] + (f" | {item['en']}" if item.get("en") else "") + dosage_text(item)
        for _key, item in in_use(items)
    )


def dosage_text(item: Mapping[str, Any]) -> str:
    """ " [含氯消毒液 500 mg/L]" for an item that asks for its dosage, " [读数 -25~-15 °C]"
    for one that asks for a reading; "" otherwise."""
    dosage, asked = item.get("dosage"), item.get("reading")
    if dosage:
        unit = "%" if dosage.get("unit") == "percent" else " mg/L"
        return f" [{dosage['disinfectant']} {dosage['concentration']:g}{unit}]"
    if asked:
        low, high = asked.get("low"), asked.get("high")
        span = "" if low is None and high is None else f"{_bound(low)}~{_bound(high)} "
        return f" [读数 {span}{asked['unit']}]"
    return ""


def _bound(value: Any) -> str:
    return "" if value is None else f"{value:g}"


def edited_items(items: dict[str, dict[str, Any]], text: str) -> dict[str, dict[str, Any]]:
    """The map entries that turn a checklist's `items` into the typed lines.

    A line keeps the key of the item it still is, so that rounds already recorded keep
    pointing at the right thing: first the item with the same wording (moved lines), then
    the item that stood at the same place (a corrected wording). Other lines are new
    items; items no line kept are retired (entries are never removed)."""
    lines = checklist_lines(text)
    current = in_use(items)
    by_label = {item["zh"]: key for key, item in current}
    kept: dict[int, str] = {}
    for index, line in enumerate(lines):
        key = by_label.pop(line["zh"], None)
        if key is not None:
            kept[index] = key
    free = [key for key, _item in current if key not in kept.values()]
    for index, _line in enumerate(lines):
        if index not in kept and index < len(current) and current[index][0] in free:
            kept[index] = current[index][0]
            free.remove(current[index][0])
    numbers = [int(k[4:]) for k in items if k.startswith("item") and k[4:].isdigit()]
    next_number = max(numbers, default=0) + 1
    out: dict[str, dict[str, Any]] = {}
    for index, line in enumerate(lines):
        key = kept.get(index)
        if key is None:
            key, next_number = f"item{next_number:02d}", next_number + 1
        old = items.get(key, {})
        if _essence(old) != _essence(line):
            out[key] = line
    for key in free:
        out[key] = {**items[key], "retired": True}
    return out


def _essence(item: dict[str, Any]) -> tuple[Any, ...]:
    """What an item says, whichever defaults were spelled out."""
    return (
        item.get("zh"),
        item.get("en") or None,
        item.get("order", 0),
        item.get("dosage") or None,
        item.get("reading") or None,
        bool(item.get("retired")),
    )
