"""The prevention lead: today at a glance, conflicts, setting the school up, staff."""

import json
import uuid
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError

from client.checklists import checklist_items, checklist_lines, edited_items
from client.conflict_view import ConflictWords
from client.due_lists import calendar_of, cleaner_today, sick_students
from client.school_office import SchoolOffice
from client.state_core import MissingInput, StateCore, action, typed_day
from shared import retention
from shared.health import ClusterRule, causes_missing, clusters, missing_checks, slots_of
from shared.hlc import parse as parse_hlc
from shared.rounds import round_checklist, tally_of
from shared.schemas.collections import (
    COLLECTIONS,
    SCHOOL_SETTINGS_ID,
    InvalidValue,
    first_error,
    problems_of,
    validate_field,
)
from shared.schemas.vocabulary import Role
from shared.schemas.wire import UserCreate, UserUpdate
from shared.summaries import completion, counseling_by_risk, open_cases_by_day


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
            # Each overdue area with the cleaners responsible for it (names as last read).
            "overdue": [
                (self.name_of("areas", s.area_id), self._responsible(s.area_id))
                for s in areas
                if s.status == "overdue"
            ],
            "rounds_by_cleaner": {who: sorted(done) for who, done in sorted(by_cleaner.items())},
            "open_cases_by_class": dict(open_cases),
            "counseling_by_risk": {r: risks.get(r, 0) for r in ("crisis", "high", "medium", "low")},
        }

    def crisis_holders(self) -> list[tuple[str, int]]:
        """Who holds an open crisis case, by name from the staff list, with how many: the
        lead knows whom to back up, never which student or what was said."""
        held: Counter[str] = Counter(
            str(f.get("counselor_id") or "")
            for f in self._records("counseling_cases").values()
            if f.get("status", "open") == "open" and f.get("risk_level") == "crisis"
        )
        named = [(self._holder_name(who), n) for who, n in held.items()]
        return sorted(named, key=lambda holder: (-holder[1], holder[0]))

    def _holder_name(self, who: str) -> str:
        if not who:  # a case opened before cases named who holds them
            return self.text("ui.holder_unknown")
        # Someone not (yet) in the staff list this phone keeps: said as the cleaners are.
        return self.person_name(who) or f"{self.text('role.counselor')} {who[:8]}"

    def flagged(self, days: int = 7) -> list[dict[str, Any]]:
        """Doses and readings out of line in the last `days`, newest first: which area and
        item, what was recorded against what is asked, by whom, on which day."""
        since = (self.today() - timedelta(days=days - 1)).isoformat()
        areas = self._records("areas")
        templates = self._records("checklist_templates")
        tally = tally_of(areas, templates)
        found = []
        for fields in self._records("disinfection_rounds").values():
            if str(fields.get("round_date", "")) < since:
                continue
            items = round_checklist(fields, areas, templates)
            for flag in tally(fields).flags:
                unit = self.text(f"unit.{flag.unit}") if flag.kind == "dose" else flag.unit
                found.append(
                    {
                        "day": str(fields["round_date"]),
                        "area": self.name_of("areas", fields["area_id"]),
                        "item": self.item_label(items[flag.item_id]),
                        "kind": flag.kind,
                        "value": f"{flag.value:g} {unit}".strip(),
                        "expected": f"{flag.expected} {unit}".strip(),
                        "cleaner": self.person_name(str(fields.get("cleaner_id"))),
                    }
                )
        return sorted(found, key=lambda f: (f["day"], f["area"]), reverse=True)

    def missing_by_class(self) -> list[dict[str, Any]]:
        """Nothing missed, for the lead: per class with anything missing today, its
        teachers, the check slots not done, sick students not followed up today and
        absences whose cause is still to be found."""
        calendar = calendar_of(self._store())
        today = self.today()
        settings = self._records("school_settings").get(str(SCHOOL_SETTINGS_ID), {})
        classes = self._records("classes")
        checks = list(self._records("temperature_checks").values())
        no_check = missing_checks(classes, checks, today, calendar, slots_of(settings))
        followed: Counter[str] = Counter(
            str(sick.case["class_id"])
            for sick in sick_students(self._store(), self.now())
            if sick.state.needed_today
        )
        absences = self._records("absences")
        causes: Counter[str] = Counter(
            str(absences[a]["class_id"]) for a in causes_missing(absences.items(), today)
        )
        rows = []
        for class_id in sorted(classes, key=lambda c: self.name_of("classes", c)):
            slots = no_check.get(class_id, [])
            if not (slots or followed[class_id] or causes[class_id]):
                continue
            teachers = [self.person_name(str(t)) for t in classes[class_id].get("teacher_ids", [])]
            rows.append(
                {
                    "class_id": class_id,
                    "class": self.name_of("classes", class_id),
                    "teachers": "、".join(t for t in teachers if t),
                    "checks": slots,
                    "follow_ups": followed[class_id],
                    "causes": causes[class_id],
                }
            )
        return rows

    def cluster_alerts(self, days: int = 7) -> list[dict[str, Any]]:
        """Clusters of illness absences in the last `days` (shared.health: the server's
        rule and the school's thresholds), newest first; counts only, no names."""
        calendar = calendar_of(self._store())
        today = self.today()
        settings = self._records("school_settings").get(str(SCHOOL_SETTINGS_ID), {})
        found = clusters(
            self._records("absences").values(),
            today - timedelta(days=days - 1),
            today,
            calendar,
            ClusterRule.from_settings(settings),
        )
        return [
            {
                "class": self.name_of("classes", c.class_id),
                "symptom": c.symptom,
                "first": c.first,
                "last": c.last,
                "students": c.students,
                "rule": c.rule,
            }
            for c in sorted(found, key=lambda c: (c.last, c.students), reverse=True)
        ]

    def case_openings_today(self) -> dict[str, int]:
        """How many times each counselor opened a counseling case today: counts from the
        audit trail, never which case or what it says."""
        calendar = calendar_of(self._store())
        today = self.today()
        counts: Counter[str] = Counter(
            self.person_name(str(f["viewer_id"])) or "?"
            for f in self._records("case_views").values()
            if calendar.day_of(str(f["viewed_at"])) == today
        )
        return dict(sorted(counts.items()))

    def _responsible(self, area_id: str) -> str:
        area = self._records("areas").get(area_id, {})
        names = [self.person_name(str(c)) for c in area.get("cleaner_ids") or []]
        return "、".join(n for n in names if n)

    def charts(self) -> dict[str, Any]:
        """The dashboard's charts from this phone's records, by the server's rules (offline
        too): areas done against due over 30 days and by kind today, open sick cases by
        day, open counseling cases by risk level (counts only)."""
        areas = self._records("areas")
        calendar = calendar_of(self._store())
        rounds = list(self._records("disinfection_rounds").values())
        started: dict[str, date] = {}
        for fields in rounds:  # an area counts from its first round, or from when it was made
            day = calendar.day_of(fields["completed_at"]) if fields.get("completed_at") else None
            area = str(fields["area_id"])
            if day and (area not in started or day < started[area]):
                started[area] = day
        for record in self.records_of("areas"):
            made = min(record.field_hlc.values(), default=None)
            if made:
                day = calendar.day_of(datetime.fromtimestamp(parse_hlc(made).millis / 1000, UTC))
                if day <= self.today():  # a clock ahead of the school's says nothing
                    started[record.record_id] = min(day, started.get(record.record_id, day))
        by_day, by_kind = completion(
            areas,
            self._records("checklist_templates"),
            rounds,
            calendar,
            self.today(),
            since=started.get,
        )
        return {
            "by_day": by_day,
            "by_kind": by_kind,
            "open_cases": open_cases_by_day(
                list(self._records("sick_cases").values()), self.today()
            ),
            "counseling": counseling_by_risk(list(self._records("counseling_cases").values())),
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

    # Reports (files from the server: online) -------------------------------------------

    @action
    def report_file(self, kind: str, first: str, last: str = "") -> tuple[str, bytes]:
        """The day's record as PDF (`pdf`, the day `first`), or the rounds and the
        follow-ups of `first` … `last` as `csv` or `xlsx`: (file name, bytes)."""
        start = typed_day(first) or self.today()
        end = typed_day(last) or start
        if end < start:
            raise MissingInput("day_range_invalid")
        if kind == "pdf":
            path = f"/api/v1/reports/daily-record?day={start}&lang={self.lang}"
            name = f"carerounds-{start}.pdf"
        elif kind == "history":
            path = f"/api/v1/reports/history?format=csv&start={start}&end={end}&lang={self.lang}"
            name = f"carerounds-history-{start}-{end}.csv"
        else:
            assert kind in ("csv", "xlsx")
            path = (
                f"/api/v1/reports/disinfection?format={kind}&start={start}&end={end}"
                f"&lang={self.lang}"
            )
            name = f"carerounds-disinfection-{start}-{end}.{kind}"
        body = self._office().file(path)
        return name, body

    known_history: list[dict[str, Any]] | None = None  # as last read, while the app runs

    @action
    def load_history(self, first: date | str = "", last: date | str = "") -> None:
        """The write history of `first` … `last` (today when not given), newest first:
        who changed what, when, on which device (online; counseling notes never)."""
        start = typed_day(first) or self.today()
        end = typed_day(last) or start
        found = self._office().report(
            f"/api/v1/reports/history?start={start}&end={end}&lang={self.lang}"
        )
        self.known_history = list(found.get("changes", []))

    # The school's health rules -------------------------------------------------------

    def health_rules(self) -> dict[str, Any]:
        """The 晨午检 slots, the cluster alert's thresholds, whether a return needs a
        clearance, how long a phone left alone stays open, how long closed cases stay on
        phones: as set, or the defaults."""
        settings = self._records("school_settings").get(str(SCHOOL_SETTINGS_ID), {})
        rule = ClusterRule.from_settings(settings)
        return {
            "check_slots": list(slots_of(settings)),
            "cluster_day_count": rule.day_count,
            "cluster_window_count": rule.window_count,
            "cluster_window_days": rule.window_days,
            "clearance_required": bool(settings.get("clearance_required", True)),
            "idle_lock_minutes": int(settings.get("idle_lock_minutes") or 5),
            "closed_cases_on_phones_days": retention.days_on_phones(settings),
        }

    @action
    def set_health_rules(self, **rules: Any) -> None:
        """Change some of `health_rules` (numbers may come as typed)."""
        if "check_slots" in rules and not rules["check_slots"]:
            raise MissingInput("slots_needed")
        for key, value in rules.items():
            validate_field(COLLECTIONS["school_settings"], key, value)
        self._store().edit("school_settings", str(SCHOOL_SETTINGS_ID), dict(rules))
        self._done("ui.saved.rules")

    # The school's calendar ----------------------------------------------------------

    def school_calendar(self) -> dict[str, Any]:
        """Closed weekdays, holidays and make-up days, as the lead set them."""
        settings = self._records("school_settings").get(str(SCHOOL_SETTINGS_ID), {})
        return {
            "closed_weekdays": sorted(settings.get("closed_weekdays") or []),
            "closed_days": {
                d: v for d, v in sorted((settings.get("closed_days") or {}).items()) if v
            },
            "open_days": {d: v for d, v in sorted((settings.get("open_days") or {}).items()) if v},
        }

    @action
    def set_closed_weekdays(self, weekdays: list[int]) -> None:
        self._store().edit(
            "school_settings", str(SCHOOL_SETTINGS_ID), {"closed_weekdays": sorted(set(weekdays))}
        )

    @action
    def set_closed_days(self, first: date | str, last: date | str | None, label: str) -> None:
        """Close the school from `first` to `last` (one day when `last` is not given); days
        may be typed as YYYY-MM-DD."""
        self._set_days("closed_days", typed_day(first), typed_day(last), label)

    @action
    def set_open_day(self, day: date | str, label: str) -> None:
        """A make-up school day (调休) on a weekday the school is usually closed."""
        self._set_days("open_days", typed_day(day), typed_day(day), label)

    @action
    def take_back_day(self, kind: str, day: date) -> None:
        """Remove a holiday or make-up day (the entry is set to None: entries never go)."""
        assert kind in ("closed_days", "open_days")
        self._store().edit("school_settings", str(SCHOOL_SETTINGS_ID), {f"{kind}.{day}": None})

    def _set_days(self, kind: str, first: date | None, last: date | None, label: str) -> None:
        if first is None or not label.strip():
            raise MissingInput("day_and_label_needed")
        last = last or first
        if last < first or (last - first).days > 120:
            raise MissingInput("day_range_invalid")
        changes: dict[str, Any] = {}
        day = first
        while day <= last:
            changes[f"{kind}.{day.isoformat()}"] = label.strip()
            day += timedelta(days=1)
        for key, value in changes.items():
            validate_field(COLLECTIONS["school_settings"], key, value)
        self._store().edit("school_settings", str(SCHOOL_SETTINGS_ID), changes)

    # Areas: walking order and who is responsible ---------------------------------------

    def _walk(self) -> list[tuple[str, dict[str, Any]]]:
        return sorted(
            self._records("areas").items(),
            key=lambda a: (a[1].get("walk_order", 0), str(a[1].get("name", "")), a[0]),
        )

    @action
    def add_area(self, fields: dict[str, Any]) -> str:
        """A new area, last in the walking order (it is added where the round ends)."""
        last = max((f.get("walk_order", 0) for _id, f in self._walk()), default=0)
        return self._add("areas", {**fields, "walk_order": fields.get("walk_order", last + 10)})

    @action
    def move_area(self, area_id: str, step: int) -> None:
        """Move an area one place earlier (-1) or later (+1) in the walking order."""
        ordered = [area_id_ for area_id_, _f in self._walk()]
        at = ordered.index(area_id)
        to = min(max(at + step, 0), len(ordered) - 1)
        ordered.insert(to, ordered.pop(at))
        for n, moved in enumerate(ordered):
            order = (n + 1) * 10
            if self._records("areas")[moved].get("walk_order", 0) != order:
                self._store().edit("areas", moved, {"walk_order": order})

    def cleaners(self) -> list[tuple[str, str]]:
        """Active cleaners as last read from the server: (id, name)."""
        return [
            (str(p["id"]), str(p["display_name"]))
            for p in self.staff()
            if p.get("role") == Role.CLEANER and p.get("active", True)
        ]

    @action
    def assign_cleaners(self, area_id: str, cleaner_ids: list[str]) -> None:
        """Make these cleaners responsible for the area (责任落实到人)."""
        self._store().edit("areas", area_id, {"cleaner_ids": list(dict.fromkeys(cleaner_ids))})

    # Devices -----------------------------------------------------------------------------

    known_devices: list[dict[str, Any]] | None = None  # as last read, while the app runs

    @action
    def load_devices(self) -> None:
        """Each phone and browser that signed in, newest contact first (online)."""
        self.known_devices = self._office().devices()

    @action
    def revoke_device(self, device_id: str) -> None:
        """Block a lost phone: it wipes itself when it next reaches the server."""
        self._office().revoke_device(device_id)
        self.known_devices = self._office().devices()
