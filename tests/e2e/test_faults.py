"""Faults over real HTTP against PostgreSQL: a server that dies between applying a batch and
answering, a connection cut in the middle of a pull, a client process killed mid-sync.
After each, syncing again must end with nothing lost, nothing applied twice, and the
device holding exactly what the server holds for it."""

import itertools
import math
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from client.httpx_transport import HttpxTransport
from client.plain_store import PlainStore
from client.sync_engine import Offline, SyncEngine
from shared.hlc import Clock
from tests.e2e import killable_client
from tests.e2e.cut_proxy import CutProxy
from tests.e2e.faulty_server import MARKER_ENV
from tests.e2e.harness import (
    REPO,
    Exchange,
    LoseReplyOn,
    Recorder,
    ServerProcess,
    assert_same_records,
    child_env,
    db_changes,
    db_records,
    free_port,
    local_server_layer,
    login,
    new_id,
    round_fields,
    wait_until,
)

PUSH = "/api/v1/sync/push"
PULL = "/api/v1/sync/pull"
DISINFECTION = "disinfection"  # the bucket of the rounds
SCHOOL = "school"  # the school's settings, which every role reads


def cleaners_records(database_url: str) -> dict[Any, Any]:
    """What a cleaner's device holds of the server: the rounds' bucket and the school's."""
    return {**db_records(database_url, DISINFECTION), **db_records(database_url, SCHOOL)}


# (a) The server killed between applying a batch and answering ------------------------------


def test_server_killed_after_commit_before_answer(
    demo_database_url: str, server_folder: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "die-after-push"
    port = free_port()
    faulty = ServerProcess(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "tests.e2e.faulty_server:create_app",
            "--factory",
            "--log-level",
            "info",
        ],
        demo_database_url,
        server_folder,
        port=port,
        env={MARKER_ENV: str(marker)},
        name="faulty",
    ).ready()
    normal: ServerProcess | None = None
    who = login(faulty.base, "cleaner2", "e2e-phone-server-dies")
    store = PlainStore(tmp_path / "phone.db", who.device_id)
    transport = HttpxTransport(faulty.base, timeout=30)
    recorder = Recorder(transport)
    engine = SyncEngine(store, recorder, who.token, batch_size=10)
    try:
        engine.sync()
        areas = [r.record_id for r in store.records("areas")]
        rounds = [new_id() for _ in range(15)]
        for index, round_id in enumerate(rounds):
            store.edit(
                "disinfection_rounds",
                round_id,
                round_fields(areas[index % len(areas)], who.user_id, "open_windows"),
            )
        for round_id in rounds[:10]:
            store.edit(
                "disinfection_rounds",
                round_id,
                {"items.floor_mopped": {"done": True, "at": "2026-11-29T08:30:00+08:00"}},
            )
        made = [e.change_id for e in store.pending(100)]
        assert len(made) == 25

        marker.touch()
        with pytest.raises(Offline):
            engine.sync()
        assert faulty.wait_exit(timeout=15) == 1
        assert "dying before the answer" in faulty.output()
        lost = recorder.exchanges[-1]
        assert lost.path == PUSH and lost.reply is None, "the first batch's answer was lost"
        first_batch = [c["change_id"] for c in lost.body["changes"]]
        assert first_batch == made[:10]
        # The batch was committed before the process died: the server has it, the device
        # does not know.
        assert [c["change_id"] for c in db_changes(demo_database_url, who.device_id)] == (
            first_batch
        )
        assert store.pending_count() == 25

        marker.unlink()
        normal = ServerProcess.serve(demo_database_url, server_folder, workers=2, port=port)
        before = len(recorder.exchanges)
        report = engine.sync()

        pushes = [e for e in recorder.exchanges[before:] if e.path == PUSH]
        assert [len(e.body["changes"]) for e in pushes] == [10, 10, 5]
        logged = db_changes(demo_database_url, who.device_id)
        seq_of = {c["change_id"]: c["seq"] for c in logged}
        resent = pushes[0].reply.body["results"] if pushes[0].reply else []
        assert [(r["change_id"], r["status"], r["seq"]) for r in resent] == [
            (cid, "duplicate", seq_of[cid]) for cid in first_batch
        ], "the re-sent batch is answered duplicate, with the seqs it was applied at"
        later = [r for e in pushes[1:] if e.reply for r in e.reply.body["results"]]
        assert [r["status"] for r in later] == ["applied"] * 15
        assert (report.pushed, report.rejected) == (25, 0)
        # Each change is in the server's log exactly once; the device's outbox is empty.
        assert Counter(c["change_id"] for c in logged) == Counter(made)
        assert store.pending_count() == 0
        assert store.rejected() == []
        assert_same_records(
            local_server_layer(store.server_records()), cleaners_records(demo_database_url)
        )
    finally:
        transport.close()
        store.close()
        faulty.stop()
        if normal is not None:
            normal.stop()


