"""What every answer carries for a browser's safety, and who may call from elsewhere.

- Security headers on every answer: no MIME sniffing, no framing, no referrer leaking a
  page's address, no camera/microphone/location; `Strict-Transport-Security` over HTTPS;
  and `Cache-Control: no-store` on the API, so no browser or proxy keeps a student's data.
- CORS is closed: the app is served from the server's own origin (/app/). A school that
  serves a page from elsewhere names its origins in `CAREROUNDS_CORS_ORIGINS`.
"""

from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from server.config import Settings

HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
HSTS = (b"strict-transport-security", b"max-age=31536000")


class SecurityHeaders:
    """An ASGI middleware (not Starlette's BaseHTTPMiddleware: no copy of the body)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = str(scope.get("path", "")).startswith("/api/")
        https = scope.get("scheme") == "https"

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _value in headers}
                extra = [h for h in HEADERS if h[0] not in present]
                if https:
                    extra.append(HSTS)
                if api and b"cache-control" not in present:
                    extra.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers + extra}
            await send(message)

        await self.app(scope, receive, with_headers)


def secure(app: FastAPI, settings: Settings) -> None:
    """Add the security headers, and CORS for the configured origins only."""
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["authorization", "content-type"],
        )
    app.add_middleware(SecurityHeaders)
