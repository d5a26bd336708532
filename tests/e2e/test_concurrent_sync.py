"""The no-gap guarantee over real HTTP: PostgreSQL, `serve --workers 4`, 8 concurrent
pushers and 3 concurrent pullers; every puller receives every change exactly once.

The gap bug this can catch (design notes, "The gap problem"): transaction A takes seq 10,
B takes 11 and commits first, a pull returns 11 and moves its cursor past 10, and A's
change is never delivered. Here many small push transactions commit concurrently from
four server processes while the pullers follow their cursors with tiny pages, so a
cursor is always close behind the newest commits. Each puller must see every record at
its final version, never a version twice, never out of order. Half the pushers sync as the
app does, the pull asked with the push: they end up holding exactly the server's records.
"""

import itertools
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from client.httpx_transport import HttpxTransport
from client.plain_store import PlainStore
from client.sync_engine import SyncEngine
from tests.e2e.harness import (
    Key,
    Login,
    Recorder,
    Row,
    ServerProcess,
    Stopwatch,
    assert_same_records,
    db_changes,
    db_records,
    local_ports_to_pg_by_pid,
    login,
    new_id,
    round_fields,
)

PUSHERS = 8
PULLERS = 3
EDITS_PER_PUSHER = 48
PULL_LIMIT = 7
SHARED_ROUNDS = 4
SHARED_ITEMS = ("open_windows", "desks_chairs", "floor_mopped")
MY_ITEMS = ("door_handles_switches", "lectern_equipment", "bins_emptied", "hand_sanitizer")
# A safety bound (seconds) on every loop; the exchange takes about 12 s on 2 idle cores.
DEADLINE = 120.0
MAX_PULLS = 20_000
PUSH = "/api/v1/sync/push"


@dataclass
class Pusher:
    index: int
    who: Login
    store: PlainStore
    transport: HttpxTransport
    recorder: Recorder
    engine: SyncEngine
    rounds: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, index: int, base: str, username: str) -> "Pusher":
        who = login(base, username, f"pusher{index}-{username}")
        store = PlainStore(":memory:", who.device_id)
        transport = HttpxTransport(base, timeout=30)
        recorder = Recorder(transport)
        engine = SyncEngine(store, recorder, who.token, batch_size=50, page_limit=1000)
        return cls(index, who, store, transport, recorder, engine)

    def sent(self) -> list[dict[str, Any]]:
        """Every change this device pushed (and was answered for)."""
        return [c for e in self.recorder.delivered(PUSH) for c in e.body["changes"]]

    def close(self) -> None:
        self.transport.close()
        self.store.close()

    def run(self, start: threading.Barrier, shared: list[str], clock: Stopwatch) -> None:
        rng = random.Random(1000 + self.index)
        areas = [r.record_id for r in self.store.records("areas")]
        assert len(areas) == 32, "the demo school's areas reached the device"
        start.wait(timeout=30)
        since_push, push_after = 0, rng.randint(1, 5)
        for n in range(EDITS_PER_PUSHER):
            assert clock() < DEADLINE, "pusher ran out of time"
            roll = rng.random()
            if roll < 0.45 or not self.rounds:
                round_id = new_id()
                self.store.edit(
                    "disinfection_rounds",
                    round_id,
                    round_fields(rng.choice(areas), self.who.user_id, rng.choice(MY_ITEMS)),
                )
                self.rounds.append(round_id)
            elif roll < 0.8:
                # Another edit of one of my rounds: a checklist entry or the note.
                fields: dict[str, Any] = (
                    {"note": f"p{self.index} e{n}"}
                    if rng.random() < 0.3
                    else {
                        f"items.{rng.choice(MY_ITEMS)}": {
                            "done": rng.random() < 0.7,
                            "at": "2026-11-29T09:00:00+08:00",
                            "note": f"p{self.index} e{n}",
                        }
                    }
                )
                self.store.edit("disinfection_rounds", rng.choice(self.rounds), fields)
            else:
                # Everyone ticks the same few entries of the shared rounds: conflicts.
                self.store.edit(
                    "disinfection_rounds",
                    rng.choice(shared),
                    {
                        f"items.{rng.choice(SHARED_ITEMS)}": {
                            "done": True,
                            "at": "2026-11-29T10:00:00+08:00",
                            "note": f"pusher {self.index} edit {n}",
                        }
                    },
                )
            since_push += 1
            if since_push >= push_after:
                self.send()
                since_push, push_after = 0, rng.randint(1, 5)
        self.send()
        assert self.store.pending_count() == 0

    def send(self) -> None:
        """Half the pushers push only; the others sync as the app does, the pull asked
        with the push (one request), so their pulls race the other processes' commits."""
        if self.index % 2:
            self.engine.sync()
        else:
            self.engine.push()

    def disinfection(self) -> dict[Key, Row]:
        """What this device holds of the disinfection bucket: its records and the
        conflicts about them."""
        return {
            (r.collection, r.record_id): Row(r.seq, r.fields, r.field_hlc, r.deleted)
            for collection in ("areas", "checklist_templates", "disinfection_rounds", "conflicts")
            for r in self.store.records(collection, include_deleted=True)
        }


