"""`POST /api/v1/sync/push` and `POST /api/v1/sync/pull` (protocol version 1).

A plain, valid request is answered by `server.sync.direct`, ahead of FastAPI, with
`answer_push` and `answer_pull`; the routes declared here give the OpenAPI document and
the answers to every other request (a body that is not JSON, or not of the model's shape;
another method), as the rest of the API gives them.
"""

from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from starlette.datastructures import State

from server.accounts import Authenticated, authenticate, authenticate_with_counter
from server.deps import BearerToken
from server.errors import ApiError
from server.failures import database_unavailable
from server.sync import pull as pulling
from server.sync import push as pushing
from shared.schemas.wire import (
    ErrorBody,
    PullAfter,
    PullRequest,
    PullResponse,
    PushAnswer,
    PushRequest,
)


class _OrjsonRequest(Request):
    """A request whose JSON body is parsed by orjson, as `server.sync.direct` parses it
    (strict JSON: NaN and lone surrogates are a 400 malformed_json, not values)."""

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


# Each checks the caller and does its work in one trip through the thread pool, on one
# database connection held only while that thread runs, never while the request waits
# for a thread; the answer is encoded there too (a pull's page is up to megabytes).


# A pull only reads, each statement on its own: the counter, then records numbered up to
# it (the no-gap rule holds statement by statement, `server.sync.pull`). PostgreSQL reads
# committed data statement by statement in a transaction too, so the transaction's BEGIN
# and ROLLBACK were two round trips of the pull's four or five, for nothing.
_READS = {"isolation_level": "AUTOCOMMIT"}


def answer_push(state: State, token: str | None, body: PushRequest) -> bytes:
    with Session(state.engine) as session:
        caller = authenticate(session, token)
        answer = pushing.push(session, state.clock, caller, body).model_dump(mode="json")
        if body.pull is not None:
            answer.update(_pull_after(session, caller, body.device_id, body.pull))
    return orjson.dumps(answer)


def _pull_after(
    session: Session, caller: Authenticated, device_id: str, after: PullAfter
) -> dict[str, Any]:
    """The pull a push asked for, once the push is committed: the page a pull from that
    cursor would give now (the device's own changes among it), read as `answer_pull` reads
    (the counter first, then records numbered up to it). The push stands whatever happens
    here: a pull that cannot be answered says why beside the push's results, and the
    device pulls on its own (an unknown cursor, a database gone in between)."""
    session.commit()  # the push's (PostgreSQL's was committed by the write's own statements)
    request = PullRequest.model_construct(  # the same fields, validated with the push
        device_id=device_id, cursor=after.cursor, limit=after.limit
    )
    try:
        session.connection(execution_options=_READS)
        page = pulling.pull(session, caller, request, pulling.cursor_key(session))
    except ApiError as error:
        return {"pull": None, "pull_error": {"code": error.code, "message": error.message}}
    except SQLAlchemyError as error:
        if not database_unavailable(error):
            raise
        message = "The server's database could not be reached for the pull; pull again."
        return {"pull": None, "pull_error": {"code": "database_unavailable", "message": message}}
    return {"pull": page}


def answer_pull(state: State, token: str | None, body: PullRequest) -> bytes:
    with Session(state.engine) as session:
        session.connection(execution_options=_READS)
        caller, committed = authenticate_with_counter(session, token)
        if body.device_id != caller.device_id:
            raise ApiError(403, "forbidden", "This sign-in belongs to another device.")
        page = pulling.pull(session, caller, body, pulling.cursor_key(session), committed)
    # Stored JSON goes out as it is, without a round through the response model.
    return orjson.dumps(page)


@router.post("/push", response_model=PushAnswer, responses=_errors)
def push(body: PushRequest, request: Request, credentials: BearerToken) -> Response:
    token = credentials.credentials if credentials else None
    return Response(answer_push(request.app.state, token, body), media_type="application/json")


@router.post("/pull", response_model=PullResponse, responses=_errors)
def pull(body: PullRequest, request: Request, credentials: BearerToken) -> Response:
    token = credentials.credentials if credentials else None
    return Response(answer_pull(request.app.state, token, body), media_type="application/json")
