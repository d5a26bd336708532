"""A tiny HTTP/1.1 proxy on loopback that cuts connections mid-request: one response body
halfway (the real way a connection drops in the middle of a pull: the client sees a short
body, then EOF), or, with `cuts`, any request it chooses: before the request reaches the
server, after the server answered (the answer lost), or halfway through the answer."""

import contextlib
import socket
import threading
from collections.abc import Callable
from typing import BinaryIO, Literal

# Where a request is cut: "request" (never reaches the server), "answer" (the server did
# it, the answer is lost), "half" (half the answer's body arrives, then EOF).
Cut = Literal["request", "answer", "half"]

HEAD_LIMIT = 64 * 1024


def _read_head(stream: BinaryIO) -> bytes | None:
    """A request or response head up to the blank line; None at a clean EOF."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = stream.readline(HEAD_LIMIT)
        if not line:
            return None
        head += line
        if len(head) > HEAD_LIMIT:
            raise OSError("head too long")
    return head


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
        if name.strip().lower() == b"transfer-encoding":
            raise OSError("this proxy only handles Content-Length bodies")
    return 0


class CutProxy:
    """Forwards to 127.0.0.1:`upstream_port`; the `nth` response to a request whose path is
    `path` gets its head and half its body, then both connections are closed. With `cuts`,
    that function instead says for each request (by its path) whether and where to cut."""

    def __init__(
        self,
        upstream_port: int,
        path: str = "",
        nth: int = 0,
        *,
        cuts: Callable[[str], Cut | None] | None = None,
    ) -> None:
        self.upstream_port = upstream_port
        self.path = path.encode()
        self.nth = nth
        self.choose = cuts
        self.matched = 0
        self.cuts = 0
        self.cut_kinds: dict[str, int] = {}
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.1)
        self.port = int(self._listener.getsockname()[1])
        self.base = f"http://127.0.0.1:{self.port}"
        self._acceptor = threading.Thread(target=self._accept, name="cut-proxy", daemon=True)
        self._acceptor.start()

    def _accept(self) -> None:
        for _ in range(100_000):  # bounded; each turn waits at most 0.1 s
            if self._stop.is_set():
                return
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            with self._lock:
                self._sockets.append(client)
                self._threads.append(thread)
            thread.start()

    def _serve(self, client: socket.socket) -> None:
        try:
            with (
                client,
                socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30) as up,
                client.makefile("rb") as from_client,
                up.makefile("rb") as from_up,
            ):
                with self._lock:
                    self._sockets.append(up)
                client.settimeout(30)
                self._relay(client, up, from_client, from_up)
        except OSError as exc:
            if not self._stop.is_set():
                self.errors.append(f"{type(exc).__name__}: {exc}")

    def _relay(
        self, client: socket.socket, up: socket.socket, from_client: BinaryIO, from_up: BinaryIO
    ) -> None:
        for _ in range(100_000):
            head = _read_head(from_client)
            if head is None:
                return
            request = head + from_client.read(_content_length(head))
            target = head.split(b"\r\n", 1)[0].split(b" ")[1]
            cut = self._cut(target)
            if cut == "request":
                return  # closing both ends before the server saw it
            up.sendall(request)
            answer = _read_head(from_up)
            if answer is None:
                return
            body = from_up.read(_content_length(answer))
            if cut == "answer":
                return  # the server did it; its answer is lost
            if cut == "half":
                client.sendall(answer + body[: len(body) // 2])
                return  # closing both ends mid-body
            client.sendall(answer + body)

    def _cut(self, target: bytes) -> Cut | None:
        """Whether and where to cut the request for `target`, counted."""
        with self._lock:
            cut: Cut | None = None
            if self.choose is not None:
                cut = self.choose(target.decode("latin-1"))
            elif target == self.path:
                self.matched += 1
                cut = "half" if self.matched == self.nth else None
            if cut is not None:
                self.cuts += 1
                self.cut_kinds[cut] = self.cut_kinds.get(cut, 0) + 1
            return cut

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        self._acceptor.join(timeout=5)
        with self._lock:
            sockets, threads = list(self._sockets), list(self._threads)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(timeout=5)
