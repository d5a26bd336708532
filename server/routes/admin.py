"""The lead's administration API: people, devices, and the school's setup records."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Response
from sqlmodel import col, select

from server import accounts, records, school_setup
from server.deps import ClockDep, LeadUser, SessionDep
from server.errors import ApiError
from server.models import AccessToken, Device, User, utcnow
from server.records import RecordWriter
from shared.schemas.collections import COLLECTIONS, SCHOOL_SETTINGS_ID
from shared.schemas.types import DEVICE_ID_PATTERN
from shared.schemas.wire import (
    DeviceView,
    ErrorBody,
    RecordView,
    UserAdminView,
    UserCreate,
    UserUpdate,
)

router = APIRouter(prefix="/api/v1/admin", tags=["administration"])
_errors: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 409, 422)
}
# A device id that could not be one (a NUL in it would reach PostgreSQL) is a 422.
DevicePath = Annotated[str, Path(pattern=DEVICE_ID_PATTERN)]


def _user_view(user: User) -> UserAdminView:
    return UserAdminView(
        **accounts.public(user).model_dump(), active=user.active, created_at=user.created_at
    )


def _user(session: SessionDep, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise ApiError(404, "not_found", f"No user {user_id}.")
    return user


@router.get("/users", response_model=list[UserAdminView], responses=_errors)
def list_users(_lead: LeadUser, session: SessionDep) -> list[UserAdminView]:
    users = session.exec(select(User).order_by(col(User.role), col(User.username)))
    return [_user_view(u) for u in users]


@router.post("/users", status_code=201, response_model=UserAdminView, responses=_errors)
def create_user(body: UserCreate, _lead: LeadUser, session: SessionDep) -> UserAdminView:
    user = accounts.create_user(session, body)
    session.commit()
    return _user_view(user)


@router.get("/users/{user_id}", response_model=UserAdminView, responses=_errors)
def get_user(user_id: uuid.UUID, _lead: LeadUser, session: SessionDep) -> UserAdminView:
    return _user_view(_user(session, user_id))


@router.patch("/users/{user_id}", response_model=UserAdminView, responses=_errors)
def update_user(
    user_id: uuid.UUID, body: UserUpdate, _lead: LeadUser, session: SessionDep
) -> UserAdminView:
    user = accounts.update_user(session, _user(session, user_id), body)
    session.commit()
    return _user_view(user)


@router.get("/devices", response_model=list[DeviceView], responses=_errors)
def list_devices(_lead: LeadUser, session: SessionDep) -> list[DeviceView]:
    devices = session.exec(select(Device).order_by(col(Device.last_seen).desc()))
    return [_device_view(d) for d in devices]


def _device_view(device: Device) -> DeviceView:
    return DeviceView(
        device_id=device.device_id,
        name=device.name,
        user_id=device.user_id,
        first_seen=device.first_seen,
        last_seen=device.last_seen,
        revoked=device.revoked_at is not None,
    )


@router.post("/devices/{device_id}/revoke", response_model=DeviceView, responses=_errors)
def revoke_device(device_id: DevicePath, _lead: LeadUser, session: SessionDep) -> DeviceView:
    """Block a lost phone: its tokens stop working and it wipes itself when it next syncs."""
    device = session.get(Device, device_id)
    if device is None:
        raise ApiError(404, "not_found", f"No device {device_id!r}.")
    device.revoked_at = device.revoked_at or utcnow()
    session.add(device)
    session.commit()
    return _device_view(device)


@router.post("/devices/{device_id}/restore", response_model=DeviceView, responses=_errors)
def restore_device(device_id: DevicePath, _lead: LeadUser, session: SessionDep) -> DeviceView:
    """Unblock a found phone; its old tokens stay revoked, so its user signs in again."""
    device = session.get(Device, device_id)
    if device is None:
        raise ApiError(404, "not_found", f"No device {device_id!r}.")
    if device.revoked_at is not None:
        for token in session.exec(select(AccessToken).where(AccessToken.device_id == device_id)):
            token.revoked_at = token.revoked_at or utcnow()
            session.add(token)
        device.revoked_at = None
        session.add(device)
        session.commit()
    return _device_view(device)


@router.get("/settings", response_model=RecordView, responses=_errors)
def get_settings(_lead: LeadUser, session: SessionDep, clock: ClockDep) -> RecordView:
    """The school's rules: time zone, closed days, checks per day, contact intervals."""
    record = records.get_live(session, "school_settings", SCHOOL_SETTINGS_ID)
    if record is None:
        writer = RecordWriter(session, clock)
        record = school_setup.create(writer, None, "school_settings", {}, SCHOOL_SETTINGS_ID)
        writer.finish()
        session.commit()
    return records.view(record)


