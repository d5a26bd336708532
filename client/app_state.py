"""The app's state and everything a person can do, as plain methods (no UI code).

Screens read from here and call its actions; it calls the store and the sync engine.
Every action either succeeds or sets `error` (a catalogue key and a plain message), so a
screen shows what went wrong in the user's language instead of a stack trace.
"""

import functools
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from client.accounts import OldSecretNeeded, PhoneUser, PhoneUsers, Session, SignInFailed
from client.checklists import checklist_items, checklist_lines, edited_items, in_use
from client.due_lists import calendar_of, caseload, cleaner_today, sick_students
from client.encrypted_store import DataWiped, InvalidPin, StoreLocked, WrongSecret
from client.school_office import SchoolOffice
from client.sync_engine import Offline, ServerTrouble, SignInRequired, StoreWiped, SyncError
from shared.hlc import parse as parse_hlc
from shared.i18n import t
from shared.schemas.collections import (
    COLLECTIONS,
    SCHOOL_SETTINGS_ID,
    InvalidValue,
    UnknownField,
    validate_field,
)
from shared.schemas.vocabulary import Role

R = TypeVar("R")


@dataclass(frozen=True)
class UserError:
    """What went wrong, said in the catalogue's words (re-said when the language changes)."""

    code: str
    message: str
    key: str = ""
    params: tuple[tuple[str, Any], ...] = ()
    detail: str = ""

    @classmethod
    def of(
        cls, code: str, lang: str, key: str | None = None, detail: str = "", **params: Any
    ) -> "UserError":
        key = key or f"error.{code}"
        error = cls(code, "", key, tuple(params.items()), detail)
        return error.in_language(lang)

    def in_language(self, lang: str) -> "UserError":
        text = t(self.key, lang) if self.key else ""
        if text == self.key:  # not in the catalogue: the server's own words
            text = ""
        text = text.format(**dict(self.params)) if text else ""
        message = " ".join(part for part in (text, self.detail) if part)
        return UserError(self.code, message, self.key, self.params, self.detail)


