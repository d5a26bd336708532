"""The sync engine: push the outbox in batches, then pull every page, and say how it went.

It is safe to stop at any point: a batch stays in the outbox until its results are
recorded (a re-sent batch comes back `duplicate`), and each pulled page is stored with its
cursor in one transaction, so an interrupted pull resumes where the last page ended.
"""

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from client import codec
from client.store import EncodedEntry, OutboxEntry, PushOutcome, Store
from client.transport import (
    PULL,
    PUSH,
    EncodedBody,
    PendingReply,
    Reply,
    Transport,
    TransportError,
    begin,
)

# The protocol's bounds, with room for JSON overhead under the 4 MiB body limit.
MAX_BATCH = 1_000
MAX_BATCH_BYTES = 3_500_000
WIPE_CODES = {"account_disabled", "device_revoked"}


class SyncError(Exception):
    """A sync that did not finish; `code` and `message` are for the user."""

    retry: bool = False

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Offline(SyncError):
    retry = True


class ServerTrouble(SyncError):
    """The server answered but could not do it now (a 5xx, 429): try again later, after
    `retry_after` seconds when the server said (a 503 while its database is away)."""

    retry = True

    def __init__(self, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after


class SignInRequired(SyncError):
    """The token is no longer accepted: sign in again (the data stays)."""


class StoreWiped(SyncError):
    """The account was disabled or the device blocked: local data has been destroyed."""


@dataclass(frozen=True)
class SyncState:
    pending: int  # records with changes waiting (not the changes: one round, not its ticks)
    rejected: int
    last_success: str | None
    last_error_code: str | None
    last_error: str | None


@dataclass
class SyncReport:
    pushed: int = 0
    conflicts: int = 0
    rejected: int = 0
    pulled: int = 0
    removed: int = 0


class SyncEngine:
    def __init__(
        self,
        store: Store,
        transport: Transport,
        token: str,
        *,
        batch_size: int = MAX_BATCH,
        # Records asked for per pull page. Each page costs the server a sign-in check and its
        # queries, and both sides wait for the other once per page (the next page needs the
        # cursor this one brings): pages of 2,000 pulled 9 to 17 % faster than pages of 1,000,
        # for 12 MB more at the client's peak (bench.sync_bench --page-limit, session 8).
        page_limit: int = 2_000,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.store = store
        self.transport = transport
        self.token = token
        self.batch_size = min(batch_size, MAX_BATCH)
        self.page_limit = page_limit
        # Whether a push may ask for the pull too (servers before it refuse the key).
        self.pull_with_push = True
        self._rng = rng

    # The whole sync ------------------------------------------------------------------

    def sync(self) -> SyncReport:
        """Push everything pending, then pull until up to date."""
        report = SyncReport()
        try:
            if not self._push_batches(report, pull=True):
                self.pull(report)
        except StoreWiped:
            raise  # nothing is left to take notes in
        except SyncError as exc:
            self.store.set_meta("last_error_code", exc.code)
            self.store.set_meta("last_error", exc.message)
            raise
        self.store.set_meta("last_success", datetime.now(UTC).isoformat())
        self.store.set_meta("last_error_code", None)
        self.store.set_meta("last_error", None)
        return report

    def sync_with_retry(
        self, attempts: int = 5, sleep: Callable[[float], None] | None = None
    ) -> SyncReport:
        """`sync`, retrying network and server trouble with exponential backoff and jitter
        (never sooner than a server's Retry-After)."""
        pause = sleep or time.sleep
        for attempt in range(attempts):
            try:
                return self.sync()
            except SyncError as exc:
                if not exc.retry or attempt == attempts - 1:
                    raise
                pause(self.retry_delay(exc, attempt))
        raise AssertionError("unreachable")

    def backoff(self, attempt: int, base: float = 1.0, cap: float = 300.0) -> float:
        """Seconds to wait before retry `attempt` (0-based): full jitter, so phones coming
        back together do not all knock at once."""
        return float(self._rng() * min(cap, base * 2.0**attempt))

    def retry_delay(
        self, exc: SyncError, attempt: int, base: float = 1.0, cap: float = 300.0
    ) -> float:
        """Seconds to wait before retrying after `exc`: the backoff, but when the server
        said Retry-After, at least that, spread over up to half as long again (phones told
        the same number do not all come back in the same second)."""
        delay = self.backoff(attempt, base, cap)
        asked = exc.retry_after if isinstance(exc, ServerTrouble) else None
        if asked is not None:
            delay = max(delay, asked * (1.0 + 0.5 * self._rng()))
        return delay

    def state(self) -> SyncState:
        return SyncState(
            pending=self.store.pending_records(),
            rejected=len(self.store.rejected()),
            last_success=self.store.get_meta("last_success"),
            last_error_code=self.store.get_meta("last_error_code"),
            last_error=self.store.get_meta("last_error"),
        )

    # Push -----------------------------------------------------------------------------

    def push(self, report: SyncReport | None = None) -> SyncReport:
        """Push the outbox in batches (see `_push_batches`)."""
        report = report or SyncReport()
        self._push_batches(report, pull=False)
        return report

    def _push_batches(self, report: SyncReport, *, pull: bool) -> bool:
        """Push the outbox in batches. While the server works on one batch (when the
        transport can wait for it in the background), the results of the one before are
        recorded and the next is read: the outbox's rows never change once written, and a
        batch is sent only once the one before it was answered, so the server sees the
        changes in order. Results are recorded in order too, each batch in one transaction;
        stopping anywhere leaves unrecorded batches in the outbox, sent again next time
        (and answered `duplicate`).

        With `pull`, the last batch also asks for the pull's first page, which the server
        answers once the batch is in: a sync with a few changes is one round trip. True
        when that page was stored and was the last (the device is up to date)."""
        size = self.batch_size
        batch = self._batch(size, pull=pull)
        answered: tuple[list[OutboxEntry] | list[EncodedEntry], Reply] | None = None
        while batch is not None:
            entries, body = batch
            pending = begin(self.transport, PUSH, body, self.token)
            if answered is not None:
                self._record(*answered, report)
                answered = None
            upcoming = self._batch(size, after=entries[-1].change_id, pull=pull)
            reply = self._result(pending)
            if reply.status == 413 and size > 1:
                # Everything before this batch is recorded: it heads the outbox again.
                size = max(1, size // 2)
                batch = self._batch(size, pull=pull)
                continue
            if reply.status == 422 and "pull" in body and self.pull_with_push:
                # A server from before pulls came with pushes refuses the key: ask apart.
                self.pull_with_push = False
                batch = self._batch(size)
                continue
            self._raise_for(reply)
            answered = (entries, reply)
            batch = upcoming
        if answered is None:
            return False
        self._record(*answered, report)
        page = answered[1].body.get("pull")
        if not page:  # not asked for, or not answered (the sync pulls on its own)
            return False
        self._store_page(page, report)
        return not page["has_more"]

    def _batch(
        self, size: int, after: str | None = None, *, pull: bool = False
    ) -> tuple[list[OutboxEntry] | list[EncodedEntry], EncodedBody] | None:
        """The next batch and its body; the last one asks for the pull too, with `pull`
        (while the server takes it)."""
        if getattr(self.transport, "sends_encoded", False) and hasattr(
            self.store, "pending_encoded"
        ):
            # The values go out as the text the outbox holds, neither parsed nor encoded.
            pending = self.store.pending_encoded(size, after)
            texts, wire = _fit_encoded(pending, MAX_BATCH_BYTES)
            if not texts:
                return None
            then = self._pull_after(pull and len(texts) == len(pending) < size)
            return texts, self._encoded_body(texts, wire, then)
        outbox = self.store.pending(size, after)
        entries, changes = _fit(outbox, MAX_BATCH_BYTES)
        if not entries:
            return None
        then = self._pull_after(pull and len(entries) == len(outbox) < size)
        return entries, self._push_body(changes, then)

    def _pull_after(self, last: bool) -> dict[str, Any] | None:
        """What the last batch of a sync asks to pull, from where the store is."""
        if not (last and self.pull_with_push):
            return None
        return {"cursor": self.store.cursor(), "limit": self.page_limit}

    def _record(
        self, sent: list[OutboxEntry] | list[EncodedEntry], reply: Reply, report: SyncReport
    ) -> None:
        outcomes = [_outcome(r) for r in reply.body.get("results", [])]
        self.store.record_push_outcomes(outcomes, sent)
        for outcome in outcomes:
            report.pushed += outcome.status != "rejected"
            report.conflicts += outcome.status == "conflict"
            report.rejected += outcome.status == "rejected"

    def _push_body(
        self, changes: list[tuple[dict[str, Any], bytes]], pull: dict[str, Any] | None
    ) -> EncodedBody:
        # Each change was encoded once to measure it; the body is made of those bytes.
        return self._body([c for c, _ in changes], [e for _, e in changes], pull)

    def _encoded_body(
        self, entries: list[EncodedEntry], wire: list[bytes], pull: dict[str, Any] | None
    ) -> EncodedBody:
        """The request as bytes; as a dict (which a transport that sends bytes never
        reads) it names the changes without their values."""
        heads = [{"change_id": e.change_id, "record_id": e.record_id} for e in entries]
        return self._body(heads, wire, pull)

    def _body(
        self, changes: list[dict[str, Any]], wire: list[bytes], pull: dict[str, Any] | None
    ) -> EncodedBody:
        body: dict[str, Any] = {"device_id": self.store.device_id, "changes": changes}
        head = codec.dumps({"device_id": self.store.device_id})[:-1]
        tail = b"]}"
        if pull is not None:
            body["pull"] = pull
            tail = b'],"pull":' + codec.dumps(pull) + b"}"
        return EncodedBody(body, head + b',"changes":[' + b",".join(wire) + tail)

    # Pull -----------------------------------------------------------------------------

    def pull(self, report: SyncReport | None = None) -> SyncReport:
        """Pull until up to date. While a page is stored, the next one is already asked for
        (when the transport can do that in the background): it only needs the cursor the
        server just gave. A page and its cursor are still stored in one transaction, in
        order, so stopping anywhere leaves the store at the end of a whole page."""
        report = report or SyncReport()
        pending = self._begin_pull(self.store.cursor())
        while True:
            reply = self._result(pending)
            if reply.status == 422 and reply.error_code == "invalid_cursor":
                self.store.reset_cursor()
                pending = self._begin_pull(None)
                continue
            self._raise_for(reply)
            page = reply.body
            if page["has_more"]:
                pending = self._begin_pull(page["cursor"])
            self._store_page(page, report)
            if not page["has_more"]:
                return report

    def _store_page(self, page: dict[str, Any], report: SyncReport) -> None:
        self.store.apply_pull_page(page["changes"], page["removed"], page["cursor"])
        report.pulled += len(page["changes"])
        report.removed += len(page["removed"])

    def _begin_pull(self, cursor: str | None) -> PendingReply:
        body = {"device_id": self.store.device_id, "cursor": cursor, "limit": self.page_limit}
        return begin(self.transport, PULL, body, self.token)

    # Talking to the server -----------------------------------------------------------

    def _result(self, pending: PendingReply) -> Reply:
        try:
            return pending.result()
        except TransportError as exc:
            raise Offline(
                "offline", "The server cannot be reached; your changes are kept for later."
            ) from exc

    def _raise_for(self, reply: Reply) -> None:
        if reply.status == 200:
            return
        code = reply.error_code or f"http_{reply.status}"
        if reply.status == 401 and code in WIPE_CODES:
            self.store.wipe()
            raise StoreWiped(code, "This account or device was blocked; its data was removed.")
        if reply.status == 401:
            raise SignInRequired(code, "Please sign in again to keep syncing.")
        if reply.status >= 500 or reply.status == 429:
            raise ServerTrouble(
                code, "The server has a problem; sync will try again.", reply.retry_after
            )
        raise SyncError(code, reply.error_message or f"The server refused the sync ({code}).")


def _fit(
    entries: list[OutboxEntry], max_bytes: int
) -> tuple[list[OutboxEntry], list[tuple[dict[str, Any], bytes]]]:
    """The longest prefix whose JSON stays under the byte limit (at least one entry), and
    each of its changes on the wire, with its JSON."""
    total = 0
    changes: list[tuple[dict[str, Any], bytes]] = []
    for index, entry in enumerate(entries):
        change = entry.as_wire()
        encoded = codec.dumps(change)
        total += len(encoded) + 1
        if total > max_bytes and index > 0:
            return entries[:index], changes
        changes.append((change, encoded))
    return entries, changes


def _fit_encoded(
    entries: list[EncodedEntry], max_bytes: int
) -> tuple[list[EncodedEntry], list[bytes]]:
    """`_fit` for changes whose values are already JSON text."""
    total = 0
    wire: list[bytes] = []
    for index, entry in enumerate(entries):
        encoded = entry.wire_json()
        total += len(encoded) + 1
        if total > max_bytes and index > 0:
            return entries[:index], wire
        wire.append(encoded)
    return entries, wire


def _outcome(result: dict[str, Any]) -> PushOutcome:
    error = result.get("error") or {}
    return PushOutcome(
        change_id=str(result["change_id"]),
        status=str(result["status"]),
        seq=result.get("seq"),
        code=error.get("code"),
        message=error.get("message"),
    )
