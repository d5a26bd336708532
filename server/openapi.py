"""The OpenAPI document says what the endpoints really answer.

FastAPI declares what a route returns and a 422 of its own shape; the app answers more:
every error is an `ErrorBody` (a 400 for a body that is not JSON, 413 for one too large,
415 for one that is not JSON at all, 401/403 for a token, 404/409 from the routes, 503
with `Retry-After` while the database cannot be reached), and
a report's `format` gives a CSV, XLSX or PDF file rather than JSON. Said here once, for
every operation, so that a new route is declared the same way without thinking of it.
"""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
# Every operation: the body limit holds for any request, and a route may refuse a value.
ALWAYS = {413: "Body too large", 422: "A value is invalid"}
# Operations behind a token (all but the health check and signing in).
SIGNED_IN = {401: "No valid token", 403: "Not allowed for this role or device"}
# Operations that read a JSON body.
WITH_BODY = {400: "The body is not valid JSON", 415: "The body is not JSON"}
# What a route may refuse on its own.
BY_ROUTE = {404: "No such record", 409: "A conflict with what is stored"}
# Every operation that reads the database (all but the health check).
WITH_DATABASE = {503: "The database cannot be reached just now: try again after Retry-After"}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 1},
    }
}
FILE_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
OPEN_PATHS = ("/api/v1/health", "/api/v1/auth/login")


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, routes=app.routes, description=None
            )
            for path, operations in document.get("paths", {}).items():
                for operation in operations.values():
                    _declare(path, operation)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _declare(path: str, operation: dict[str, Any]) -> None:
    codes = dict(ALWAYS)
    if path != "/api/v1/health":
        codes.update(BY_ROUTE)
        codes.update(WITH_DATABASE)
    if path not in OPEN_PATHS:
        codes.update(SIGNED_IN)
    if "requestBody" in operation:
        codes.update(WITH_BODY)
    responses = operation.setdefault("responses", {})
    for code, description in sorted(codes.items()):
        # FastAPI's own 422 (`HTTPValidationError`) is not what the app answers: replaced.
        responses[str(code)] = {
            "description": responses.get(str(code), {}).get("description") or description,
            "content": {"application/json": {"schema": ERROR_REF}},
        }
        if code in WITH_DATABASE:
            responses[str(code)]["headers"] = RETRY_AFTER
    formats = next(
        (p["schema"] for p in operation.get("parameters", []) if p["name"] == "format"), None
    )
    if formats is not None:
        ok = next(code for code in responses if code.startswith("2"))
        content = responses[ok].setdefault("content", {})
        for name in formats.get("enum", []):
            if name in FILE_TYPES:
                content[FILE_TYPES[name]] = {"schema": {"type": "string", "format": "binary"}}
        if "json" not in formats.get("enum", []):  # files only (the daily record)
            content.pop("application/json", None)
