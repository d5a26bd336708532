"""Request dependencies, declared once: the session, the caller, the lead."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from server.accounts import Authenticated, authenticate
from server.config import Settings
from server.errors import ApiError
from shared.hlc import Clock
from shared.schemas.vocabulary import Role

_bearer = HTTPBearer(auto_error=False)


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ClockDep = Annotated[Clock, Depends(get_clock)]


BearerToken = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def current_user(session: SessionDep, credentials: BearerToken) -> Authenticated:
    caller = authenticate(session, credentials.credentials if credentials else None)
    # The endpoint runs in a thread of its own, which it may have to wait for: give the
    # connection back to the pool meanwhile (the caller's user is detached already).
    # Holding it, 500 devices deadlocked each server process until the pool's timeout:
    # the pool's connections held by requests waiting for a thread, every thread held by a
    # request waiting for a connection (bench.many_devices, docs/benchmarks.md).
    session.commit()
    return caller


CurrentUser = Annotated[Authenticated, Depends(current_user)]


def require_lead(caller: CurrentUser) -> Authenticated:
    if caller.role is not Role.LEAD:
        raise ApiError(403, "forbidden", "Only the prevention lead may do this.")
    return caller


LeadUser = Annotated[Authenticated, Depends(require_lead)]
