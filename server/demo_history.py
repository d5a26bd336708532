"""The demo school's last few days of disinfection rounds (demo_school.HISTORY_DAYS), so
that the lead's reports have rounds done, an excused item, an incomplete round, a missed
day and flagged values to show from the first sign-in."""

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server import demo_school, school_setup
from server.records import RecordWriter

CHECKLISTS = {checklist.key: checklist for checklist in demo_school.CHECKLISTS}


def set_up_day(today: date) -> date:
    """The day the demo school was set up: the first day of its history."""
    return today - timedelta(days=demo_school.HISTORY_DAYS)


def seed(
    writer: RecordWriter,
    cleaner_ids: dict[str, uuid.UUID],
    area_ids: dict[str, uuid.UUID],
    today: date,
    zone: ZoneInfo,
) -> None:
    """Write the rounds of the days before `today`, each by a responsible cleaner."""
    deviations = {(d.area, d.days_ago): d for d in demo_school.HISTORY_DEVIATIONS}
    for order, area in enumerate(demo_school.AREAS):
        if order == 0:
            continue  # left untouched for the end-to-end tests (see demo_school)
        for days_ago in range(demo_school.HISTORY_DAYS, 0, -1):
            deviation = deviations.get((area.name, days_ago))
            if (demo_school.HISTORY_DAYS - days_ago) % area.frequency_days or (
                deviation is not None and deviation.missed
            ):
                continue
            day = today - timedelta(days=days_ago)
            done_at = datetime.combine(day, time(7, 0), zone) + timedelta(minutes=3 * order)
            cleaner = area.cleaners[days_ago % len(area.cleaners)]
            fields = {
                "area_id": str(area_ids[area.name]),
                "round_date": day.isoformat(),
                "cleaner_id": str(cleaner_ids[cleaner]),
                "items": _items(area.checklist, done_at.isoformat(), deviation),
                "completed_at": done_at.isoformat(),
            }
            school_setup.create(writer, cleaner_ids[cleaner], "disinfection_rounds", fields)


def _items(
    checklist: str, at: str, deviation: demo_school.DemoDeviation | None
) -> dict[str, dict[str, Any]]:
    """Every item ticked as prescribed, but for the day's deviation."""
    items = CHECKLISTS[checklist].items
    undone = (
        {item.item_id for item in items[len(items) - deviation.undone :]} if deviation else set()
    )
    entries: dict[str, dict[str, Any]] = {}
    for item in items:
        if item.item_id in undone:
            continue
        entry: dict[str, Any] = {"done": True, "at": at}
        if item.dosage is not None:
            name, concentration, unit = demo_school.DOSAGES[item.dosage]
            entry["dosage"] = {"disinfectant": name, "concentration": concentration, "unit": unit}
        if item.reading is not None:
            _unit, _low, high = demo_school.READINGS[item.reading]
            entry["reading"] = high - 2
        if deviation is not None and deviation.item_id == item.item_id:
            if deviation.skipped:
                entry = {"done": False, "skipped": deviation.skipped}
            if deviation.concentration is not None:
                entry["dosage"]["concentration"] = deviation.concentration
            if deviation.reading is not None:
                entry["reading"] = deviation.reading
        entries[item.item_id] = entry
    return entries