@dataclass
class Puller:
    index: int
    who: Login
    base: str
    # (seq, key, change) in the order received, over the whole run
    received: list[tuple[int, Key, dict[str, Any]]] = field(default_factory=list)
    pages: int = 0

    def run(self, pushers_done: threading.Event, clock: Stopwatch) -> None:
        cursor = None
        headers = {"Authorization": f"Bearer {self.who.token}"}
        with httpx.Client(base_url=self.base, timeout=30) as client:
            for _ in range(MAX_PULLS):
                assert clock() < DEADLINE, f"puller {self.index} ran out of time"
                # Read before the request: a pull that starts after the last push returned
                # and reports has_more=false has seen everything.
                final = pushers_done.is_set()
                response = client.post(
                    "/api/v1/sync/pull",
                    json={"device_id": self.who.device_id, "cursor": cursor, "limit": PULL_LIMIT},
                    headers=headers,
                )
                assert response.status_code == 200, response.text
                page = response.json()
                self.pages += 1
                assert len(page["changes"]) <= PULL_LIMIT
                assert page["removed"] == [], "nothing leaves the lead's scope here"
                for change in page["changes"]:
                    key = (change["collection"], str(change["record_id"]))
                    self.received.append((int(change["seq"]), key, change))
                cursor = page["cursor"]
                if not page["has_more"]:
                    if final:
                        return
                    if not page["changes"]:
                        time.sleep(0.005)
        raise AssertionError(f"puller {self.index} did not catch up in {MAX_PULLS} pulls")

    def latest(self) -> dict[Key, Row]:
        held: dict[Key, Row] = {}
        for seq, key, change in self.received:
            held[key] = Row(seq, change["fields"], change["field_hlc"], change["deleted"])
        return held


