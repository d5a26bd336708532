"""Sign-in and sign-out (protocol version 1)."""

from fastapi import APIRouter, Request, Response

from server import accounts
from server.deps import CurrentUser, SessionDep, SettingsDep
from shared.schemas.wire import ErrorBody, LoginRequest, LoginResponse, UserPublic

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
_errors: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody},
    422: {"model": ErrorBody},
    429: {"model": ErrorBody},
}


@router.post("/login", response_model=LoginResponse, responses=_errors)
def login(
    body: LoginRequest, request: Request, session: SessionDep, settings: SettingsDep
) -> LoginResponse:
    # The client's address as uvicorn resolved it (through a trusted proxy's headers).
    address = request.client.host if request.client else None
    return accounts.login(session, settings, body, address)


@router.post("/logout", status_code=204, responses=_errors)
def logout(caller: CurrentUser, session: SessionDep) -> Response:
    accounts.logout(session, caller)
    return Response(status_code=204)


@router.get("/me", response_model=UserPublic, responses=_errors)
def me(caller: CurrentUser) -> UserPublic:
    return accounts.public(caller.user)
