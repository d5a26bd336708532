"""Numbers as people type them on a phone."""

from typing import Any


def reading(text: str | None, kind: type[float] | type[int]) -> Any:
    """A number as people type it ("37,5", "37.5°C", " 2 "); what is not one is passed on
    as typed, so the schema refuses it with a message instead of it turning into nothing."""
    raw = (text or "").strip()
    cleaned = raw.replace(",", ".").removesuffix("°C").removesuffix("℃").removesuffix("°").strip()
    cleaned = cleaned.removesuffix("mg/L").removesuffix("%").strip()
    if not cleaned:
        return None
    try:
        return kind(cleaned)
    except ValueError:
        return raw