class LockWatcher:
    """Samples pg_stat_activity: which server processes were writing at the same moment (a
    write transaction open, or waiting for the seq counter row's lock to write), and whether
    one waited on another's lock."""

    def __init__(self, database_url: str, server: ServerProcess) -> None:
        self.database_url = database_url
        self.server = server
        self.name = database_url.rsplit("/", 1)[1]
        self.samples = 0
        self.lock_waits = 0  # samples with a backend waiting on a lock
        self.max_writing_processes = 0  # most server processes writing in one sample
        self.writing_processes: set[int] = set()  # every server process seen writing
        self.processes_seen: set[int] = set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="lock-watcher", daemon=True)

    def _run(self) -> None:
        pids = self.server.worker_pids()
        with psycopg.connect(self.database_url, autocommit=True, connect_timeout=5) as conn:
            for _ in range(20_000):
                if self.stop.wait(0.005):  # a push holds the lock for milliseconds
                    return
                rows = conn.execute(
                    "SELECT pid, client_port, wait_event_type, backend_xid IS NOT NULL,"
                    " pg_blocking_pids(pid)"
                    " FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                    (self.name,),
                ).fetchall()
                owners = local_ports_to_pg_by_pid(pids)
                port_of = {pid: port for pid, port, _, _, _ in rows}
                # Writing: in a write transaction, waiting for the change-number lock to
                # begin one, or holding it while another waits (a push's write holds the lock
                # only while PostgreSQL runs it, so two transactions with an xid are rarely
                # caught in the same sample).
                ports = {port for _, port, wait, xid, _ in rows if xid or wait == "Lock"}
                ports |= {port_of.get(b) for *_, blockers in rows for b in blockers or ()}
                writing = {owners[port] for port in ports if port in owners}
                self.samples += 1
                self.lock_waits += any(wait == "Lock" for _, _, wait, _, _ in rows)
                self.max_writing_processes = max(self.max_writing_processes, len(writing))
                self.writing_processes |= writing
                self.processes_seen |= {owners[p] for _, p, _, _, _ in rows if p in owners}


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    running = best = 0
    for _, step in events:
        running += step
        best = max(best, running)
    return best