def test_retried_push_racing_its_original_applies_once(
    small_server: ServerProcess, demo_database_url: str
) -> None:
    """A phone that gives up waiting and re-sends a batch while the first send is still
    being applied (on another server process): one send applies it, the others are told
    `duplicate` with the same seqs, and the log holds each change once."""
    base = small_server.base
    who = login(base, "cleaner2", "e2e-impatient-phone")
    area_id = next(k[1] for k in db_records(demo_database_url, DISINFECTION) if k[0] == "areas")
    clock = Clock(who.device_id)
    sends, trials, size = 4, 5, 20
    made: list[str] = []
    for _ in range(trials):
        changes: list[dict[str, Any]] = [
            {
                "change_id": new_id(),
                "collection": "disinfection_rounds",
                "record_id": new_id(),
                "hlc": clock.now(),
                "base_seq": None,
                "fields": round_fields(area_id, who.user_id, "toilets_scrubbed"),
                "deleted": False,
            }
            for _ in range(size)
        ]
        made += [c["change_id"] for c in changes]
        body = {"device_id": who.device_id, "changes": changes}
        start = threading.Barrier(sends, timeout=30)

        def send(_: int, body: dict[str, Any] = body, start: threading.Barrier = start) -> Any:
            with httpx.Client(base_url=base, timeout=30) as client:
                start.wait()
                response = client.post(
                    PUSH, json=body, headers={"Authorization": f"Bearer {who.token}"}
                )
            assert response.status_code == 200, response.text
            return response.json()["results"]

        with ThreadPoolExecutor(sends) as pool:
            answers = list(pool.map(send, range(sends), timeout=60))
        kinds = sorted(",".join(sorted({r["status"] for r in answer})) for answer in answers)
        assert kinds == ["applied"] + ["duplicate"] * (sends - 1), answers
        seqs = {tuple(r["seq"] for r in answer) for answer in answers}
        assert len(seqs) == 1, "every send is answered with the seqs the batch got"
    logged = db_changes(demo_database_url, who.device_id)
    assert Counter(c["change_id"] for c in logged) == Counter(made)


# (b) The connection cut mid-pull -------------------------------------------------------------


def bulk_rounds(base: str, tmp_path: Path, count: int) -> None:
    """`count` new rounds from one cleaner's device, pushed over HTTP in big batches."""
    who = login(base, "cleaner3", "e2e-bulk-writer")
    store = PlainStore(tmp_path / "bulk.db", who.device_id)
    transport = HttpxTransport(base, timeout=60)
    try:
        engine = SyncEngine(store, transport, who.token, batch_size=1000)
        engine.pull()
        areas = [r.record_id for r in store.records("areas")]
        for index in range(count):
            store.edit(
                "disinfection_rounds",
                new_id(),
                round_fields(areas[index % len(areas)], who.user_id, "bins_emptied", note="批量"),
            )
        report = engine.push()
        assert (report.pushed, report.rejected) == (count, 0)
    finally:
        transport.close()
        store.close()


