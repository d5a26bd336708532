"""Database tables: accounts, devices and tokens; synced records and their change log."""

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back time-zone aware (SQLite drops zones)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _when(nullable: bool = False, **kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, nullable=nullable, **kw)


def _json() -> Any:
    return Field(sa_column=sa.Column(sa.JSON, nullable=False))


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    # Case- and width-folded form, so "Lead" and "lead" (or full-width letters) are one name.
    username_key: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=50)
    role: str = Field(max_length=20)
    password_hash: str = Field(max_length=255)
    active: bool = True
    created_at: datetime = _when(default_factory=utcnow)
    updated_at: datetime = _when(default_factory=utcnow)


class Device(SQLModel, table=True):
    """A phone or computer that has signed in; shared phones carry several users."""

    __tablename__ = "devices"

    device_id: str = Field(max_length=64, primary_key=True)
    name: str = Field(max_length=100)
    user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    first_seen: datetime = _when(default_factory=utcnow)
    last_seen: datetime = _when(default_factory=utcnow)
    revoked_at: datetime | None = _when(nullable=True, default=None)


class AccessToken(SQLModel, table=True):
    """A bearer token, kept only as its SHA-256 so a database leak gives no sessions."""

    __tablename__ = "access_tokens"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    device_id: str = Field(max_length=64, foreign_key="devices.device_id", index=True)
    created_at: datetime = _when(default_factory=utcnow)
    expires_at: datetime = _when()
    revoked_at: datetime | None = _when(nullable=True, default=None)


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins per username (known or not), for the lockout."""

    __tablename__ = "login_throttles"

    username_key: str = Field(max_length=64, primary_key=True)
    failures: int = 0
    first_failure_at: datetime = _when(default_factory=utcnow)
    locked_until: datetime | None = _when(nullable=True, default=None)


class Record(SQLModel, table=True):
    """The current state of one synced record, with the clock of each field it holds."""

    __tablename__ = "records"
    # A pull reads one user's buckets in change order.
    __table_args__ = (sa.Index("ix_records_bucket_seq", "bucket", "seq"),)

    collection: str = Field(max_length=64, primary_key=True)
    record_id: uuid.UUID = Field(primary_key=True)
    fields: dict[str, Any] = _json()
    field_hlc: dict[str, str] = _json()
    # Per register: the seq that last wrote it and who did (for conflict records).
    field_meta: dict[str, Any] = _json()
    deleted: bool = False
    seq: int = Field(index=True)
    # Who may read it (see server.sync.scopes): the bucket it lives in, and the collection
    # whose rules apply (a conflict record is read like the record it points at).
    bucket: str = Field(max_length=100)
    scope_collection: str = Field(max_length=64)
    created_by: uuid.UUID | None = Field(default=None)
    created_at: datetime = _when(default_factory=utcnow)
    updated_by: uuid.UUID | None = Field(default=None)
    updated_at: datetime = _when(default_factory=utcnow)


class ChangeLog(SQLModel, table=True):
    """Every change ever applied, numbered by `seq` in commit order."""

    __tablename__ = "changes"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    change_id: uuid.UUID = Field(unique=True)
    collection: str = Field(max_length=64)
    record_id: uuid.UUID
    user_id: uuid.UUID | None = Field(default=None)
    device_id: str | None = Field(default=None, max_length=64)
    hlc: str = Field(max_length=100)
    fields: dict[str, Any] = _json()
    deleted: bool = False
    received_at: datetime = _when(default_factory=utcnow)


class Move(SQLModel, table=True):
    """A record left a bucket at `seq`: devices that read that bucket must drop it."""

    __tablename__ = "moves"
    # A pull reads the moves out of its user's buckets past its cursor (not all of them).
    __table_args__ = (sa.Index("ix_moves_from_bucket_seq", "from_bucket", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(index=True)
    collection: str = Field(max_length=64)
    record_id: uuid.UUID
    from_bucket: str = Field(max_length=100)
    scope_collection: str = Field(max_length=64)


class PurgedRecord(SQLModel, table=True):
    """A record the retention purge deleted: its id only, so that no change can make it
    again (its change history went with it, so a creation sent again would not be known
    as a `duplicate`)."""

    __tablename__ = "purged_records"

    collection: str = Field(max_length=64, primary_key=True)
    record_id: uuid.UUID = Field(primary_key=True)
    purged_at: datetime = _when(default_factory=utcnow)


class ServerKey(SQLModel, table=True):
    """Random keys made once per database and shared by every server process."""

    __tablename__ = "server_keys"

    name: str = Field(max_length=32, primary_key=True)
    value: str = Field(max_length=128)


class SeqCounter(SQLModel, table=True):
    """The one row that hands out change numbers (see `server.records.allocate_seq`)."""

    __tablename__ = "seq_counter"

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    last_seq: int = 0
