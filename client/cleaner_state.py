"""The cleaner's day: today's areas, an area's checklist, ticks and rounds."""

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from client.due_lists import cleaner_today
from client.state_core import MissingInput, StateCore, action
from shared.rounds import in_use
from shared.schemas.collections import (
    COLLECTIONS,
    validate_field,
)


@dataclass(frozen=True)
class AreaRow:
    area_id: str
    name: str
    kind: str
    status: str
    due_on: date | None
    overdue_days: int
    round_id: str | None


class CleanerState(StateCore):
    # Cleaner ------------------------------------------------------------------------------

    def today_areas(self) -> list[AreaRow]:
        """Areas due and overdue (and done today), in walking order."""
        today = self.today()
        rounds = self._todays_rounds(today)
        rows = []
        for state in cleaner_today(self._store(), self.now()):
            if state.status in ("not_due", "closed"):
                continue
            area = self._store().get("areas", state.area_id)
            rows.append(
                AreaRow(
                    state.area_id,
                    self.name_of("areas", state.area_id),
                    area.fields["kind"] if area else "",
                    state.status,
                    state.due_on,
                    state.overdue_days,
                    rounds.get(state.area_id),
                )
            )
        return rows

    def _todays_rounds(self, today: date) -> dict[str, str]:
        mine: dict[str, str] = {}
        for record_id, fields in self._records("disinfection_rounds").items():
            if fields.get("round_date") == today.isoformat() and (
                fields.get("cleaner_id") == self.user_id
            ):
                mine[str(fields["area_id"])] = record_id
        return mine

    def checklist(self, area_id: str) -> list[dict[str, Any]]:
        """The area's checklist items in order, each with today's tick and note."""
        area = self._store().get("areas", area_id)
        template = (
            self._store().get("checklist_templates", str(area.fields["checklist_template_id"]))
            if area
            else None
        )
        round_id = self._todays_rounds(self.today()).get(area_id)
        ticks: dict[str, Any] = {}
        if round_id:
            record = self._store().get("disinfection_rounds", round_id)
            ticks = record.fields.get("items", {}) if record else {}
        items = template.fields.get("items", {}) if template else {}
        ordered = in_use(items)  # retired items are no longer on the list
        return [
            {
                "item_id": item_id,
                "label": (item.get("en") if self.lang == "en" and item.get("en") else item["zh"]),
                "done": bool(ticks.get(item_id, {}).get("done")),
                "note": ticks.get(item_id, {}).get("note", ""),
                # What the school prescribes (None: nothing to record), and what was used.
                "dosage_asked": item.get("dosage"),
                "dosage": ticks.get(item_id, {}).get("dosage"),
            }
            for item_id, item in ordered
        ]

    def _round(self, area_id: str) -> str:
        today = self.today()
        round_id = self._todays_rounds(today).get(area_id)
        if round_id is None:
            round_id = str(uuid.uuid4())
            self._store().edit(
                "disinfection_rounds",
                round_id,
                {"area_id": area_id, "round_date": today.isoformat(), "cleaner_id": self.user_id},
            )
        return round_id

    @action
    def tick(
        self,
        area_id: str,
        item_id: str,
        done: bool,
        note: str = "",
        dosage: dict[str, Any] | None = None,
    ) -> None:
        """Tick (or untick) a checklist item; where the item asks for it, a ticked item
        records the disinfectant and concentration used."""
        items = {i["item_id"]: i for i in self.checklist(area_id)}
        asked = items[item_id]["dosage_asked"] if item_id in items else None
        given = dosage or {}
        if done and asked and not (given.get("disinfectant") and given.get("concentration")):
            raise MissingInput("dosage_needed")
        entry: dict[str, Any] = {"done": done, "at": self._stamp() if done else None, "note": note}
        if asked and dosage:
            entry["dosage"] = {"unit": asked.get("unit", "mg_per_l"), **dosage}
        key = f"items.{item_id}"
        validate_field(COLLECTIONS["disinfection_rounds"], key, entry)  # before a round starts
        self._store().edit("disinfection_rounds", self._round(area_id), {key: entry})

    @action
    def complete_round(self, area_id: str) -> None:
        round_id = self._round(area_id)
        self._store().edit("disinfection_rounds", round_id, {"completed_at": self._stamp()})

    def recent_rounds(self, limit: int = 20) -> list[dict[str, Any]]:
        rounds = [
            (rid, f)
            for rid, f in self._records("disinfection_rounds").items()
            if f.get("cleaner_id") == self.user_id
        ]
        rounds.sort(
            key=lambda r: (r[1].get("round_date", ""), r[1].get("completed_at") or ""), reverse=True
        )
        return [
            {
                "round_id": rid,
                "area": self.name_of("areas", f["area_id"]),
                "round_date": f["round_date"],
                "completed": bool(f.get("completed_at")),
                "ticked": sum(1 for i in f.get("items", {}).values() if i.get("done")),
            }
            for rid, f in rounds[:limit]
        ]