def check_resumed_pull(pages: list[Exchange], store: PlainStore, database_url: str) -> None:
    """The pages the device applied hold every record once, in seq order, and the device
    ends holding exactly what the server holds."""
    server = db_records(database_url)  # the lead reads everything
    delivered = [c for page in pages if page.reply for c in page.reply.body["changes"]]
    seqs = [int(c["seq"]) for c in delivered]
    out_of_order = [(a, b) for a, b in itertools.pairwise(seqs) if b <= a]
    assert not out_of_order, f"records applied twice or out of order: {out_of_order[:5]}"
    keys = Counter((c["collection"], str(c["record_id"])) for c in delivered)
    assert [k for k, n in keys.items() if n > 1] == []
    assert len(delivered) == len(server)
    assert_same_records(local_server_layer(store.server_records()), server)


def test_connection_cut_mid_pull(
    small_server: ServerProcess, demo_database_url: str, tmp_path: Path
) -> None:
    base = small_server.base
    bulk_rounds(base, tmp_path, 2700)
    total = len(db_records(demo_database_url))
    assert total >= 3000
    limit = 100

    # 1. The 5th page's reply is lost after the server answered.
    who = login(base, "lead", "e2e-reader-lost-reply")
    store = PlainStore(tmp_path / "reader1.db", who.device_id)
    direct = HttpxTransport(base, timeout=30)
    try:
        first = Recorder(LoseReplyOn(direct, PULL, nth=5))
        with pytest.raises(Offline):
            SyncEngine(store, first, who.token, page_limit=limit).sync()
        assert [e.reply is not None for e in first.exchanges] == [True] * 4 + [False]
        assert len(store.server_records()) == 4 * limit, "pages 1-4 kept, with their cursor"
        second = Recorder(direct)
        report = SyncEngine(store, second, who.token, page_limit=limit).sync()
        assert report.pulled == total - 4 * limit
        assert len(second.exchanges) == math.ceil((total - 4 * limit) / limit)
        check_resumed_pull(first.exchanges + second.exchanges, store, demo_database_url)
    finally:
        direct.close()
        store.close()

    # 2. A real cut: the proxy closes the connection halfway through the 3rd page's body.
    who = login(base, "lead", "e2e-reader-cut")
    store = PlainStore(tmp_path / "reader2.db", who.device_id)
    proxy = CutProxy(small_server.port, PULL, nth=3)
    through_proxy = HttpxTransport(proxy.base, timeout=30)
    try:
        recorder = Recorder(through_proxy)
        engine = SyncEngine(store, recorder, who.token, page_limit=limit)
        with pytest.raises(Offline) as cut:
            engine.sync()
        assert proxy.cuts == 1
        assert "RemoteProtocolError" in str(cut.value.__cause__), cut.value.__cause__
        assert [e.reply is not None for e in recorder.exchanges] == [True, True, False]
        assert len(store.server_records()) == 2 * limit
        report = engine.sync()  # the same client, through the same proxy, which now passes
        assert report.pulled == total - 2 * limit
        assert len(recorder.exchanges) == 3 + math.ceil((total - 2 * limit) / limit)
        check_resumed_pull(recorder.exchanges, store, demo_database_url)
        assert proxy.errors == []
    finally:
        through_proxy.close()
        store.close()
        proxy.close()


# (c) The client process killed mid-sync ------------------------------------------------------


class ClientRun:
    """One run of tests/e2e/killable_client.py, its output in a file."""

    def __init__(self, argv: list[str], database_url: str, folder: Path, number: int) -> None:
        self.out_path = folder / f"client-run-{number}.out"
        with self.out_path.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, str(REPO / "tests" / "e2e" / "killable_client.py"), *argv],
                cwd=folder,
                env=child_env(database_url),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.out_path.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)


