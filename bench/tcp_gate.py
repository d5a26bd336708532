"""A TCP relay on loopback that can take a database away without touching the database.

The server is pointed at the gate instead of PostgreSQL (the gate relays bytes, it reads
nothing of them). `close()` cuts every connection through it (both ends see the socket
close, as when PostgreSQL's backends are killed or the network drops) and refuses new ones
(each is reset as soon as it is accepted) until `open()`: to the server, PostgreSQL went
away and came back, while the machine's PostgreSQL, which other tests share, runs on.
"""

import contextlib
import socket
import struct
import threading
import time

BUFFER = 64 * 1024


def _reset(sock: socket.socket) -> None:
    """Drop a connection at once, as a refused or dropped one looks to its peer. Shut down
    first: that also wakes the relay thread blocked reading it (closing would not)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class TcpGate:
    """Relays 127.0.0.1:`port` to `upstream_host`:`upstream_port` while open."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.relayed = 0  # connections relayed
        self.cut = 0  # connections cut by `close()`
        self.refused = 0  # connections refused while closed
        self.closed_at: float | None = None
        self.opened_at: float | None = None
        self._open = threading.Event()
        self._open.set()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self._listener.settimeout(0.1)
        self.port = int(self._listener.getsockname()[1])
        self._acceptor = threading.Thread(target=self._accept, name="tcp-gate", daemon=True)
        self._acceptor.start()

    @classmethod
    def for_url(cls, database_url: str) -> tuple["TcpGate", str]:
        """A gate in front of a PostgreSQL URL's host and port, and the URL through it."""
        scheme, rest = database_url.split("://", 1)
        credentials, _, hostpart = rest.rpartition("@")
        hostport, _, path = hostpart.partition("/")
        host, _, port = hostport.partition(":")
        gate = cls(host or "127.0.0.1", int(port or 5432))
        prefix = f"{credentials}@" if credentials else ""
        return gate, f"{scheme}://{prefix}127.0.0.1:{gate.port}/{path}"

    @property
    def is_open(self) -> bool:
        return self._open.is_set()

    def close(self) -> None:
        """Cut every connection and refuse new ones: the database is away."""
        with self._lock:
            self._open.clear()
            self.closed_at = time.monotonic()
            pairs, self._pairs = list(self._pairs), set()
        for pair in pairs:
            self.cut += 1
            for sock in pair:
                _reset(sock)

    def open(self) -> None:
        """Relay new connections again: the database is back."""
        with self._lock:
            self.opened_at = time.monotonic()
            self._open.set()

    def stop(self) -> None:
        self._stop.set()
        self.close()
        with contextlib.suppress(OSError):
            self._listener.close()
        self._acceptor.join(timeout=5)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self._open.is_set():
                self.refused += 1
                _reset(client)
                continue
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.upstream, timeout=10)
        except OSError:
            _reset(client)
            return
        upstream.settimeout(None)
        client.settimeout(None)
        pair = (client, upstream)
        with self._lock:
            if not self._open.is_set():  # closed while connecting
                _reset(client)
                _reset(upstream)
                return
            self._pairs.add(pair)
            self.relayed += 1
        threading.Thread(target=self._pump, args=(upstream, client, pair), daemon=True).start()
        self._pump(client, upstream, pair)

    def _pump(
        self, source: socket.socket, sink: socket.socket, pair: tuple[socket.socket, socket.socket]
    ) -> None:
        try:
            while True:
                data = source.recv(BUFFER)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        # One side ended: end both (a relay does not keep half a conversation).
        with self._lock:
            self._pairs.discard(pair)
        for sock in pair:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
