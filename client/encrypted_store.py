"""The device store encrypted at rest: what people typed is sealed with AES-256-GCM.

One random 256-bit data key per store seals every record value, pending change and
metadata value, with associated data that names the table, collection and record, so a
sealed value moved onto another record fails to open. The data key itself is stored only
wrapped, once per secret (the password, and a PIN if the user set one), under a key
derived from that secret with Scrypt; the Scrypt settings are kept beside each wrap.

The key lives in memory only while the store is unlocked: `lock()` (or idling past the
limit) drops it, and ten wrong secrets in a row destroy the store, a count that survives
restarts because it is written before each guess is checked.
"""

import os
import re
import sqlite3
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from client import codec
from client.crypto import (
    PASSWORD_PARAMS,
    PIN_PARAMS,
    Crypto,
    IntegrityError,
    ScryptParams,
    default_crypto,
)
from client.plain_store import PlainStore

MAX_FAILED_UNLOCKS = 10
PIN_PATTERN = re.compile(r"[0-9]{6,12}")
SALT_BYTES = 16


class StoreLocked(Exception):
    """The store is locked: unlock it with the password or PIN."""


class WrongSecret(Exception):
    def __init__(self, remaining: int) -> None:
        super().__init__(f"Wrong password or PIN; {remaining} tries left before the data is wiped.")
        self.remaining = remaining


class DataWiped(Exception):
    """Too many wrong secrets in a row: the store was destroyed."""


class InvalidPin(ValueError):
    """A PIN is 6 to 12 digits."""


@dataclass(frozen=True)
class Profile:
    """Whose store this is; readable while locked, so a shared phone can list its users."""

    user_id: str
    username: str
    role: str
    server_url: str


