"""Sign-in, lockout, tokens, devices and the users a lead manages."""

import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, literal_column, update
from sqlalchemy import select as select_columns
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, col, select

from server.config import Settings
from server.errors import ApiError
from server.models import AccessToken, Device, LoginThrottle, User, utcnow
from server.security import (
    hash_password,
    new_token,
    token_digest,
    username_key,
    verify_password,
)
from shared.schemas.vocabulary import Role
from shared.schemas.wire import LoginRequest, LoginResponse, UserCreate, UserPublic, UserUpdate

# Writing last_seen on every request would turn every read into a write.
LAST_SEEN_GRANULARITY = timedelta(minutes=1)


@dataclass(frozen=True)
class Authenticated:
    """Who is calling: the user, and the device and token they call with."""

    user: User
    device_id: str
    token_id: uuid.UUID

    @property
    def role(self) -> Role:
        return Role(self.user.role)


def public(user: User) -> UserPublic:
    return UserPublic(
        id=user.id, username=user.username, display_name=user.display_name, role=Role(user.role)
    )


def _locked_out(throttle: LoginThrottle | None, now: datetime, what: str) -> None:
    if throttle and throttle.locked_until and throttle.locked_until > now:
        wait = int((throttle.locked_until - now).total_seconds()) + 1
        raise ApiError(
            429,
            "too_many_attempts",
            f"Too many failed sign-ins {what}; try again in {wait // 60 + 1} min.",
            {"Retry-After": str(wait)},
        )


def login(
    session: Session, settings: Settings, req: LoginRequest, address: str | None = None
) -> LoginResponse:
    """Check the password, apply the lockouts (per username, and per address so that one
    machine cannot try password after password across many usernames), register the
    device and issue a token."""
    now = utcnow()
    key = username_key(req.username)
    # ':' is never in a username, so an address's key cannot be someone's.
    where = f"addr:{address}"[:64] if address else None
    throttle = session.get(LoginThrottle, key)
    from_there = session.get(LoginThrottle, where) if where else None
    _locked_out(throttle, now, "for this username")
    _locked_out(from_there, now, "from this address")
    user = session.exec(select(User).where(User.username_key == key)).first()
    ok, upgraded = verify_password(req.password, user.password_hash if user else None)
    if user is None or not ok:
        _record_failure(session, settings, key, throttle, now, settings.max_login_failures)
        if where:
            limit = settings.max_login_failures_per_address
            _record_failure(session, settings, where, from_there, now, limit)
        raise ApiError(401, "invalid_credentials", "Wrong username or password.")
    if not user.active:
        raise ApiError(401, "account_disabled", "This account has been disabled.")
    device = session.get(Device, req.device_id)
    if device is not None and device.revoked_at is not None:
        raise ApiError(401, "device_revoked", "This device has been blocked by the school.")
    if device is None:
        device = Device(device_id=req.device_id, name=req.device_name)
    device.name, device.user_id, device.last_seen = req.device_name, user.id, now
    session.add(device)
    session.flush()  # the token below points at the device row
    if throttle is not None:
        session.delete(throttle)
    if upgraded:
        user.password_hash = upgraded
        session.add(user)
    token = new_token()
    expires_at = now + timedelta(days=settings.token_ttl_days)
    session.add(
        AccessToken(
            token_hash=token_digest(token),
            user_id=user.id,
            device_id=req.device_id,
            expires_at=expires_at,
        )
    )
    session.commit()
    return LoginResponse(token=token, expires_at=expires_at, user=public(user))


def _record_failure(
    session: Session,
    settings: Settings,
    key: str,
    throttle: LoginThrottle | None,
    now: datetime,
    limit: int,
) -> None:
    window = timedelta(minutes=settings.lockout_minutes)
    if throttle is None or now - throttle.first_failure_at > window or throttle.locked_until:
        if throttle is not None:
            session.delete(throttle)
            session.flush()
        throttle = LoginThrottle(username_key=key, failures=0, first_failure_at=now)
    throttle.failures += 1
    if throttle.failures >= limit:
        throttle.locked_until = now + window
    session.add(throttle)
    session.commit()


