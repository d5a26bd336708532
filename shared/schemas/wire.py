"""The messages of protocol version 1: auth, push, pull, results and errors."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.schemas.types import DeviceId, Name, OneLine, PersonName
from shared.schemas.vocabulary import Role

MAX_BATCH_CHANGES = 1_000
MAX_BATCH_BYTES = 4 * 1024 * 1024
MAX_PULL_LIMIT = 5_000
DEFAULT_PULL_LIMIT = 500

# Usernames are what people type: letters of any script (Chinese included), digits, . _ @ -
Username = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[\w.@-]{1,64}$")]
# The pattern keeps control characters out of usernames; passwords refuse them too (a
# lone surrogate cannot even be encoded for the hash, and nobody types a NUL).
Password = Annotated[str, StringConstraints(min_length=1, max_length=256), OneLine]
NewPassword = Annotated[str, StringConstraints(min_length=8, max_length=256), OneLine]


class Message(BaseModel):
    """A request body: unknown keys are refused so that typos never pass silently."""

    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class LoginRequest(Message):
    username: Username
    password: Password
    device_id: DeviceId
    device_name: Name


class UserPublic(BaseModel):
    id: UUID
    username: str
    display_name: str
    role: Role


class LoginResponse(BaseModel):
    token: str
    expires_at: datetime
    user: UserPublic


class Change(Message):
    change_id: UUID
    collection: str = Field(max_length=64)
    record_id: UUID
    hlc: str = Field(max_length=100)
    base_seq: int | None = Field(default=None, ge=0)
    fields: dict[str, Any] = Field(default_factory=dict)
    deleted: bool = False


class PullAfter(Message):
    """Where a pull starts, and its page size: a pull's, or one asked for with a push
    (answered from this cursor once the push is applied)."""

    cursor: str | None = Field(default=None, max_length=20_000)
    # The protocol treats a larger limit as the maximum rather than an error.
    limit: int = Field(default=DEFAULT_PULL_LIMIT, ge=1)


class PushRequest(Message):
    device_id: DeviceId
    # More than MAX_BATCH_CHANGES is the protocol's `413 batch_too_large`, said by the server.
    changes: list[Change]
    # The sync's pull in the same round trip (an addition to version 1; see the protocol).
    pull: PullAfter | None = None


class ChangeStatus(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    REJECTED = "rejected"


class ChangeResult(BaseModel):
    change_id: UUID
    status: ChangeStatus
    seq: int | None = None
    error: ErrorDetail | None = None


class PushResponse(BaseModel):
    results: list[ChangeResult]


class PullRequest(PullAfter):
    device_id: DeviceId


class PulledChange(BaseModel):
    collection: str
    record_id: UUID
    seq: int
    fields: dict[str, Any]
    field_hlc: dict[str, str]
    deleted: bool
    updated_by: UUID | None
    updated_at: datetime


class RemovedRecord(BaseModel):
    collection: str
    record_id: UUID


class PullResponse(BaseModel):
    changes: list[PulledChange]
    removed: list[RemovedRecord]
    cursor: str | None
    has_more: bool


class PushAnswer(PushResponse):
    """A push's answer as the wire has it: with the page of the pull it asked for (`pull`
    only when asked; null, with `pull_error`, when that pull could not be answered)."""

    pull: PullResponse | None = None
    pull_error: ErrorDetail | None = None


# Administration (a lead's token) ------------------------------------------------------


class UserCreate(Message):
    username: Username
    display_name: PersonName
    role: Role
    password: NewPassword


class UserUpdate(Message):
    display_name: PersonName | None = None
    role: Role | None = None
    active: bool | None = None
    password: NewPassword | None = None


class UserAdminView(UserPublic):
    active: bool
    created_at: datetime


class RecordView(BaseModel):
    """A synced record as the administration API shows it."""

    collection: str
    record_id: UUID
    seq: int
    fields: dict[str, Any]
    deleted: bool
    updated_by: UUID | None
    updated_at: datetime


class DeviceView(BaseModel):
    device_id: str
    name: str
    user_id: UUID | None
    first_seen: datetime
    last_seen: datetime
    revoked: bool
