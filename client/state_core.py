"""What every role's state stands on: who is signed in, sync, errors said in the
user's language, and the small helpers the role modules share (no UI code).

Every action either succeeds or sets `error` (a catalogue key and a plain message), so a
screen shows what went wrong in the user's language instead of a stack trace.
"""

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from client.accounts import OldSecretNeeded, PhoneUser, PhoneUsers, Session, SignInFailed
from client.due_lists import calendar_of
from client.encrypted_store import DataWiped, InvalidPin, StoreLocked, WrongSecret
from client.messages import invalid_text, rejected_text
from client.sync_engine import Offline, ServerTrouble, SignInRequired, StoreWiped, SyncError
from shared import retention
from shared.i18n import counted, t
from shared.schemas.collections import (
    SCHOOL_SETTINGS_ID,
    InvalidValue,
    UnknownField,
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
    # A refused value (`InvalidValue`), said again in each language with the field's label.
    refused: InvalidValue | UnknownField | None = None

    @classmethod
    def of(
        cls, code: str, lang: str, key: str | None = None, detail: str = "", **params: Any
    ) -> "UserError":
        key = key or f"error.{code}"
        error = cls(code, "", key, tuple(params.items()), detail)
        return error.in_language(lang)

    def in_language(self, lang: str) -> "UserError":
        count = dict(self.params).get("count")
        if not self.key:
            text = ""
        elif isinstance(count, int):
            text = counted(self.key, lang, count)
        else:
            text = t(self.key, lang)
        if text == self.key:  # not in the catalogue: the server's own words
            text = ""
        text = text.format(**dict(self.params)) if text else ""
        detail = invalid_text(self.refused, lang) if self.refused is not None else self.detail
        message = " ".join(part for part in (text, detail) if part)
        return UserError(self.code, message, self.key, self.params, self.detail, self.refused)


class MissingInput(Exception):
    """Something the person must fill in before the action can go on (`error.<code>`)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class RoundNotFinished(Exception):
    """Items are neither ticked nor given a reason: the round cannot be complete yet."""

    def __init__(self, labels: list[str]) -> None:
        super().__init__(", ".join(labels))
        self.labels = labels


def action(method: Callable[..., R]) -> Callable[..., R | None]:
    """Run an action; a failure a person can cause becomes `state.error`, not a crash.
    An action is a person's input: the idle lock starts counting again (but see
    `background`)."""
    return _action(method, person=True)


def background(method: Callable[..., R]) -> Callable[..., R | None]:
    """An action the app takes by itself (the sync every 30 s): it is not input, so the
    idle lock goes on counting and a phone left on a desk locks."""
    return _action(method, person=False)


def _action(method: Callable[..., R], *, person: bool) -> Callable[..., R | None]:
    @functools.wraps(method)
    def run(self: "StateCore", *args: Any, **kwargs: Any) -> R | None:
        self.error = None
        self.notice = None
        lang = self.lang
        if person:
            self.person_acted()
        try:
            return method(self, *args, **kwargs)
        except StoreWiped as exc:
            if exc.code == "device_revoked":
                # Blocked: everyone's data on the phone goes, not only this person's.
                self.users.wipe_device()
            self.session = None
            self.error = UserError.of(exc.code, lang)
        except (Offline, ServerTrouble) as exc:
            self.online = False
            # A server that said when to come back (503 while its database is away).
            self.retry_after = exc.retry_after if isinstance(exc, ServerTrouble) else None
            self.error = UserError.of(exc.code, lang)
        except SignInRequired:
            self.error = UserError.of("sign_in_again", lang)
        except (SyncError, SignInFailed) as exc:
            # Said by the catalogue: the server's own detail is English and names its fields.
            fallback = "sync_failed" if isinstance(exc, SyncError) else "sign_in_failed"
            known = t(f"error.{exc.code}", lang) != f"error.{exc.code}"
            said = exc.code if known and exc.code != "invalid_value" else fallback
            self.error = UserError.of(exc.code, lang, key=f"error.{said}")
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
        except RoundNotFinished as exc:
            self.error = UserError.of(
                "round_not_finished",
                lang,
                count=len(exc.labels),
                items=("、" if lang == "zh" else ", ").join(exc.labels),
            )
        except (InvalidValue, UnknownField) as exc:
            self.error = UserError("invalid_value", "", "error.invalid_value", refused=exc)
            self.error = self.error.in_language(lang)
        finally:
            self._changed()
        return None

    return run


class StateCore:
    def __init__(
        self,
        users: PhoneUsers,
        *,
        lang: str = "zh",
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        network_up: Callable[[], bool | None] = lambda: None,
    ) -> None:
        self.users = users
        self.lang = lang
        self.now = now
        self.session: Session | None = None
        # Whether the last sync reached the server (None: none tried yet).
        self.online: bool | None = None
        # Whether the device says it has a network (a browser does; None: it cannot tell).
        self.network_up = network_up
        # Seconds the server asked to wait before the next try (its last Retry-After).
        self.retry_after: float | None = None
        self.error: UserError | None = None
        # What the last action did, said back to the person ("saved"): a catalogue key.
        self.notice: str | None = None
        self._listeners: list[Callable[[], None]] = []

    def seems_online(self) -> bool:
        """What the sync bar says: online unless the last sync could not reach the server
        or the device says it has no network (an unlock in a stairwell, before any sync
        was tried, is offline at once, not "online" until the next try)."""
        return self.online is not False and self.network_up() is not False

    # Observing ------------------------------------------------------------------------

    def subscribe(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()

    def text(self, key: str) -> str:
        return t(key, self.lang)

    def counted(self, key: str, count: int) -> str:
        """The text for `key` counting `count` things ("1 day", "2 days")."""
        return counted(key, self.lang, count)

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
        self._apply_idle_lock()

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
    def set_pin(self, pin: str, again: str | None = None) -> None:
        """Set or change the PIN that unlocks this phone's data (6 to 12 digits)."""
        assert self.session is not None
        if again is not None and pin != again:
            raise MissingInput("pin_mismatch")
        self.session.store.set_pin(pin)
        self._done("ui.saved.pin")

    # Sync -------------------------------------------------------------------------------

    @action
    def sync_now(self) -> None:
        """The "Sync now" button."""
        self._sync()

    @background
    def sync_in_background(self) -> None:
        """The app's own sync, every 30 s: not a person's input."""
        self._sync()

    def _sync(self) -> None:
        assert self.session is not None
        self.session.engine.sync()
        self.online = True
        self.retry_after = None
        self._apply_idle_lock()
        self._after_sync()

    def person_acted(self) -> None:
        """A tap, a save, a screen changed: the idle lock starts counting again."""
        if self.session is not None:
            self.session.store.note_input()

    def _apply_idle_lock(self) -> None:
        """The school's idle time (the lead's setting) on this phone's open store."""
        settings = self._store().get("school_settings", str(SCHOOL_SETTINGS_ID))
        minutes = (settings.fields if settings else {}).get("idle_lock_minutes")
        if minutes:
            self._store().idle_seconds = float(minutes) * 60

    def _after_sync(self) -> None:
        """What a role keeps from the server besides records (see `LeadState`)."""

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

    def rejected_reason(self, item: Any) -> str:
        """Why the server refused a change, in the user's language (`client.messages`)."""
        entry = item.entry
        record = self._store().get(entry.collection, entry.record_id)
        return rejected_text(
            entry.collection,
            entry.fields,
            item.code,
            item.message,
            self.lang,
            record.fields if record is not None else None,
        )

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

    def closed_cases_days(self) -> int:
        """How many days a closed case stays on the phones (the lead's setting)."""
        settings = self._store().get("school_settings", str(SCHOOL_SETTINGS_ID))
        return retention.days_on_phones(settings.fields if settings is not None else {})

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

    def item_label(self, item: Any) -> str:
        """A checklist item's words in the user's language (Chinese where none in English)."""
        return str(item.get("en") if self.lang == "en" and item.get("en") else item["zh"])

    def _done(self, notice: str) -> None:
        """Say what was done (`ui.saved.*`), shown until the next action."""
        self.notice = notice

    def _stamp(self) -> str:
        return self.now().astimezone(UTC).isoformat().replace("+00:00", "Z")

    def staff(self) -> list[dict[str, Any]]:
        """The staff list as last read from the server (kept on the phone, encrypted; only
        the lead's phone reads it, so elsewhere names are unknown and nothing is shown)."""
        kept = self._store().get_meta("staff") if self.session else None
        people: list[dict[str, Any]] = json.loads(kept) if kept else []
        return people

    def person_name(self, user_id: str) -> str:
        return next((p["display_name"] for p in self.staff() if p["id"] == user_id), "")


def typed_day(typed: date | str | None) -> date | None:
    """A day as given or typed (YYYY-MM-DD); empty is None, anything else says so."""
    if isinstance(typed, date) or typed is None or not typed.strip():
        return typed if isinstance(typed, date) else None
    try:
        return date.fromisoformat(typed.strip())
    except ValueError:
        raise MissingInput("date_format") from None