def test_concurrent_pushers_and_pullers_get_every_change_exactly_once(
    live_server: ServerProcess, demo_database_url: str
) -> None:
    base = live_server.base
    clock = Stopwatch()

    # Shared rounds that every pusher edits (made by the lead, pulled by everyone first).
    setup_who = login(base, "lead", "e2e-setup-lead")
    setup_store = PlainStore(":memory:", setup_who.device_id)
    setup_transport = HttpxTransport(base)
    try:
        setup = SyncEngine(setup_store, setup_transport, setup_who.token)
        setup.pull()
        area = setup_store.records("areas")[0].record_id
        cleaner1 = login(base, "cleaner1", "e2e-setup-cleaner1").user_id
        shared = [new_id() for _ in range(SHARED_ROUNDS)]
        for round_id in shared:
            setup_store.edit("disinfection_rounds", round_id, round_fields(area, cleaner1, "x"))
        assert setup.sync().rejected == 0
    finally:
        setup_transport.close()
        setup_store.close()

    users = ["cleaner1", "cleaner2", "cleaner3", "lead"] * 2
    pushers = [Pusher.open(i, base, users[i]) for i in range(PUSHERS)]
    pullers = [Puller(i, login(base, "lead", f"puller{i}-lead"), base) for i in range(PULLERS)]
    watcher = LockWatcher(demo_database_url, live_server)
    try:
        for pusher in pushers:
            pusher.engine.pull()
        assert all(p.recorder.delivered(PUSH) == [] for p in pushers)
        start = threading.Barrier(PUSHERS, timeout=30)
        pushers_done = threading.Event()
        watcher.thread.start()
        with ThreadPoolExecutor(PUSHERS + PULLERS, thread_name_prefix="e2e") as pool:
            pulling = [pool.submit(p.run, pushers_done, clock) for p in pullers]
            pushing = [pool.submit(p.run, start, shared, clock) for p in pushers]
            try:
                for future in pushing:
                    future.result(timeout=DEADLINE)
            finally:
                pushers_done.set()
            for future in pulling:
                future.result(timeout=DEADLINE)
        pushed_at = clock()
        syncing = pushers[1::2]
        for pusher in syncing:
            pusher.engine.sync()  # up to date with what the others pushed after its last
        held = {p.index: p.disinfection() for p in syncing}
        asked = [sum("pull" in e.body for e in p.recorder.delivered(PUSH)) for p in syncing]
    finally:
        watcher.stop.set()
        if watcher.thread.ident is not None:
            watcher.thread.join(timeout=10)
        for pusher in pushers:
            pusher.close()

    # What the pushers were told: every change applied (or applied in a conflict), with its
    # seq; none rejected, none duplicate (nothing was re-sent).
    acked: list[tuple[int, Key]] = []
    statuses: dict[str, int] = {}
    push_intervals: list[tuple[float, float]] = []
    for pusher in pushers:
        for exchange in pusher.recorder.delivered(PUSH):
            assert exchange.reply is not None and exchange.reply.status == 200
            push_intervals.append((exchange.started, exchange.ended))
            sent = exchange.body["changes"]
            results = exchange.reply.body["results"]
            assert [r["change_id"] for r in results] == [c["change_id"] for c in sent]
            for change, result in zip(sent, results, strict=True):
                statuses[result["status"]] = statuses.get(result["status"], 0) + 1
                assert result["status"] in ("applied", "conflict"), result
                acked.append((int(result["seq"]), (change["collection"], change["record_id"])))
    assert len(acked) == PUSHERS * EDITS_PER_PUSHER
    assert statuses.get("conflict", 0) > 0, "the shared rounds should have raced"

    server_rows = db_records(demo_database_url)
    log = db_changes(demo_database_url)
    last_seq = max(row.seq for row in server_rows.values())
    assert last_seq == log[-1]["seq"]
    sent_ids = {c["change_id"] for p in pushers for c in p.sent()}
    assert {c["change_id"] for c in log} >= sent_ids

    for puller in pullers:
        seqs = [seq for seq, _, _ in puller.received]
        # Strictly increasing over the whole run: no record version twice, none out of order.
        repeats = [(a, b) for a, b in itertools.pairwise(seqs) if b <= a]
        assert not repeats, f"puller {puller.index} got seqs out of order: {repeats[:5]}"
        assert seqs[-1] == last_seq
        newest: dict[Key, int] = {}
        for seq, key, _ in puller.received:
            newest[key] = seq
        # Every change the server acknowledged reached the puller (at that version or later).
        missed = [(seq, key) for seq, key in acked if newest.get(key, -1) < seq]
        assert not missed, f"puller {puller.index} never received {len(missed)}: {missed[:5]}"
        # And so did every change in the log, the server's own conflict records included.
        skipped = [
            (c["seq"], c["collection"], c["record_id"])
            for c in log
            if newest.get((c["collection"], c["record_id"]), -1) < c["seq"]
        ]
        assert not skipped, f"puller {puller.index} skipped {len(skipped)}: {skipped[:5]}"
        assert_same_records(puller.latest(), server_rows)

    # The devices that pulled with their pushes hold the server's records exactly.
    assert all(asked), f"pushes that asked for the pull, per syncing device: {asked}"
    for index, local in held.items():
        assert_same_records(local, db_records(demo_database_url, "disinfection")), index

    # The commits really interleaved: pushes were in flight together, on several server
    # processes (mapped from PostgreSQL's client ports to the uvicorn worker pids).
    overlap = max_overlap(push_intervals)
    assert overlap >= 4, f"at most {overlap} pushes were ever in flight together"
    # Lock waits are printed, not required: a push's write now holds the change-number lock
    # only while PostgreSQL runs one pipelined statement, so a sample catching a waiter is
    # luck. The race is shown by the pushes in flight together across processes that wrote.
    if Path("/proc/net/tcp").exists():  # the mapping needs Linux's /proc
        assert len(watcher.processes_seen - {live_server.proc.pid}) >= 2, (
            f"only worker processes {watcher.processes_seen} talked to the database"
        )
        # A push's write holds the lock only while PostgreSQL runs it (one pipelined round
        # trip), so a 20 ms sample rarely catches two processes' writes at once; that they
        # contended shows in the lock waits above, and here that several processes wrote.
        assert len(watcher.writing_processes) >= 2, "only one process ever wrote"
    print(
        f"\n{len(acked)} changes in {len(push_intervals)} pushes ({statuses}), "
        f"{len(log)} log entries, last seq {last_seq}; pushes in flight together: {overlap}; "
        f"worker processes on the database: {len(watcher.processes_seen)}, most writing at "
        f"once: {watcher.max_writing_processes}, samples with a lock wait: "
        f"{watcher.lock_waits}/{watcher.samples}; pull pages: {[p.pages for p in pullers]}; "
        f"{pushed_at:.1f} s"
    )
