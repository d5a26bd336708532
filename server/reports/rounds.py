"""The school's disinfection rounds as the reports judge them: by each area's checklist
(shared.rounds), whatever a phone said of its own round, so that a round "completed"
with items left undone is reported as incomplete and an odd dose or reading is flagged."""

from collections.abc import Mapping
from datetime import date, datetime
from functools import cached_property
from typing import Any

from server.reports.snapshot import SchoolSnapshot
from shared.rounds import Flag, RoundTally, completeness, in_use, round_checklist, tally_of
from shared.schedule import round_days

Fields = Mapping[str, Any]


class SchoolRounds:
    """Completed rounds, their tallies, and which round stands for an area's day."""

    def __init__(self, school: SchoolSnapshot) -> None:
        self.school = school
        self.areas = school.live("areas")
        self.templates = school.live("checklist_templates")
        tally = tally_of(self.areas, self.templates)
        self.complete = completeness(self.areas, self.templates)
        # Only completed rounds count; a round started and left is nobody's record yet.
        self.completed = {
            rid: fields
            for rid, fields in school.live("disinfection_rounds").items()
            if fields.get("completed_at")
        }
        self.tallies: dict[str, RoundTally] = {
            rid: tally(fields) for rid, fields in self.completed.items()
        }

    @cached_property
    def done_days(self) -> dict[str, list[date]]:
        """Per area, the days with a round that left nothing undone."""
        return round_days(self.completed.values(), self.school.calendar, self.complete)

    @cached_property
    def incomplete_days(self) -> dict[str, list[date]]:
        """Per area, the days with a round completed with items left undone."""
        return round_days(
            self.completed.values(), self.school.calendar, self.complete, incomplete=True
        )

    def day_of(self, fields: Fields) -> date:
        return self.school.calendar.day_of(fields["completed_at"])

    def local_time(self, fields: Fields) -> datetime:
        """When the round was completed, in the school's time zone."""
        return datetime.fromisoformat(fields["completed_at"]).astimezone(
            self.school.calendar.timezone
        )

    @cached_property
    def standing(self) -> dict[tuple[str, date], str]:
        """The round that stands for each (area, day): a whole round before an incomplete
        one, then the latest."""
        found: dict[tuple[str, date], str] = {}
        for rid, fields in self.completed.items():
            key = (str(fields.get("area_id")), self.day_of(fields))
            rank = (self.tallies[rid].complete, self.local_time(fields))
            other = found.get(key)
            if other is None or rank > (
                self.tallies[other].complete,
                self.local_time(self.completed[other]),
            ):
                found[key] = rid
        return found

    def items_in_use(self, area_id: str) -> int:
        """How many items the area's checklist holds now (what a round is held to)."""
        return len(in_use(round_checklist({"area_id": area_id}, self.areas, self.templates)))

    def item_label(self, fields: Fields, item_id: str, lang: str) -> str:
        item = round_checklist(fields, self.areas, self.templates).get(item_id) or {}
        english = item.get("en") if lang == "en" else None
        return str(english or item.get("zh") or item_id)

    def flags(self, start: date, end: date, lang: str) -> list[dict[str, Any]]:
        """Every flagged dose and reading of the rounds completed from `start` to `end`."""
        rows = []
        for rid, fields in self.completed.items():
            day = self.day_of(fields)
            if start <= day <= end:
                rows += [
                    self._flag_row(day, fields, flag, lang) for flag in self.tallies[rid].flags
                ]
        return sorted(rows, key=lambda r: (r["day"], r["completed_at"], r["area"], r["item"]))

    def _flag_row(self, day: date, fields: Fields, flag: Flag, lang: str) -> dict[str, Any]:
        area = self.areas.get(str(fields.get("area_id"))) or {}
        return {
            "day": day,
            "area_id": str(fields.get("area_id")),
            "area": self.school.label(area, lang),
            "item_id": flag.item_id,
            "item": self.item_label(fields, flag.item_id, lang),
            "kind": flag.kind,
            "value": flag.value,
            "unit": flag.unit,
            "expected": flag.expected,
            "cleaner": self.school.name(fields.get("cleaner_id")),
            "completed_at": self.local_time(fields),
        }
