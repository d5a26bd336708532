"""The protocol's error body for every failure, and the guard against oversized bodies."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_STATUS_CODES = {
    400: "bad_request",
    401: "invalid_token",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_value",
    429: "too_many_attempts",
}


class ApiError(Exception):
    """An error a client caused (or may retry), answered as `{"error": {code, message}}`."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def _describe(err: dict[str, Any]) -> str:
    loc = [str(p) for p in err.get("loc", ()) if p != "body"]
    where = ".".join(loc)
    msg = str(err.get("msg", "invalid"))
    return f"{where}: {msg}" if where else msg


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    kinds = {e.get("type") for e in errors}
    if "json_invalid" in kinds:
        return error_response(400, "malformed_json", "The request body is not valid JSON.")
    content_type = request.headers.get("content-type", "")
    body_error = bool(errors) and tuple(errors[0].get("loc", ())) == ("body",)
    if body_error and request.method in ("POST", "PUT", "PATCH") and "json" not in content_type:
        return error_response(
            415, "unsupported_media_type", "Send the body as JSON (Content-Type: application/json)."
        )
    if body_error and errors[0].get("type") in ("model_attributes_type", "dict_type"):
        return error_response(422, "invalid_value", "The request body must be a JSON object.")
    if "extra_forbidden" in kinds:
        unknown = next(e for e in errors if e.get("type") == "extra_forbidden")
        return error_response(422, "unknown_field", f"Unknown field {_describe(unknown)}")
    return error_response(422, "invalid_value", _describe(errors[0]) if errors else "invalid")


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "error")
    message = str(exc.detail) if exc.detail else code.replace("_", " ")
    return error_response(exc.status_code, code, message, getattr(exc, "headers", None))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # Any other exception: `server.failures.ContainFailures`, which keeps it from the log.


class BodySizeLimit:
    """Refuses bodies over `max_bytes` with 413 before any route sees them.

    The body is buffered up to the limit (the routes read it whole anyway), so a chunked
    upload that grows past it is refused as surely as one with a large Content-Length.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        is_push = scope.get("path", "").rstrip("/").endswith("/sync/push")
        code = "batch_too_large" if is_push else "body_too_large"
        limit_mib = self.max_bytes / (1024 * 1024)
        response = error_response(
            413, code, f"The request body is larger than the {limit_mib:g} MiB allowed."
        )
        await response(scope, receive, send)
