"""The transport of the phone and desktop apps, on httpx."""

import concurrent.futures
import threading
from typing import Any

import httpx

from client.transport import PendingReply, Reply, TransportError, encoded, read_reply


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
                content = b"".join(response.iter_bytes())
            return read_reply(
                path, response.status_code, content, response.headers.get("retry-after")
            )
        except (httpx.TransportError, ValueError) as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc

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