class MissingInput(Exception):
    """Something the person must fill in before the action can go on (`error.<code>`)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def action(method: Callable[..., R]) -> Callable[..., R | None]:
    """Run an action; a failure a person can cause becomes `state.error`, not a crash."""

    @functools.wraps(method)
    def run(self: "AppState", *args: Any, **kwargs: Any) -> R | None:
        self.error = None
        lang = self.lang
        try:
            return method(self, *args, **kwargs)
        except StoreWiped as exc:
            self.session = None
            self.error = UserError.of(exc.code, lang)
        except (Offline, ServerTrouble) as exc:
            self.online = False
            self.error = UserError.of(exc.code, lang)
        except SignInRequired:
            self.error = UserError.of("sign_in_again", lang)
        except SyncError as exc:
            self.error = UserError.of(exc.code, lang, detail=exc.message)
        except SignInFailed as exc:
            # The catalogue says it, except what was wrong with a value: the server says that.
            known = t(f"error.{exc.code}", lang) != f"error.{exc.code}"
            detail = exc.message if not known or exc.code == "invalid_value" else ""
            self.error = UserError.of(exc.code, lang, detail=detail)
        except OldSecretNeeded:
            self.error = UserError.of("old_secret_needed", lang)
        except WrongSecret as exc:
            self.error = UserError.of("wrong_secret", lang, remaining=exc.remaining)
        except DataWiped:
            self.error = UserError.of("data_wiped", lang)
        except InvalidPin:
            self.error = UserError.of("invalid_pin", lang)
        except StoreLocked:
            self.session = None
            self.error = UserError.of("locked", lang)
        except MissingInput as exc:
            self.error = UserError.of(exc.code, lang)
        except (InvalidValue, UnknownField) as exc:
            self.error = UserError.of("invalid_value", lang, detail=str(exc))
        finally:
            self._changed()
        return None

    return run


@dataclass(frozen=True)
class AreaRow:
    area_id: str
    name: str
    kind: str
    status: str
    due_on: date | None
    overdue_days: int
    round_id: str | None


class AppState:
    def __init__(
        self,
        users: PhoneUsers,
        *,
        lang: str = "zh",
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.users = users
        self.lang = lang
        self.now = now
        self.session: Session | None = None
        self.online: bool | None = None
        self.error: UserError | None = None
        self._listeners: list[Callable[[], None]] = []

    # Observing ------------------------------------------------------------------------

    def subscribe(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()

    def text(self, key: str) -> str:
        return t(key, self.lang)

    def set_language(self, lang: str) -> None:
        self.lang = lang
        if self.error is not None:
            self.error = self.error.in_language(lang)
        self._changed()

    # Who is signed in -----------------------------------------------------------------

    @property
    def signed_in(self) -> bool:
        return self.session is not None and not self.session.store.is_locked

    @property
    def role(self) -> Role | None:
        return Role(self.session.profile.role) if self.session else None

    @property
    def user_id(self) -> str:
        assert self.session is not None
        return self.session.profile.user_id

    def display_name(self) -> str:
        return self.session.display_name() if self.session else ""

    def phone_users(self) -> list[PhoneUser]:
        return self.users.users()

    @action
    def sign_in(
        self, server_url: str, username: str, password: str, old_secret: str | None = None
    ) -> None:
        if not server_url.strip() or not username.strip() or not password:
            raise MissingInput("sign_in_fields")
        self.session = self.users.sign_in_online(
            server_url.strip(), username.strip(), password, old_secret=old_secret or None
        )
        self.online = True
        self.sync_now.__wrapped__(self)  # type: ignore[attr-defined]

    @action
    def unlock(self, user: PhoneUser, secret: str, kind: str = "password") -> None:
        self.session = self.users.unlock(user, secret, kind)

    def lock(self) -> None:
        """Switch user / step away: the store is locked and its key forgotten."""
        self.users.lock_current()
        self.session = None
        self._changed()

    @action
    def sign_out(self, force: bool = False) -> None:
        self.users.sign_out(force=force)
        self.session = None

    @action
    def set_pin(self, pin: str) -> None:
        assert self.session is not None
        self.session.store.set_pin(pin)

    # Sync -------------------------------------------------------------------------------

    @action
    def sync_now(self) -> None:
        assert self.session is not None
        self.session.engine.sync()
        self.online = True
        if self.role is Role.LEAD:
            self._keep_staff(self._office().staff())  # names for the dashboard, offline

    def sync_state(self) -> dict[str, Any]:
        if self.session is None:
            return {"pending": 0, "rejected": 0, "last_success": None, "last_error": None}
        state = self.session.engine.state()
        return {
            "pending": state.pending,
            "rejected": state.rejected,
            "last_success": state.last_success,
            "last_error": state.last_error_code,
        }

    def rejected(self) -> list[Any]:
        return self.session.store.rejected() if self.session else []

    @action
    def discard_rejected(self, change_id: str) -> None:
        assert self.session is not None
        self.session.store.discard_rejected(change_id)

    @action
    def retry_rejected(self, change_id: str, fields: dict[str, Any]) -> None:
        """Send a refused change again, as the person corrected it."""
        store = self._store()
        kept = next(r for r in store.rejected() if r.entry.change_id == change_id)
        store.edit(kept.entry.collection, kept.entry.record_id, fields)
        store.discard_rejected(change_id)

    # Helpers --------------------------------------------------------------------------

    def _store(self) -> Any:
        assert self.session is not None, "sign in first"
        return self.session.store

    def clock_time(self, instant: str) -> str:
        """An instant as people read it: month-day hour:minute in the school's time zone."""
        zone = calendar_of(self._store()).timezone
        return datetime.fromisoformat(instant).astimezone(zone).strftime("%m-%d %H:%M")

    def today(self) -> date:
        return calendar_of(self._store()).today(self.now())

    def _records(self, collection: str) -> dict[str, dict[str, Any]]:
        return {r.record_id: r.fields for r in self._store().records(collection)}

    def records_of(self, collection: str) -> list[Any]:
        return list(self._store().records(collection))

    def name_of(self, collection: str, record_id: Any) -> str:
        record = self._store().get(collection, str(record_id))
        if record is None:
            return ""
        fields = record.fields
        if self.lang == "en" and fields.get("name_en"):
            return str(fields["name_en"])
        return str(fields.get("name", ""))

    def _stamp(self) -> str:
        return self.now().astimezone(UTC).isoformat().replace("+00:00", "Z")

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

    # Class teacher ----------------------------------------------------------------------

    def my_classes(self) -> list[tuple[str, str]]:
        classes = self._records("classes")
        return sorted(((cid, self.name_of("classes", cid)) for cid in classes), key=lambda c: c[1])

    def students_of(self, class_id: str) -> list[tuple[str, str]]:
        return sorted(
            (
                (sid, str(f["name"]))
                for sid, f in self._records("students").items()
                if str(f.get("class_id")) == class_id
            ),
            key=lambda s: s[1],
        )

    def sick_list(self) -> list[dict[str, Any]]:
        """Open cases, those still lacking today's follow-up first."""
        return [
            {
                "case_id": sick.case_id,
                "student": self.name_of("students", sick.case["student_id"]),
                "class": self.name_of("classes", sick.case["class_id"]),
                "needed_today": sick.state.needed_today,
                "missed": len(sick.state.missed),
                "symptoms": sick.case.get("symptoms", ""),
            }
            for sick in sick_students(self._store(), self.now())
        ]

    @action
    def open_case(self, student_id: str, onset_date: date, symptoms: str) -> str:
        student = self._store().get("students", student_id)
        assert student is not None
        case_id = str(uuid.uuid4())
        self._store().edit(
            "sick_cases",
            case_id,
            {
                "student_id": student_id,
                "class_id": student.fields["class_id"],
                "onset_date": onset_date.isoformat(),
                "opened_on": self.today().isoformat(),
                "symptoms": symptoms,
            },
        )
        return case_id

    @action
    def add_follow_up(self, case_id: str, method: str, **details: Any) -> str:
        follow_up_id = str(uuid.uuid4())
        fields = {"case_id": case_id, "visit_date": self.today().isoformat(), "method": method}
        fields.update({k: v for k, v in details.items() if v not in (None, "")})
        self._store().edit("follow_ups", follow_up_id, fields)
        return follow_up_id

    def follow_ups_of(self, case_id: str) -> list[dict[str, Any]]:
        return sorted(
            (f for f in self._records("follow_ups").values() if str(f["case_id"]) == case_id),
            key=lambda f: f["visit_date"],
            reverse=True,
        )

    @action
    def close_case(self, case_id: str, returned_on: date | None = None) -> None:
        returned = (returned_on or self.today()).isoformat()
        self._store().edit("sick_cases", case_id, {"status": "closed", "returned_on": returned})

    @action
    def add_temperature_check(
        self, class_id: str, students_checked: int, fever_count: int, note: str = ""
    ) -> None:
        self._store().edit(
            "temperature_checks",
            str(uuid.uuid4()),
            {
                "class_id": class_id,
                "checked_at": self._stamp(),
                "students_checked": students_checked,
                "fever_count": fever_count,
                "note": note,
            },
        )

    @action
    def refer(self, student_id: str, reason: str) -> None:
        self._store().edit(
            "referrals", str(uuid.uuid4()), {"student_id": student_id, "reason": reason}
        )

    def referrals(self) -> list[dict[str, Any]]:
        return [
            {
                "referral_id": rid,
                "student": self.name_of("students", f["student_id"]),
                "student_id": f["student_id"],
                "status": f.get("status", "new"),
                "reason": f.get("reason", ""),
            }
            for rid, f in sorted(self._records("referrals").items())
        ]

    # Counselor --------------------------------------------------------------------------

    def caseload(self) -> list[dict[str, Any]]:
        rows = []
        for due in caseload(self._store(), self.now()):
            case = self._store().get("counseling_cases", due.case_id)
            rows.append(
                {
                    "case_id": due.case_id,
                    "student": self.name_of("students", case.fields["student_id"]) if case else "",
                    "risk_level": due.risk_level,
                    "due_on": due.due_on,
                    "overdue": due.overdue,
                }
            )
        return rows

    def timeline(self, case_id: str) -> list[dict[str, Any]]:
        return sorted(
            (f for f in self._records("interventions").values() if str(f["case_id"]) == case_id),
            key=lambda f: f["held_on"],
            reverse=True,
        )

    @action
    def add_intervention(
        self,
        case_id: str,
        kind: str,
        note: str,
        risk_level: str | None = None,
        next_follow_up: date | None = None,
    ) -> None:
        fields: dict[str, Any] = {
            "case_id": case_id,
            "held_on": self.today().isoformat(),
            "kind": kind,
            "note": note,
        }
        if risk_level:
            fields["risk_level"] = risk_level
        self._store().edit("interventions", str(uuid.uuid4()), fields)
        changes: dict[str, Any] = {}
        if risk_level:
            changes["risk_level"] = risk_level
        if next_follow_up:
            changes["next_follow_up"] = next_follow_up.isoformat()
        if changes:
            self._store().edit("counseling_cases", case_id, changes)

    @action
    def set_risk(self, case_id: str, risk_level: str) -> None:
        self._store().edit("counseling_cases", case_id, {"risk_level": risk_level})

    @action
    def accept_referral(self, referral_id: str, risk_level: str = "medium") -> str:
        referral = self._store().get("referrals", referral_id)
        assert referral is not None
        case_id = str(uuid.uuid4())
        self._store().edit(
            "counseling_cases",
            case_id,
            {
                "student_id": referral.fields["student_id"],
                "risk_level": risk_level,
                "referral_id": referral_id,
                "opened_on": self.today().isoformat(),
            },
        )
        self._store().edit("referrals", referral_id, {"status": "accepted"})
        return case_id

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
        """Conflicts waiting to be settled, both values side by side, each with who wrote it
        and when (in the school's time zone)."""
        found = []
        for rid, f in sorted(self._records("conflicts").items()):
            if f.get("settled_by"):
                continue
            sides = {}
            for side in ("winner", "loser"):
                value = dict(f[side])
                when = datetime.fromtimestamp(parse_hlc(value["hlc"]).millis / 1000, UTC)
                value["when"] = self.clock_time(when.isoformat())
                value["who"] = self.person_name(str(value.get("author"))) or str(value["device"])
                sides[side] = value
            found.append({"conflict_id": rid, **f, **sides})
        return found

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
        office = self._office()
        office.add_person(username.strip(), display_name.strip(), role, password)
        self._keep_staff(office.staff())

    @action
    def update_person(self, user_id: str, **changes: Any) -> None:
        """Deactivate or reactivate someone, or set a new password for them."""
        office = self._office()
        office.update_person(user_id, **changes)
        self._keep_staff(office.staff())

    @action
    def set_closed_day(self, day: date, label: str) -> None:
        self._store().edit(
            "school_settings", str(SCHOOL_SETTINGS_ID), {f"closed_days.{day.isoformat()}": label}
        )
