"""The cleaner's day: today's areas, an area's checklist, ticks and rounds."""

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from client.due_lists import cleaner_today
from client.state_core import MissingInput, RoundNotFinished, StateCore, action
from shared.rounds import in_use, item_flags, tally_of, tally_round
from shared.schemas.collections import COLLECTIONS, validate_field
from shared.schemas.vocabulary import SkipReason


@dataclass(frozen=True)
class AreaRow:
    area_id: str
    name: str
    kind: str
    status: str  # overdue | due | done
    due_on: date | None
    overdue_days: int
    round_id: str | None
    mine: bool  # the cleaner is responsible for it
    responsible: tuple[str, ...]  # who is (names), for an area that is not theirs
    items_total: int
    items_done: int  # ticked or excused, in today's round


@dataclass(frozen=True)
class DayAtGlance:
    done: int  # areas done today
    total: int  # areas due today, overdue or done today
    remaining: int


STATUS_ORDER = {"overdue": 0, "due": 1, "done": 2}


class CleanerState(StateCore):
    """Today's areas (their own first, overdue first), a checklist, ticks, reasons, rounds."""

    def _tally(self) -> Any:
        return tally_of(self._records("areas"), self._records("checklist_templates"))

    def today_areas(self, *, only_mine: bool = False, remaining: bool = False) -> list[AreaRow]:
        """Areas overdue, due and done today: the cleaner's own first, overdue first, then
        in walking order. `only_mine`: the areas they are responsible for (all areas when
        nobody is named for any); `remaining`: without those done."""
        today = self.today()
        rounds = self._todays_rounds(today)
        tally = self._tally()
        areas = self._records("areas")
        nobody_named = not any(f.get("cleaner_ids") for f in areas.values())
        rows = []
        for order, state in enumerate(cleaner_today(self._store(), self.now(), tally)):
            if state.status in ("not_due", "closed"):
                continue
            fields = areas.get(state.area_id, {})
            named = [str(c) for c in fields.get("cleaner_ids") or []]
            round_id = rounds.get(state.area_id)
            round_ = self._records_get("disinfection_rounds", round_id)
            counted = tally(round_ or {"area_id": state.area_id})
            rows.append(
                (
                    order,
                    AreaRow(
                        state.area_id,
                        self.name_of("areas", state.area_id),
                        str(fields.get("kind", "")),
                        state.status,
                        state.due_on,
                        state.overdue_days,
                        round_id,
                        self.user_id in named or nobody_named,
                        tuple(n for n in (self.person_name(c) for c in named) if n),
                        counted.items_total,
                        counted.items_done + counted.items_excused,
                    ),
                )
            )
        rows.sort(key=lambda r: (not r[1].mine, STATUS_ORDER.get(r[1].status, 3), r[0]))
        return [
            row
            for _order, row in rows
            if (row.mine or not only_mine) and (row.status != "done" or not remaining)
        ]

    def day_at_glance(self, *, only_mine: bool = True) -> DayAtGlance:
        """ "Done 3 of 12": the day's areas (the cleaner's own) done, and how many remain."""
        rows = self.today_areas(only_mine=only_mine)
        done = sum(1 for r in rows if r.status == "done")
        return DayAtGlance(done, len(rows), len(rows) - done)

    def _records_get(self, collection: str, record_id: str | None) -> dict[str, Any] | None:
        record = self._store().get(collection, record_id) if record_id else None
        return dict(record.fields) if record else None

    def _todays_rounds(self, today: date) -> dict[str, str]:
        mine: dict[str, str] = {}
        for record_id, fields in self._records("disinfection_rounds").items():
            if fields.get("round_date") == today.isoformat() and (
                fields.get("cleaner_id") == self.user_id
            ):
                mine[str(fields["area_id"])] = record_id
        return mine

    def _checklist_items(self, area_id: str) -> dict[str, Any]:
        area = self._records_get("areas", area_id) or {}
        template = self._records_get(
            "checklist_templates", str(area.get("checklist_template_id") or "")
        )
        return dict((template or {}).get("items") or {})

    def checklist(self, area_id: str) -> list[dict[str, Any]]:
        """The area's checklist items in order, each with today's tick or reason, note,
        what was recorded and, for a dose or reading out of line, its flag."""
        round_ = self._records_get(
            "disinfection_rounds", self._todays_rounds(self.today()).get(area_id)
        )
        ticks: dict[str, Any] = (round_ or {}).get("items") or {}
        rows = []
        for item_id, item in in_use(self._checklist_items(area_id)):  # retired: off the list
            entry = ticks.get(item_id) or {}
            flags = item_flags(item_id, item, entry) if entry.get("done") else []
            rows.append(
                {
                    "item_id": item_id,
                    "label": self.item_label(item),
                    "done": bool(entry.get("done")),
                    "skipped": None if entry.get("done") else entry.get("skipped"),
                    "note": entry.get("note", ""),
                    # What the school prescribes (None: nothing to record), and what was used.
                    "dosage_asked": item.get("dosage"),
                    "dosage": entry.get("dosage"),
                    "reading_asked": item.get("reading"),
                    "reading": entry.get("reading"),
                    "flags": flags,
                }
            )
        return rows

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
        reading: float | None = None,
    ) -> None:
        """Tick (or untick) a checklist item; where the item asks for it, a ticked item
        records the disinfectant and concentration used, or the reading. A dose or reading
        out of line is kept and flagged (`checklist` shows the flag)."""
        item = self._checklist_items(area_id).get(item_id) or {}
        asked = item.get("dosage")
        given = dosage or {}
        if done and asked and not (given.get("disinfectant") and given.get("concentration")):
            raise MissingInput("dosage_needed")
        if done and item.get("reading") and reading is None:
            raise MissingInput("reading_needed")
        entry: dict[str, Any] = {"done": done, "at": self._stamp() if done else None, "note": note}
        if asked and dosage:
            entry["dosage"] = {"unit": asked.get("unit", "mg_per_l"), **dosage}
        if item.get("reading") and reading is not None:
            entry["reading"] = reading
        self._put_item(area_id, item_id, entry)

    @action
    def skip(self, area_id: str, item_id: str, reason: str | None, note: str = "") -> None:
        """Say why an item was not done (None: take the reason back). "Other" needs a note."""
        if reason == SkipReason.OTHER and not note.strip():
            raise MissingInput("skip_note_needed")
        self._put_item(area_id, item_id, {"done": False, "skipped": reason, "note": note})

    def _put_item(self, area_id: str, item_id: str, entry: dict[str, Any]) -> None:
        key = f"items.{item_id}"
        validate_field(COLLECTIONS["disinfection_rounds"], key, entry)  # before a round starts
        self._store().edit("disinfection_rounds", self._round(area_id), {key: entry})

    @action
    def complete_round(self, area_id: str) -> None:
        """Complete today's round, once every item is ticked or has a reason; otherwise
        say which remain."""
        items = self._checklist_items(area_id)
        round_ = self._records_get(
            "disinfection_rounds", self._todays_rounds(self.today()).get(area_id)
        )
        counted = tally_round(items, (round_ or {}).get("items") or {})
        if counted.remaining:
            raise RoundNotFinished([self.item_label(items[i]) for i in counted.remaining])
        self._store().edit(
            "disinfection_rounds", self._round(area_id), {"completed_at": self._stamp()}
        )

    def recent_rounds(self, limit: int = 20) -> list[dict[str, Any]]:
        rounds = [
            (rid, f)
            for rid, f in self._records("disinfection_rounds").items()
            if f.get("cleaner_id") == self.user_id
        ]
        rounds.sort(
            key=lambda r: (r[1].get("round_date", ""), r[1].get("completed_at") or ""), reverse=True
        )
        tally = self._tally()
        rows = []
        for rid, f in rounds[:limit]:
            counted = tally(f)
            rows.append(
                {
                    "round_id": rid,
                    "area": self.name_of("areas", f["area_id"]),
                    "round_date": f["round_date"],
                    "completed": bool(f.get("completed_at")),
                    "complete": counted.complete,
                    "done": counted.items_done,
                    "excused": counted.items_excused,
                    "total": counted.items_total,
                    "flags": len(counted.flags),
                }
            )
        return rows
