"""`POST /api/v1/sync/push` and `POST /api/v1/sync/pull` (protocol version 1)."""

from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from server.deps import ClockDep, CurrentUser, SessionDep
from server.errors import ApiError
from server.sync import pull as pulling
from server.sync import push as pushing
from shared.schemas.wire import ErrorBody, PullRequest, PullResponse, PushRequest, PushResponse


class _OrjsonRequest(Request):
    """A request whose JSON body is parsed by orjson (a push is up to 4 MiB of JSON)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            # orjson.JSONDecodeError is a json.JSONDecodeError: still a 400 malformed_json.
            self._json = orjson.loads(await self.body())
        return self._json


class _OrjsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def parse_with_orjson(request: Request) -> Response:
            return await handler(_OrjsonRequest(request.scope, request.receive))

        return parse_with_orjson


router = APIRouter(prefix="/api/v1/sync", tags=["sync"], route_class=_OrjsonRoute)
_errors: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 413, 422)
}


@router.post("/push", response_model=PushResponse, responses=_errors)
def push(body: PushRequest, caller: CurrentUser, session: SessionDep, clock: ClockDep) -> Any:
    result = pushing.push(session, clock, caller, body)
    return Response(orjson.dumps(result.model_dump(mode="json")), media_type="application/json")


@router.post("/pull", response_model=PullResponse, responses=_errors)
def pull(body: PullRequest, caller: CurrentUser, session: SessionDep) -> Response:
    if body.device_id != caller.device_id:
        raise ApiError(403, "forbidden", "This sign-in belongs to another device.")
    page = pulling.pull(session, caller, body, pulling.cursor_key(session))
    # Stored JSON goes out as it is, without a round through the response model.
    return Response(orjson.dumps(page), media_type="application/json")
