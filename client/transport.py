"""How the sync engine reaches the server: an injectable seam, httpx by default.

The browser build will plug in a transport over `pyfetch`; tests plug in the server app
itself or one that fails on purpose.
"""

import json
from dataclasses import dataclass
from typing import Any, Protocol

import httpx


class TransportError(Exception):
    """The server could not be reached, or the answer was lost on the way."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]

    @property
    def error_code(self) -> str | None:
        error = self.body.get("error")
        return error.get("code") if isinstance(error, dict) else None

    @property
    def error_message(self) -> str:
        error = self.body.get("error")
        return str(error.get("message", "")) if isinstance(error, dict) else ""


class Transport(Protocol):
    def post(self, path: str, body: dict[str, Any], token: str | None) -> Reply:
        """POST JSON to `path` under the server URL; TransportError if unreachable."""


class HttpxTransport:
    """The transport of the desktop and phone apps."""

    def __init__(self, base_url: str, timeout: float = 30.0, client: httpx.Client | None = None):
        self.base_url = base_url.rstrip("/")
        self._client = client or httpx.Client(timeout=timeout)

    def post(self, path: str, body: dict[str, Any], token: str | None) -> Reply:
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        try:
            response = self._client.post(
                self.base_url + path,
                content=json.dumps(body, ensure_ascii=False).encode(),
                headers=headers,
            )
            payload = response.json() if response.content else {}
        except (httpx.TransportError, json.JSONDecodeError) as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc
        return Reply(response.status_code, payload if isinstance(payload, dict) else {})

    def close(self) -> None:
        self._client.close()
