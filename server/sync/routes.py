"""`POST /api/v1/sync/push` and `POST /api/v1/sync/pull` (protocol version 1)."""

from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from server.deps import BearerToken, caller_of, request_session
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


# The two endpoints every phone calls every few seconds check the caller and do their work
# in one trip through the thread pool, on one database connection (`request_session`):
# a dependency in a thread of its own and a second checkout cost more than an empty pull.


@router.post("/push", response_model=PushResponse, responses=_errors)
def push(body: PushRequest, request: Request, credentials: BearerToken) -> Response:
    with request_session(request) as session:
        caller = caller_of(session, credentials)
        result = pushing.push(session, request.app.state.clock, caller, body)
    return Response(orjson.dumps(result.model_dump(mode="json")), media_type="application/json")


@router.post("/pull", response_model=PullResponse, responses=_errors)
def pull(body: PullRequest, request: Request, credentials: BearerToken) -> Response:
    with request_session(request) as session:
        caller = caller_of(session, credentials)
        if body.device_id != caller.device_id:
            raise ApiError(403, "forbidden", "This sign-in belongs to another device.")
        page = pulling.pull(session, caller, body, pulling.cursor_key(session))
    # Stored JSON goes out as it is, without a round through the response model.
    return Response(orjson.dumps(page), media_type="application/json")
