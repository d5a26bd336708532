"""The transport of the phone and desktop apps, on httpx."""

import concurrent.futures
import threading
from typing import Any

import httpx

from client.transport import (
    PendingReply,
    Reply,
    TransportError,
    encoded,
    read_reply,
)
from shared.schemas.wire import NEXT_CURSOR


class _Pending:
    """A request on its way: its headers' next cursor, then its reply."""

    def __init__(self) -> None:
        self.told: concurrent.futures.Future[str | None] = concurrent.futures.Future()
        self.reply: concurrent.futures.Future[Reply] = concurrent.futures.Future()

    def next_cursor(self) -> str | None:
        return self.told.result()

    def result(self) -> Reply:
        return self.reply.result()


class HttpxTransport:
    """The transport of the desktop and phone apps."""

    # It sends an `EncodedBody` as its bytes, never reading the dict (see SyncEngine._batch).
    sends_encoded = True

    def __init__(self, base_url: str, timeout: float = 30.0, client: httpx.Client | None = None):
        self.base_url = base_url.rstrip("/")
        self._client = client or httpx.Client(timeout=timeout)

    def post(self, path: str, body: dict[str, Any], token: str | None) -> Reply:
        return self.request("POST", path, body, token)

    def request(
        self, method: str, path: str, body: dict[str, Any] | None, token: str | None
    ) -> Reply:
        return self._request(method, path, body, token, None)

    def _request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        token: str | None,
        told: "concurrent.futures.Future[str | None] | None",
    ) -> Reply:
        """The request; `told` gets the reply's `NEXT_CURSOR` header (or None) as soon as
        the headers are in, before the body."""
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        try:
            # The body is read here, not kept on the response: httpx's response and its
            # stream refer to each other, so a body kept there (3 MB, a pulled page) would
            # wait for the cyclic garbage collector, and each page land in fresh memory.
            with self._client.stream(
                method,
                self.base_url + path,
                content=None if body is None else encoded(body),
                headers=headers,
            ) as response:
                if told is not None:
                    ahead = response.headers.get(NEXT_CURSOR)
                    told.set_result(ahead if response.status_code == 200 else None)
                content = b"".join(response.iter_bytes())
            return read_reply(
                path, response.status_code, content, response.headers.get("retry-after")
            )
        except (httpx.TransportError, ValueError) as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc

    def begin(self, path: str, body: dict[str, Any], token: str | None) -> PendingReply:
        """`post` on a thread of its own, which ends with the request (the engine has at
        most two requests in flight: a pull page, and the next one once the first one's
        headers named its cursor)."""
        pending = _Pending()

        def run() -> None:
            try:
                pending.reply.set_result(self._request("POST", path, body, token, pending.told))
            except BaseException as exc:  # noqa: BLE001 - handed to whoever waits
                pending.reply.set_exception(exc)
            finally:
                if not pending.told.done():
                    pending.told.set_result(None)

        threading.Thread(target=run, name="carerounds-transport", daemon=True).start()
        return pending

    def close(self) -> None:
        self._client.close()
