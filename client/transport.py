"""How the sync engine reaches the server: an injectable seam, httpx by default.

The browser build will plug in a transport over `pyfetch`; tests plug in the server app
itself or one that fails on purpose.

A transport may also offer `begin`, which sends a request in the background and gives its
reply later: the engine then overlaps its own work (storing a page, reading the next
batch) with the server's. The engine itself starts no thread; a transport without `begin`
is simply called in turn (see `begin` below).
"""

import concurrent.futures
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from client import codec


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


class EncodedBody(dict[str, Any]):
    """A request body that was already encoded (`encoded`, the JSON of the dict itself).

    Transports that send bytes send `encoded` as it is; others see an ordinary dict.
    """

    def __init__(self, body: dict[str, Any], encoded: bytes) -> None:
        super().__init__(body)
        self.encoded = encoded


def encoded(body: dict[str, Any]) -> bytes:
    """The JSON bytes of a request body."""
    return body.encoded if isinstance(body, EncodedBody) else codec.dumps(body)


PULL = "/api/v1/sync/pull"  # its pages are read with the record values left encoded


class Transport(Protocol):
    def post(self, path: str, body: dict[str, Any], token: str | None) -> Reply:
        """POST JSON to `path` under the server URL; TransportError if unreachable."""


class PendingReply(Protocol):
    def result(self) -> Reply:
        """Wait for the reply; TransportError if it did not come."""


@dataclass
class _InTurn:
    """A request made only when its reply is asked for (transports without `begin`)."""

    post: Callable[[], Reply]

    def result(self) -> Reply:
        return self.post()


def begin(transport: Transport, path: str, body: dict[str, Any], token: str | None) -> PendingReply:
    """Start a request: in the background if the transport can, else when awaited."""
    start: Callable[[str, dict[str, Any], str | None], PendingReply] | None = getattr(
        transport, "begin", None
    )
    if start is not None:
        return start(path, body, token)
    return _InTurn(lambda: transport.post(path, body, token))


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
                self.base_url + path, content=encoded(body), headers=headers
            )
            read = codec.loads_pull_page if path.endswith(PULL) else codec.loads
            payload = read(response.content) if response.content else {}
        except (httpx.TransportError, json.JSONDecodeError) as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc
        return Reply(response.status_code, payload if isinstance(payload, dict) else {})

    def begin(self, path: str, body: dict[str, Any], token: str | None) -> PendingReply:
        """`post` on a thread of its own, which ends with the request (the engine has one
        request in flight at a time, so no pool is kept)."""
        future: concurrent.futures.Future[Reply] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(self.post(path, body, token))
            except BaseException as exc:  # noqa: BLE001 - handed to whoever waits
                future.set_exception(exc)

        threading.Thread(target=run, name="carerounds-transport", daemon=True).start()
        return future

    def close(self) -> None:
        self._client.close()
