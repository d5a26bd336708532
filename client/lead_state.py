"""The prevention lead: today at a glance, conflicts, setting the school up, staff."""

import json
import uuid
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from client.checklists import checklist_items, checklist_lines, edited_items
from client.conflict_view import ConflictWords
from client.due_lists import cleaner_today
from client.school_office import SchoolOffice
from client.state_core import MissingInput, StateCore, action
from shared.hlc import parse as parse_hlc
from shared.schemas.collections import (
    SCHOOL_SETTINGS_ID,
    InvalidValue,
    first_error,
    problems_of,
)
from shared.schemas.vocabulary import Role
from shared.schemas.wire import UserCreate, UserUpdate


def _staff_checked(model: type[BaseModel], body: dict[str, Any]) -> None:
    """Checked here as the server will, so a refusal names the field in the user's words
    (the server's own reason is English); `staff` labels the fields (`field.staff.*`)."""
    try:
        model.model_validate(body)
    except ValidationError as exc:
        raise InvalidValue(first_error(exc), "staff", problems_of(exc)) from exc


class LeadState(StateCore):
    # Lead ---------------------------------------------------------------------------

    def dashboard(self) -> dict[str, Any]:
        """Today at a glance, from the lead's own store (counts, never counseling notes)."""
        areas = cleaner_today(self._store(), self.now())
        by_kind: dict[str, Counter[str]] = defaultdict(Counter)
        kinds = {rid: f["kind"] for rid, f in self._records("areas").items()}
        for state in areas:
            by_kind[kinds.get(state.area_id, "")][state.status] += 1
        today = self.today().isoformat()
        by_cleaner: dict[str, list[str]] = defaultdict(list)
        for f in self._records("disinfection_rounds").values():
            if f.get("completed_at") and f.get("round_date") == today:
                cleaner = str(f.get("cleaner_id"))
                who = self.person_name(cleaner) or f"{self.text('role.cleaner')} {cleaner[:8]}"
                by_cleaner[who].append(self.name_of("areas", f["area_id"]))
        open_cases: Counter[str] = Counter(
            self.name_of("classes", f["class_id"])
            for f in self._records("sick_cases").values()
            if f.get("status") == "open"
        )
        risks: Counter[str] = Counter(
            f["risk_level"]
            for f in self._records("counseling_cases").values()
            if f.get("status", "open") == "open"
        )
        return {
            "by_kind": {k: dict(v) for k, v in by_kind.items()},
            "overdue": [self.name_of("areas", s.area_id) for s in areas if s.status == "overdue"],
            "rounds_by_cleaner": {who: sorted(done) for who, done in sorted(by_cleaner.items())},
            "open_cases_by_class": dict(open_cases),
            "counseling_by_risk": {r: risks.get(r, 0) for r in ("crisis", "high", "medium", "low")},
        }

    def conflicts(self) -> list[dict[str, Any]]:
        """Conflicts waiting to be settled, said as the lead reads them (`ConflictWords`):
        the record's name, the field's label, and each side's value in words with who wrote
        it, on which device and when (in the school's time zone); the winner is in use."""
        words = self._conflict_words()
        found = []
        for rid, f in sorted(self._records("conflicts").items()):
            if f.get("settled_by"):
                continue
            collection, record_id, field = f["collection"], str(f["record_id"]), f["field"]
            sides = {}
            for side in ("winner", "loser"):
                value = dict(f[side])
                when = datetime.fromtimestamp(parse_hlc(value["hlc"]).millis / 1000, UTC)
                value["when"] = self.clock_time(when.isoformat())
                value["who"] = self.person_name(str(value.get("author"))) or str(value["device"])
                value["device"] = str(value.get("device") or "")
                value["shown"] = words.value(field, value.get("value"))
                value["in_use"] = side == "winner"
                sides[side] = value
            found.append(
                {
                    "conflict_id": rid,
                    **f,
                    **sides,
                    "record_name": words.record_name(collection, record_id),
                    "field_label": words.field_name(collection, record_id, field),
                }
            )
        return found

    def _conflict_words(self) -> ConflictWords:
        def record(collection: str, record_id: str) -> dict[str, Any] | None:
            found = self._store().get(collection, record_id)
            return dict(found.fields) if found is not None else None

        return ConflictWords(self.lang, record, self.name_of, self.person_name, self.clock_time)

    @action
    def settle(self, conflict_id: str, keep: str) -> None:
        """Keep the `winner` (as it stands) or bring back the `loser` value, then settle."""
        conflict = self._store().get("conflicts", conflict_id)
        assert conflict is not None
        fields = conflict.fields
        if keep == "loser" and fields["field"] != "deleted":
            self._store().edit(
                fields["collection"],
                str(fields["record_id"]),
                {fields["field"]: fields["loser"]["value"]},
            )
        self._store().edit("conflicts", conflict_id, {"settled_by": self.user_id})

    @action
    def add_record(self, collection: str, fields: dict[str, Any]) -> str:
        """The lead's management: a new area, checklist, class or student (works offline)."""
        return self._add(collection, fields)

    def _add(self, collection: str, fields: dict[str, Any]) -> str:
        record_id = str(uuid.uuid4())
        self._store().edit(collection, record_id, fields)
        return record_id

    @action
    def edit_record(self, collection: str, record_id: str, fields: dict[str, Any]) -> None:
        self._store().edit(collection, record_id, fields)

    @action
    def add_checklist(self, name: str, typed: str) -> str:
        """A new checklist from the lines the lead typed (client.checklists)."""
        items = checklist_items(typed)
        if not items:
            raise MissingInput("checklist_items_needed")
        return self._add("checklist_templates", {"name": name, "items": items})

    @action
    def edit_checklist(self, template_id: str, name: str, typed: str) -> None:
        """Rename a checklist and make its items the lines typed: each line keeps the item
        it still is, an item no line keeps is retired (client.checklists.edited_items)."""
        template = self._store().get("checklist_templates", template_id)
        if template is None or not checklist_lines(typed):
            raise MissingInput("checklist_items_needed")
        changed: dict[str, Any] = {"name": name}
        for key, item in edited_items(template.fields["items"], typed).items():
            changed[f"items.{key}"] = item
        self._store().edit("checklist_templates", template_id, changed)

    # The lead's staff accounts (online: accounts live on the server) ------------------

    def _after_sync(self) -> None:
        if self.role is Role.LEAD:
            self._keep_staff(self._office().staff())  # names for the dashboard, offline

    def _office(self) -> SchoolOffice:
        profile = self._store().profile()
        token = self._store().get_meta("token") or ""
        return SchoolOffice(self.users.transport_for(profile.server_url), token)

    def staff(self) -> list[dict[str, Any]]:
        """The staff list as last read from the server (kept on the phone, encrypted)."""
        kept = self._store().get_meta("staff") if self.session else None
        people: list[dict[str, Any]] = json.loads(kept) if kept else []
        return people

    def person_name(self, user_id: str) -> str:
        return next((p["display_name"] for p in self.staff() if p["id"] == user_id), "")

    @action
    def refresh_staff(self) -> None:
        self._keep_staff(self._office().staff())

    def _keep_staff(self, people: list[dict[str, Any]]) -> None:
        kept = [
            {k: p[k] for k in ("id", "username", "display_name", "role", "active")} for p in people
        ]
        self._store().set_meta("staff", json.dumps(kept, ensure_ascii=False))

    @action
    def add_person(self, username: str, display_name: str, role: str, password: str) -> None:
        person = {
            "username": username.strip(),
            "display_name": display_name.strip(),
            "role": role,
            "password": password,
        }
        _staff_checked(UserCreate, person)
        office = self._office()
        office.add_person(**person)
        self._keep_staff(office.staff())

    @action
    def update_person(self, user_id: str, **changes: Any) -> None:
        """Deactivate or reactivate someone, or set a new password for them."""
        _staff_checked(UserUpdate, changes)
        office = self._office()
        office.update_person(user_id, **changes)
        self._keep_staff(office.staff())

    @action
    def set_closed_day(self, day: date, label: str) -> None:
        self._store().edit(
            "school_settings", str(SCHOOL_SETTINGS_ID), {f"closed_days.{day.isoformat()}": label}
        )
