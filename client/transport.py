"""How the app reaches the server: an injectable seam.

`client.httpx_transport` on phones and desktops, `client.web_transport` inside the browser;
tests plug in the server app itself or one that fails on purpose.

A transport may also offer `begin`, which sends a request in the background and gives its
reply later: the engine then overlaps its own work (storing a page, reading the next
batch) with the server's. The engine itself starts no thread; a transport without `begin`
is simply called in turn (see `begin` below).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

from client import codec, pull_page


class TransportError(Exception):
    """The server could not be reached, or the answer was lost on the way."""


# The longest a server's Retry-After is believed: a wrong header must not stop syncing.
MAX_RETRY_AFTER = 600.0


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any  # the JSON answer: an object, except a few administration lists
    # Seconds the server asked to wait before trying again (a 503's or 429's Retry-After).
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

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
PUSH = "/api/v1/sync/push"
REPORTS = "/api/v1/reports/"  # files (PDF, CSV, XLSX) besides JSON


class Transport(Protocol):
    def post(self, path: str, body: dict[str, Any], token: str | None) -> Reply:
        """POST JSON to `path` under the server URL; TransportError if unreachable."""

    def request(
        self, method: str, path: str, body: dict[str, Any] | None, token: str | None
    ) -> Reply:
        """Any method (the administration API); TransportError if unreachable."""


def read_reply(path: str, status: int, content: bytes, retry_after: str | None = None) -> Reply:
    """A reply from its raw body (pull pages keep their record values encoded) and its
    Retry-After header, if any.

    Raises:
        ValueError: the body is not JSON.
    """
    if path.startswith(REPORTS) and 200 <= status < 300 and not content.startswith(b"{"):
        return Reply(status, content)  # a PDF, CSV or XLSX file, as it came
    if path.endswith(PULL):
        read = pull_page.loads_pull_page
    elif path.endswith(PUSH):
        read = pull_page.loads_push_answer  # its pull's page, if it asked for one, so too
    else:
        read = codec.loads
    return Reply(status, read(content) if content else {}, parse_retry_after(retry_after))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (seconds, or an HTTP date), at most
    `MAX_RETRY_AFTER`; None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        seconds = float(text)
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


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