class EncryptedStore(PlainStore):
    def __init__(
        self,
        path: str | Path,
        device_id: str,
        *,
        crypto: Crypto | None = None,
        idle_seconds: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
        **options: Any,
    ) -> None:
        """`options` go to `PlainStore` (the journal mode, the hook after each commit)."""
        self._crypto: Crypto = crypto or default_crypto()
        self._key: bytes | None = None
        self._idle_seconds = idle_seconds
        self._monotonic = monotonic
        self._last_used = monotonic()
        super().__init__(path, device_id, **options)

    @classmethod
    def create(
        cls,
        path: str | Path,
        device_id: str,
        password: str,
        profile: Profile,
        **options: Any,
    ) -> "EncryptedStore":
        """A new, unlocked store for `profile`, its key wrapped under `password`."""
        store = cls(path, device_id, **options)
        if store.profile() is not None:
            raise FileExistsError(f"{path} already holds a store")
        key = store._crypto.new_key()
        with store._tx_unchecked() as conn:
            conn.execute(
                "INSERT INTO profile (id, user_id, username, role, server_url)"
                " VALUES (1, ?, ?, ?, ?)",
                (profile.user_id, profile.username, profile.role, profile.server_url),
            )
            store._write_wrap(conn, "password", password, key, PASSWORD_PARAMS)
        store._key = key
        store._touch()
        store._load_clock()
        return store

    # Locking --------------------------------------------------------------------------

    @property
    def is_locked(self) -> bool:
        if self._key is not None and self._idle():
            self.lock()
        return self._key is None

    def note_input(self) -> None:
        """A person did something (a tap, a save): the idle time starts again. After the
        idle time has passed it is too late: the store locks instead."""
        if not self.is_locked:
            self._touch()

    @property
    def idle_seconds(self) -> float:
        return self._idle_seconds

    @idle_seconds.setter
    def idle_seconds(self, seconds: float) -> None:
        """The school's setting (the lead's), applied once it has synced."""
        self._idle_seconds = seconds

    def lock(self) -> None:
        """Forget the data key; everything but the profile is unreadable until unlocked."""
        self._key = None
        self._crypto.forget()

    def unlock(self, secret: str, kind: str = "password") -> None:
        """Open the store offline with the password (or the PIN, `kind="pin"`).

        Raises:
            WrongSecret: with the tries left; DataWiped: that was the last one.
        """
        row = self._conn.execute("SELECT * FROM keyring WHERE kind = ?", (kind,)).fetchone()
        with self._tx_unchecked() as conn:
            conn.execute("UPDATE lock_state SET failed_attempts = failed_attempts + 1")
            failed = conn.execute("SELECT failed_attempts FROM lock_state").fetchone()[0]
        key = self._unwrap(row, secret, kind) if row is not None else None
        if key is None:
            if failed >= MAX_FAILED_UNLOCKS:
                self._destroy()
                raise DataWiped("Too many wrong passwords or PINs: the data on this phone is gone.")
            raise WrongSecret(MAX_FAILED_UNLOCKS - failed)
        with self._tx_unchecked() as conn:
            conn.execute("UPDATE lock_state SET failed_attempts = 0")
        self._key = key
        self._touch()
        self._load_clock()

    def try_unlock(self, password: str) -> bool:
        """Unlock with a password the server has just verified; a miss is not counted."""
        row = self._conn.execute("SELECT * FROM keyring WHERE kind = 'password'").fetchone()
        key = self._unwrap(row, password, "password") if row is not None else None
        if key is None:
            return False
        with self._tx_unchecked() as conn:
            conn.execute("UPDATE lock_state SET failed_attempts = 0")
        self._key = key
        self._touch()
        self._load_clock()
        return True

    def failed_attempts(self) -> int:
        return int(self._conn.execute("SELECT failed_attempts FROM lock_state").fetchone()[0])

    def profile(self) -> Profile | None:
        row = self._conn.execute("SELECT * FROM profile").fetchone()
        if row is None:
            return None
        return Profile(row["user_id"], row["username"], row["role"], row["server_url"])

    # Secrets --------------------------------------------------------------------------

    def change_password(self, current: str, new: str) -> None:
        """Re-wrap the data key under a new password; the data is not re-encrypted."""
        key = self._require_key()
        row = self._conn.execute("SELECT * FROM keyring WHERE kind = 'password'").fetchone()
        if self._unwrap(row, current, "password") != key:
            raise WrongSecret(MAX_FAILED_UNLOCKS - self.failed_attempts())
        with self._tx() as conn:
            self._write_wrap(conn, "password", new, key, PASSWORD_PARAMS)

    def replace_password(self, new: str) -> None:
        """Re-wrap under a new password while unlocked (the server already checked it)."""
        key = self._require_key()
        with self._tx() as conn:
            self._write_wrap(conn, "password", new, key, PASSWORD_PARAMS)

    def set_pin(self, pin: str) -> None:
        if PIN_PATTERN.fullmatch(pin) is None:
            raise InvalidPin("A PIN is 6 to 12 digits.")
        key = self._require_key()
        with self._tx() as conn:
            self._write_wrap(conn, "pin", pin, key, PIN_PARAMS)

    def remove_pin(self) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM keyring WHERE kind = 'pin'")

    def has_pin(self) -> bool:
        return self._conn.execute("SELECT 1 FROM keyring WHERE kind = 'pin'").fetchone() is not None

    def _write_wrap(
        self, conn: Any, kind: str, secret: str, key: bytes, params: ScryptParams
    ) -> None:
        salt = os.urandom(SALT_BYTES)
        wrapping = self._crypto.derive(secret, salt, params)
        wrapped = self._crypto.seal(wrapping, key, self._wrap_ad(kind))
        conn.execute(
            "INSERT OR REPLACE INTO keyring (kind, salt, n, r, p, wrapped)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (kind, salt, params.n, params.r, params.p, wrapped),
        )

    def _unwrap(self, row: Any, secret: str, kind: str) -> bytes | None:
        params = ScryptParams(row["n"], row["r"], row["p"])
        wrapping = self._crypto.derive(secret, row["salt"], params)
        try:
            return self._crypto.open(wrapping, row["wrapped"], self._wrap_ad(kind))
        except IntegrityError:
            return None

    def _wrap_ad(self, kind: str) -> bytes:
        profile = self.profile()
        owner = profile.user_id if profile else ""
        return f"carerounds-key|{kind}|{owner}".encode()

    # The hooks of PlainStore ----------------------------------------------------------

    def _idle(self) -> bool:
        return self._monotonic() - self._last_used > self._idle_seconds

    def _touch(self) -> None:
        self._last_used = self._monotonic()

    def _require_key(self) -> bytes:
        # Using the store is not a person's input (a background sync uses it every 30 s):
        # only `note_input` keeps it open, so a phone left on a desk locks.
        if self.is_locked or self._key is None:
            raise StoreLocked("The store is locked; unlock it with your password or PIN.")
        return self._key

    def _check_open(self) -> None:
        self._require_key()

    def _tx_unchecked(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._tx_raw()

    def _load_clock(self) -> None:
        if self._key is not None:
            super()._load_clock()

    def _seal_encoded(self, plaintext: bytes, associated: str) -> bytes:
        return self._crypto.seal(self._require_key(), plaintext, associated.encode())

    def _unseal(self, raw: str | bytes, associated: str) -> Any:
        if isinstance(raw, str):
            raise IntegrityError("an unsealed value in an encrypted store")
        return codec.loads(self._crypto.open(self._require_key(), raw, associated.encode()))

    def _seal_many(self, items: Sequence[tuple[bytes, str]]) -> list[str | bytes]:
        sealed = self._crypto.seal_many(
            self._require_key(), [(plain, associated.encode()) for plain, associated in items]
        )
        return list(sealed)

    def _unseal_many(self, items: Sequence[tuple[str | bytes, str]]) -> list[Any]:
        if any(isinstance(raw, str) for raw, _ in items):
            raise IntegrityError("an unsealed value in an encrypted store")
        opened = self._crypto.open_many(
            self._require_key(),
            [(raw, associated.encode()) for raw, associated in items if isinstance(raw, bytes)],
        )
        return [codec.loads(plain) for plain in opened]

    def _open_many(self, items: Sequence[tuple[str | bytes, str]]) -> list[bytes]:
        if any(isinstance(raw, str) for raw, _ in items):
            raise IntegrityError("an unsealed value in an encrypted store")
        return self._crypto.open_many(
            self._require_key(),
            [(raw, associated.encode()) for raw, associated in items if isinstance(raw, bytes)],
        )

    def _destroy(self) -> None:
        self.lock()
        PlainStore.wipe(self)

    def wipe(self) -> None:
        """Destroy this user's data on the device (remote wipe, sign-out)."""
        self._destroy()