def test_client_killed_mid_sync_resumes_exactly_once(
    small_server: ServerProcess, demo_database_url: str, tmp_path: Path
) -> None:
    rng = random.Random(2026)
    who = login(small_server.base, "cleaner1", "e2e-killed-phone")
    area_id = next(
        key[1] for key in db_records(demo_database_url, DISINFECTION) if key[0] == "areas"
    )
    store_file = tmp_path / "killed-phone.db"
    argv = [str(store_file), who.device_id, who.token, small_server.base, area_id, who.user_id]
    edits = killable_client.ROUNDS * killable_client.EDITS_PER_ROUND
    kills: list[dict[str, Any]] = []

    def pushed(conn: psycopg.Connection[Any]) -> int:
        row = conn.execute(
            "SELECT count(*) FROM changes WHERE device_id = %s", (who.device_id,)
        ).fetchone()
        return int(row[0]) if row else 0

    with psycopg.connect(demo_database_url, autocommit=True, connect_timeout=5) as conn:
        # First run: killed at a random moment soon after it starts (while making its edits
        # or early in its sync). Then killed when the server has received a random share of
        # the edits (mid-push, a batch in flight), and once more when it has all of them
        # (the device is then recording answers or pulling).
        triggers: list[tuple[str, float | int]] = [("time", rng.uniform(0.05, 0.4))]
        triggers += [("pushed", rng.randint(lo, hi)) for lo, hi in ((5, 80), (90, 180))]
        triggers += [("pushed", rng.randint(190, 280)), ("pushed", edits)]
        for number, (kind, when) in enumerate(triggers):
            run = ClientRun(argv, demo_database_url, tmp_path, number)
            try:

                def started(run: ClientRun = run) -> bool:
                    return "started" in run.output()

                def reached(run: ClientRun = run, when: float = when) -> bool:
                    return run.proc.poll() is not None or pushed(conn) >= when

                assert wait_until(started, 60), run.output()
                if kind == "time":
                    time.sleep(when)
                else:
                    wait_until(reached, 60, 0.005)
                alive = run.proc.poll() is None
                run.kill()
                # The store a killed process left behind opens, and says how far it got.
                left = PlainStore(store_file, who.device_id)
                try:
                    local = (left.get_meta("e2e_edits"), left.pending_count())
                finally:
                    left.close()
                kills.append(
                    {
                        "run": number,
                        "trigger": f"{kind}>={when:.3g}",
                        "killed": alive and run.proc.returncode == -signal.SIGKILL,
                        "pushed_at_kill": pushed(conn),
                        "edits_marker": local[0],
                        "outbox": local[1],
                    }
                )
            finally:
                run.kill()
        # The last run is left to finish.
        final = ClientRun(argv, demo_database_url, tmp_path, len(triggers))
        try:
            assert final.proc.wait(timeout=120) == 0, final.output()
        finally:
            final.kill()
        assert "synced" in final.output()
        total_pushed = pushed(conn)

    print(f"\nkills: {kills}")
    really_killed = [k for k in kills if k["killed"]]
    assert len(really_killed) >= 3, kills
    assert any(0 < k["pushed_at_kill"] < edits for k in really_killed), (
        f"no kill landed mid-push: {kills}"
    )

    # The store opens, its outbox is empty, nothing was rejected.
    store = PlainStore(store_file, who.device_id)
    try:
        assert store.get_meta("e2e_edits") == "done"
        assert store.pending_count() == 0
        assert store.rejected() == []
        # Every edit reached the server exactly once: 3 per round, each once.
        logged = db_changes(demo_database_url, who.device_id)
        assert total_pushed == len(logged) == edits
        assert len({c["change_id"] for c in logged}) == edits
        per_round: dict[str, list[frozenset[str]]] = {}
        for change in logged:
            per_round.setdefault(change["record_id"], []).append(frozenset(change["fields"]))
        expected_ids = {
            killable_client.round_id(who.device_id, i) for i in range(killable_client.ROUNDS)
        }
        assert set(per_round) == expected_ids
        # A new record goes out whole: its defaults filled in, its checklist as one map.
        first = frozenset({"area_id", "round_date", "cleaner_id", "items", "completed_at", "note"})
        for round_id, changes in per_round.items():
            assert sorted(changes, key=sorted) == sorted(
                [first, frozenset({"items.desks_chairs"}), frozenset({"note"})], key=sorted
            ), round_id
        # The device's server layer is the server's disinfection and school buckets, exactly.
        assert_same_records(
            local_server_layer(store.server_records()), cleaners_records(demo_database_url)
        )
        for round_id in expected_ids:
            record = store.get("disinfection_rounds", round_id)
            assert record is not None
            assert record.fields["note"] == killable_client.NOTE
            assert set(record.fields["items"]) == {"open_windows", "desks_chairs"}
    finally:
        store.close()
    assert os.path.getsize(store_file) > 0
