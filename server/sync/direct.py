"""Push and pull answered directly: the two requests every phone makes every few seconds.

FastAPI's way through a request (its router, the request object, the dependencies, the
body's validation and the exception handlers) cost more of the server's CPU than an empty
pull's own work. These two are taken here, inside every middleware (so the body limit's
413, `ContainFailures`' 503, the security headers and CORS apply as before) and ahead of
FastAPI: the body is parsed and validated into the same request models, the caller checked
and the work done in one trip through the thread pool, and the answer written out as it is.

Whatever is not a plain, valid request (another method, a body that is not a JSON object
of the model's shape, another content type) goes on to the FastAPI routes, which are still
declared (`server.sync.routes`: the OpenAPI document, and every error answer as the rest of
the API gives it), with its body handed on unread.
"""

from collections.abc import Callable
from typing import Any

import orjson
from anyio import to_thread
from pydantic import ValidationError
from starlette.datastructures import State
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import ApiError
from server.sync import routes
from shared.schemas.wire import PullRequest, PushRequest

_JSON = (b"content-type", b"application/json")
_ANSWERS: dict[str, tuple[type[Any], Callable[[State, str | None, Any], bytes]]] = {
    "/api/v1/sync/push": (PushRequest, routes.answer_push),
    "/api/v1/sync/pull": (PullRequest, routes.answer_pull),
}


class DirectSync:
    """An ASGI middleware, the innermost: it answers push and pull itself."""

    def __init__(self, app: ASGIApp, state: State) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = _ANSWERS.get(scope["path"]) if scope["type"] == "http" else None
        if answer is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        model, work = answer
        authorization = content_type = None
        for name, value in scope["headers"]:  # the first of each, as Starlette reads them
            if name == b"authorization" and authorization is None:
                authorization = value
            elif name == b"content-type" and content_type is None:
                content_type = value
        body = await _read(receive)
        if body is None:  # the client went away
            return
        request = _parse(model, body) if _is_json(content_type) else None
        if request is None:  # FastAPI gives the error answer, as everywhere else
            await self.app(scope, _replay(body, receive), send)
            return
        try:
            token = bearer_token(authorization.decode("latin-1") if authorization else None)
            status, content = 200, await to_thread.run_sync(work, self.state, token, request)
        except ApiError as error:
            status, content = error.status, _error_body(error)
            headers = error.headers
        else:
            headers = None
        await _send(send, status, content, headers)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, as FastAPI's `HTTPBearer`
    reads it (any case of the scheme; anything else is no token)."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if not scheme or not token or scheme.lower() != "bearer":
        return None
    return token


def _parse(model: type[Any], body: bytes) -> Any:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(parsed) is not dict:
        return None
    try:
        return model.model_validate(parsed)
    except ValidationError:
        return None


def _is_json(content_type: bytes | None) -> bool:
    """`application/json`, with parameters or none (any other type goes to FastAPI)."""
    if content_type is None:
        return False
    kind = content_type.partition(b";")[0].strip().lower()
    return kind == b"application/json"


async def _read(receive: Receive) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _error_body(error: ApiError) -> bytes:
    return orjson.dumps({"error": {"code": error.code, "message": error.message}})


async def _send(send: Send, status: int, content: bytes, extra: dict[str, str] | None) -> None:
    headers = [(b"content-length", str(len(content)).encode()), _JSON]
    if extra:
        headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})