# Built once: every request of every phone runs it, and building the statement (and its
# cache key) again each time cost as much as running it. Read through Core, as plain rows:
# loading the three rows as ORM objects cost more than the query's round trip.
_USERS = User.__table__  # type: ignore[attr-defined]
_TOKENS = AccessToken.__table__  # type: ignore[attr-defined]
_DEVICES = Device.__table__  # type: ignore[attr-defined]
_USER_COLUMNS = tuple(column.name for column in _USERS.columns)
_SIGNED_IN = (
    select_columns(
        *_USERS.columns,
        _TOKENS.c.id.label("token_id"),
        _TOKENS.c.revoked_at.label("token_revoked_at"),
        _TOKENS.c.expires_at,
        _DEVICES.c.device_id.label("device_id"),
        _DEVICES.c.revoked_at.label("device_revoked_at"),
        _DEVICES.c.last_seen,
    )
    .select_from(_TOKENS)
    .join(_USERS, _USERS.c.id == _TOKENS.c.user_id)
    .join(_DEVICES, _DEVICES.c.device_id == _TOKENS.c.device_id)
    .where(_TOKENS.c.token_hash == bindparam("digest"))
)
# The change counter as it stands, read with the sign-in for a pull: one statement fewer
# (a pull reads records up to the counter's value, whenever it was read).
_SIGNED_IN_AND_COUNTER = _SIGNED_IN.add_columns(
    literal_column("(SELECT last_seq FROM seq_counter WHERE id = 1)").label("last_seq")
)
_SEEN = (
    update(_DEVICES)
    .where(_DEVICES.c.device_id == bindparam("device"))
    .values(last_seen=bindparam("now"))
)


def authenticate(session: Session, token: str | None) -> Authenticated:
    """The caller behind a bearer token, or the protocol's 401.

    The user comes detached from `session`, as a row read earlier would be.
    """
    return _check(session, token, _SIGNED_IN)[0]


def authenticate_with_counter(session: Session, token: str | None) -> tuple[Authenticated, int]:
    """`authenticate`, and the change counter's committed value read in the same statement."""
    caller, row = _check(session, token, _SIGNED_IN_AND_COUNTER)
    return caller, int(row.last_seq)


def _check(session: Session, token: str | None, statement: Any) -> tuple[Authenticated, Any]:
    if not token:
        raise ApiError(401, "missing_token", "Sign in first: no bearer token was sent.")
    now = utcnow()
    row = session.connection().execute(statement, {"digest": token_digest(token)}).first()
    if row is None:
        raise ApiError(401, "invalid_token", "This sign-in is not valid; sign in again.")
    # Told even on an old token, so that the device wipes its store at its next sync.
    if not row.active:
        raise ApiError(401, "account_disabled", "This account has been disabled.")
    if row.device_revoked_at is not None:
        raise ApiError(401, "device_revoked", "This device has been blocked by the school.")
    if row.token_revoked_at is not None or row.expires_at <= now:
        raise ApiError(401, "invalid_token", "This sign-in has expired; sign in again.")
    if now - row.last_seen > LAST_SEEN_GRANULARITY:
        session.connection().execute(_SEEN, {"device": row.device_id, "now": now})
        session.commit()
    user = User(**{name: row._mapping[name] for name in _USER_COLUMNS})
    make_transient_to_detached(user)
    return Authenticated(user=user, device_id=row.device_id, token_id=row.token_id), row


def logout(session: Session, caller: Authenticated) -> None:
    access = session.get(AccessToken, caller.token_id)
    if access is not None and access.revoked_at is None:
        access.revoked_at = utcnow()
        session.add(access)
        session.commit()


def revoke_tokens(session: Session, user_id: uuid.UUID) -> None:
    session.execute(
        update(AccessToken)
        .where(col(AccessToken.user_id) == user_id, col(AccessToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )


def create_user(session: Session, data: UserCreate) -> User:
    """Add an account; a taken username (in any case or width) is a 409."""
    name = unicodedata.normalize("NFC", data.username)
    key = username_key(name)
    if session.exec(select(User).where(User.username_key == key)).first():
        raise ApiError(409, "username_taken", f"The username {name!r} is already taken.")
    user = User(
        username=name,
        username_key=key,
        display_name=data.display_name,
        role=data.role.value,
        password_hash=hash_password(data.password),
    )
    session.add(user)
    return user


def update_user(session: Session, user: User, data: UserUpdate) -> User:
    """Edit an account; never leaves the school without an active lead."""
    changes = data.model_dump(exclude_unset=True)
    for name in ("role", "active", "display_name"):
        if changes.get(name) is None:
            changes.pop(name, None)
    loses_lead = (
        user.role == Role.LEAD
        and user.active
        and (changes.get("role", Role.LEAD) != Role.LEAD or changes.get("active", True) is False)
    )
    if loses_lead and active_leads(session) <= 1:
        raise ApiError(409, "last_lead", "The school needs at least one active lead.")
    if "display_name" in changes:
        user.display_name = changes["display_name"]
    if "role" in changes:
        user.role = Role(changes["role"]).value
    if "active" in changes:
        user.active = changes["active"]
    if changes.get("password"):
        user.password_hash = hash_password(changes["password"])
        # A reset password signs the account out everywhere.
        revoke_tokens(session, user.id)
    user.updated_at = utcnow()
    session.add(user)
    return user


def active_leads(session: Session) -> int:
    return session.exec(
        select(func.count()).select_from(User).where(User.role == Role.LEAD, User.active)
    ).one()
