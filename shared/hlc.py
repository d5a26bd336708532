"""Hybrid logical clock: `<ms>-<counter>-<node>`, ordered as plain strings.

Physical milliseconds keep clocks close to wall time; the counter keeps them moving
forward when the wall clock stalls or jumps back; the node (a device id) breaks ties, so
no two devices ever make the same stamp.
"""

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

# ASCII digits only (\d would take full-width digits, which sort after every real stamp).
_HLC = re.compile(r"([0-9]{13})-([0-9]{6})-([A-Za-z0-9_-]{1,64})")
MAX_COUNTER = 999_999
# The protocol's bound: a stamp more than a day ahead of the server is a broken clock.
MAX_AHEAD_MS = 24 * 60 * 60 * 1000


class InvalidHLC(ValueError):
    """A stamp that is malformed or absurdly far in the future."""


@dataclass(frozen=True, order=True)
class Timestamp:
    millis: int
    counter: int
    node: str

    def __str__(self) -> str:
        return f"{self.millis:013d}-{self.counter:06d}-{self.node}"


@lru_cache(maxsize=256)  # a pushed change's stamp is read several times as it is checked
def parse(stamp: str) -> Timestamp:
    """Parse an HLC string, raising InvalidHLC when it is not one."""
    match = _HLC.fullmatch(stamp)
    if match is None:
        raise InvalidHLC(f"{stamp!r} is not <13-digit ms>-<6-digit counter>-<node>")
    return Timestamp(int(match[1]), int(match[2]), match[3])


def check_not_ahead(stamp: str, now_ms: int) -> Timestamp:
    """Parse `stamp` and refuse it when it is more than a day ahead of `now_ms`."""
    ts = parse(stamp)
    if ts.millis - now_ms > MAX_AHEAD_MS:
        raise InvalidHLC(f"{stamp!r} is more than 24 hours ahead of the server's clock")
    return ts


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class Clock:
    """One node's clock: every stamp it makes is greater than every stamp it has seen."""

    def __init__(
        self, node: str, last: str | None = None, now_ms: Callable[[], int] = wall_clock_ms
    ) -> None:
        if _HLC.fullmatch(f"{0:013d}-{0:06d}-{node}") is None:
            raise InvalidHLC(f"{node!r} cannot be a clock node id")
        self.node = node
        self._now_ms = now_ms
        self._millis, self._counter = 0, 0
        if last is not None:
            seen = parse(last)
            self._millis, self._counter = seen.millis, seen.counter

    def now(self) -> str:
        """A new stamp for a local event."""
        wall = self._now_ms()
        if wall > self._millis:
            self._millis, self._counter = wall, 0
        else:
            self._bump()
        return str(Timestamp(self._millis, self._counter, self.node))

    def observe(self, stamp: str) -> None:
        """Move past a stamp received from another node, so later local stamps win over it."""
        seen = parse(stamp)
        if (seen.millis, seen.counter) > (self._millis, self._counter):
            self._millis, self._counter = seen.millis, seen.counter

    def _bump(self) -> None:
        if self._counter == MAX_COUNTER:
            self._millis, self._counter = self._millis + 1, 0
        else:
            self._counter += 1
