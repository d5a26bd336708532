"""Who uses this phone: first sign-in online, unlock offline, switch user, sign out.

Each user has their own encrypted store on the device (cleaners share phones); only one
is unlocked at a time, and switching user locks the previous one.
"""

import contextlib
import hashlib
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from client.encrypted_store import EncryptedStore, Profile, StoreLocked, WrongSecret
from client.sync_engine import SyncEngine
from client.transport import Transport, TransportError


class SignInFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class OldSecretNeeded(Exception):
    """The password changed on the server: unlock the phone's data once with the old one."""


class UnsyncedChanges(Exception):
    def __init__(self, count: int) -> None:
        super().__init__(f"{count} changes have not reached the server yet.")
        self.count = count


@dataclass(frozen=True)
class PhoneUser:
    """A user with a store on this phone, as the sign-in screen lists them."""

    profile: Profile
    path: Path


@dataclass
class Session:
    """The signed-in user: their unlocked store and the engine that syncs it."""

    store: EncryptedStore
    engine: SyncEngine

    @property
    def profile(self) -> Profile:
        profile = self.store.profile()
        assert profile is not None
        return profile

    def display_name(self) -> str:
        return self.store.get_meta("display_name") or self.profile.username


class PhoneUsers:
    def __init__(
        self,
        folder: Path,
        transport_for: Callable[[str], Transport],
        *,
        device_name: str = "CareRounds",
        store_options: dict[str, Any] | None = None,
        persist: Callable[[], None] | None = None,
    ) -> None:
        """The users of the phone whose data lives in `folder`.

        Args:
            persist: makes the folder's latest writes durable (the browser's IndexedDB);
                called after each store transaction and each file written or removed.
        """
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.transport_for = transport_for
        self.device_name = device_name
        self.persist = persist or (lambda: None)
        self._store_options = {"after_commit": self.persist, **(store_options or {})}
        self.device_id = self._device_id()
        self.current: Session | None = None

    def _device_id(self) -> str:
        path = self.folder / "device_id"
        if not path.exists():
            path.write_text(f"phone-{secrets.token_hex(8)}")
            self.persist()
        return path.read_text().strip()

    def _path(self, server_url: str, username: str) -> Path:
        digest = hashlib.sha256(f"{server_url.rstrip('/')}|{username}".encode()).hexdigest()
        return self.folder / "users" / f"{digest[:24]}.db"

    def users(self) -> list[PhoneUser]:
        """Everyone with data on this phone (read without unlocking anything)."""
        found = []
        for path in sorted((self.folder / "users").glob("*.db")):
            with sqlite3.connect(path) as conn:
                try:
                    row = conn.execute(
                        "SELECT user_id, username, role, server_url FROM profile"
                    ).fetchone()
                except sqlite3.DatabaseError:
                    row = None
            conn.close()
            if row is not None:
                found.append(PhoneUser(Profile(*row), path))
        return found

    def wipe_device(self) -> None:
        """The school blocked this phone (lost, stolen): every person's data on it goes,
        not only the one who happened to reach the server first."""
        self.current = None
        for user in self.users():
            store = EncryptedStore(user.path, self.device_id, **self._store_options)
            try:
                store.wipe()
            finally:
                store.close()
            user.path.unlink(missing_ok=True)
        self.persist()

    def sign_in_online(
        self,
        server_url: str,
        username: str,
        password: str,
        *,
        old_secret: str | None = None,
        start_fresh: bool = False,
    ) -> Session:
        """First sign-in on this phone (or after the password changed): needs the server."""
        transport = self.transport_for(server_url)
        try:
            reply = transport.post(
                "/api/v1/auth/login",
                {
                    "username": username,
                    "password": password,
                    "device_id": self.device_id,
                    "device_name": self.device_name,
                },
                None,
            )
        except TransportError as exc:
            raise SignInFailed(
                "offline", "The first sign-in on a phone needs the server; check the network."
            ) from exc
        if reply.status != 200:
            if reply.error_code == "device_revoked":
                self.wipe_device()
            raise SignInFailed(reply.error_code or "error", reply.error_message)
        user = reply.body["user"]
        profile = Profile(user["id"], user["username"], user["role"], server_url.rstrip("/"))
        path = self._path(profile.server_url, profile.username)
        self.lock_current()
        if path.exists() and start_fresh:
            EncryptedStore(path, self.device_id, **self._store_options).wipe()
            path.unlink(missing_ok=True)
            self.persist()
        if path.exists():
            store = EncryptedStore(path, self.device_id, **self._store_options)
            if store.profile() is None:  # what a wipe left: nobody's data
                store.close()
                path.unlink()
                self.persist()
        if path.exists():
            try:
                self._unlock_after_password_change(store, password, old_secret)
            except BaseException:
                store.close()
                raise
        else:
            store = EncryptedStore.create(
                path, self.device_id, password, profile, **self._store_options
            )
        store.set_meta("token", reply.body["token"])
        store.set_meta("display_name", user["display_name"])
        return self._start(store, transport)

    @staticmethod
    def _unlock_after_password_change(
        store: EncryptedStore, password: str, old_secret: str | None
    ) -> None:
        # The server has just checked `password`: trying it locally is no guess to count.
        if store.try_unlock(password):
            return
        if old_secret is None:
            raise OldSecretNeeded("Your password changed: enter the old password or PIN once.")
        kinds = ("password", "pin") if old_secret.isdigit() and store.has_pin() else ("password",)
        for kind in kinds:
            try:
                store.unlock(old_secret, kind)
                break
            except WrongSecret:
                if kind == kinds[-1]:
                    raise
        store.replace_password(password)

    def unlock(self, user: PhoneUser, secret: str, kind: str = "password") -> Session:
        """Offline unlock of a user's store on this phone; locks whoever was signed in."""
        self.lock_current()
        store = EncryptedStore(user.path, self.device_id, **self._store_options)
        try:
            store.unlock(secret, kind)
        except BaseException:
            store.close()
            raise
        return self._start(store, self.transport_for(user.profile.server_url))

    def _start(self, store: EncryptedStore, transport: Transport) -> Session:
        token = store.get_meta("token") or ""
        self.current = Session(store, SyncEngine(store, transport, token))
        return self.current

    def lock_current(self) -> None:
        if self.current is not None:
            self.current.store.lock()
            self.current.store.close()
            self.current = None

    def sign_out(self, *, force: bool = False) -> None:
        """Sign out and remove this user's data from the phone.

        Raises:
            UnsyncedChanges: changes would be lost; sync first or pass force=True.
        """
        session = self.current
        if session is None:
            return
        try:
            pending = session.store.pending_count()
            if pending and not force:
                raise UnsyncedChanges(pending)
            token = session.store.get_meta("token")
        except StoreLocked:
            token = None
        # Offline, the token expires on its own; the data goes now either way.
        with contextlib.suppress(TransportError):
            session.engine.transport.post("/api/v1/auth/logout", {}, token)
        path = Path(session.store.path)
        session.store.wipe()
        session.store.close()
        path.unlink(missing_ok=True)
        self.persist()
        self.current = None
