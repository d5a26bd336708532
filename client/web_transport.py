"""The transport inside the browser: synchronous XMLHttpRequest from the app's Web Worker.

Flet runs the app's Python in a Web Worker, where a synchronous request is allowed; the
sync engine is synchronous code, so it needs no event loop and no thread. The browser's
own offline state, a refused connection and a timeout all arrive as TransportError.

Only importable inside Pyodide.
"""

from typing import Any

from js import XMLHttpRequest  # type: ignore[import-not-found]
from pyodide.ffi import JsException, to_js  # type: ignore[import-not-found]

from client.transport import Reply, TransportError, encoded, read_reply


class XhrTransport:
    """`Transport` over the browser's XMLHttpRequest (same origin or CORS)."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_ms = int(timeout * 1000)

    def post(self, path: str, body: dict[str, Any], token: str | None) -> Reply:
        return self.request("POST", path, body, token)

    def request(
        self, method: str, path: str, body: dict[str, Any] | None, token: str | None
    ) -> Reply:
        xhr = XMLHttpRequest.new()
        try:
            xhr.open(method, self.base_url + path, False)
            xhr.timeout = self.timeout_ms
            # Bytes, not text: pull pages are read with their record values kept encoded.
            xhr.responseType = "arraybuffer"
            xhr.setRequestHeader("content-type", "application/json")
            if token:
                xhr.setRequestHeader("authorization", f"Bearer {token}")
            xhr.send(None if body is None else to_js(encoded(body)))
        except JsException as exc:
            raise TransportError(f"{exc.name}: {exc.message}") from exc
        if xhr.status == 0:  # blocked or cut before an answer
            raise TransportError("no answer from the server")
        content = bytes(to_bytes(xhr.response))
        try:
            retry_after = xhr.getResponseHeader("retry-after")
            return read_reply(path, int(xhr.status), content, retry_after or None)
        except ValueError as exc:
            raise TransportError(f"unreadable answer: {exc}") from exc


def to_bytes(buffer: Any) -> bytes:
    """The bytes of an ArrayBuffer (an empty body may come as null)."""
    if buffer is None:
        return b""
    from js import Uint8Array

    return bytes(Uint8Array.new(buffer).to_bytes())