@router.patch("/settings", response_model=RecordView, responses=_errors)
def update_settings(
    lead: LeadUser,
    session: SessionDep,
    clock: ClockDep,
    body: dict[str, Any] = Body(),  # noqa: B008
) -> RecordView:
    """Change the school's rules; `closed_days.2026-10-01` adds one closed day."""
    writer = RecordWriter(session, clock)
    if writer.get_live("school_settings", SCHOOL_SETTINGS_ID) is None:
        school_setup.create(writer, lead.user.id, "school_settings", {}, SCHOOL_SETTINGS_ID)
    record = school_setup.update(writer, lead.user.id, "school_settings", SCHOOL_SETTINGS_ID, body)
    writer.finish()
    session.commit()
    return records.view(record)


def _add_collection_routes(name: str) -> None:
    schema: Any = COLLECTIONS[name].schema

    @router.get(f"/{name}", response_model=list[RecordView], responses=_errors, name=f"list_{name}")
    def list_records(_lead: LeadUser, session: SessionDep) -> list[RecordView]:
        return [records.view(r) for r in records.live(session, name)]

    @router.post(
        f"/{name}",
        status_code=201,
        response_model=RecordView,
        responses=_errors,
        name=f"create_{name}",
    )
    def create_record(
        body: schema, lead: LeadUser, session: SessionDep, clock: ClockDep
    ) -> RecordView:
        writer = RecordWriter(session, clock)
        record = school_setup.create(writer, lead.user.id, name, body.model_dump(mode="json"))
        writer.finish()
        session.commit()
        return records.view(record)

    @router.get(
        f"/{name}/{{record_id}}", response_model=RecordView, responses=_errors, name=f"get_{name}"
    )
    def get_record(record_id: uuid.UUID, _lead: LeadUser, session: SessionDep) -> RecordView:
        record = records.get_live(session, name, record_id)
        if record is None:
            raise ApiError(404, "not_found", f"No {name} record {record_id}.")
        return records.view(record)

    @router.patch(
        f"/{name}/{{record_id}}",
        response_model=RecordView,
        responses=_errors,
        name=f"update_{name}",
    )
    def update_record(
        record_id: uuid.UUID,
        lead: LeadUser,
        session: SessionDep,
        clock: ClockDep,
        body: dict[str, Any] = Body(),  # noqa: B008
    ) -> RecordView:
        writer = RecordWriter(session, clock)
        record = school_setup.update(writer, lead.user.id, name, record_id, body)
        writer.finish()
        session.commit()
        return records.view(record)

    @router.delete(
        f"/{name}/{{record_id}}", status_code=204, responses=_errors, name=f"delete_{name}"
    )
    def delete_record(
        record_id: uuid.UUID, lead: LeadUser, session: SessionDep, clock: ClockDep
    ) -> Response:
        writer = RecordWriter(session, clock)
        school_setup.delete(writer, lead.user.id, name, record_id)
        writer.finish()
        session.commit()
        return Response(status_code=204)


for _name in school_setup.SETUP_COLLECTIONS:
    _add_collection_routes(_name)
