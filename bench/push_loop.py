"""The server's push alone, in-process: what each part of a push costs per change.

    python -m bench.push_loop                                # 10,000 new rounds, both databases
    python -m bench.push_loop --n 10000 --databases sqlite
    py-spy record -o push.txt -f raw -- python -m bench.push_loop --databases sqlite
    python -m bench.push_loop --n 200 --databases sqlite     # a smoke run

A fresh database with the demo school; cleaner1 signs in; N new rounds (the rounds of
`bench.sync_bench`, pointing at the school's areas) go in batches of 1,000 through what the
push route does, without HTTP: the body parsed (orjson, then `PushRequest`), the token
checked and `server.sync.push.push` run, the answer encoded. As in a served process, the
startup heap is frozen and SQLite's log is copied by `WalCheckpointer`. The reference,
measured in the same run: raw SQLite inserting the same payloads (`sync_bench`'s floor).
Prints µs per change of each part (wall), the process's CPU and the pushing thread's
CPU in the pushes alone, the ratio to the floor, then one JSON line per database.
"""

import argparse
import gc
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from bench.harness import fresh_database, machine, seed_demo
from bench.store_bench import a_round
from bench.sync_bench import run_raw
from server.accounts import authenticate
from server.config import Settings
from server.db import WalCheckpointer
from server.demo import DEMO_PASSWORD
from server.main import create_app
from server.models import Record
from server.sync import push as pushing
from shared.hlc import Clock
from shared.schemas.wire import PushRequest

BATCH = 1000  # the engine's batch (the protocol's bound)
DEVICE = "bench-push-loop"


def _bodies(n: int, areas: list[str], user_id: str) -> list[bytes]:
    clock = Clock(DEVICE)
    bodies = []
    for start in range(0, n, BATCH):
        changes = [
            {
                "change_id": str(uuid.uuid4()),
                "collection": "disinfection_rounds",
                "record_id": str(uuid.uuid4()),
                "hlc": clock.now(),
                "base_seq": None,
                "fields": {
                    **a_round(index),
                    "area_id": areas[index % len(areas)],
                    "cleaner_id": user_id,
                },
                "deleted": False,
            }
            for index in range(start, min(n, start + BATCH))
        ]
        bodies.append(orjson.dumps({"device_id": DEVICE, "changes": changes}))
    return bodies


def run(database: str, n: int) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="carerounds-push-loop-") as tmp,
        fresh_database(database, Path(tmp)) as url,
    ):
        seed_demo(url)
        app = create_app(Settings(database_url=url))
        engine = app.state.engine
        checkpoints = WalCheckpointer(engine)
        try:
            signed_in = TestClient(app).post(
                "/api/v1/auth/login",
                json={
                    "username": "cleaner1",
                    "password": DEMO_PASSWORD,
                    "device_id": DEVICE,
                    "device_name": "bench",
                },
            )
            signed_in.raise_for_status()
            token, user_id = signed_in.json()["token"], signed_in.json()["user"]["id"]
            with Session(engine) as session:
                areas = [
                    str(r.record_id)
                    for r in session.exec(select(Record).where(Record.collection == "areas"))
                ]
            bodies = _bodies(n, areas, user_id)
            gc.collect()
            gc.freeze()
            checkpoints.start()
            parts = {"parse": 0.0, "push": 0.0, "answer": 0.0}
            push_cpu = 0.0  # this thread's CPU in the pushes (not the log-copying thread's)
            cpu = time.process_time()
            started = time.perf_counter()
            for body in bodies:
                t0 = time.perf_counter()
                request = PushRequest.model_validate(orjson.loads(body))
                t1 = time.perf_counter()
                c1 = time.thread_time()
                with Session(engine) as session:
                    caller = authenticate(session, token)
                    response = pushing.push(session, app.state.clock, caller, request)
                push_cpu += time.thread_time() - c1
                t2 = time.perf_counter()
                orjson.dumps(response.model_dump(mode="json"))
                t3 = time.perf_counter()
                parts["parse"] += t1 - t0
                parts["push"] += t2 - t1
                parts["answer"] += t3 - t2
                refused = [r for r in response.results if r.status.value != "applied"]
                if refused:
                    raise RuntimeError(f"a change was not applied: {refused[0]}")
            total = time.perf_counter() - started
            cpu = time.process_time() - cpu
        finally:
            checkpoints.stop()
            gc.unfreeze()
            engine.dispose()
    row: dict[str, Any] = {"bench": "push_loop", "database": database, "n": n}
    row.update({f"{part}_us": round(seconds / n * 1e6, 1) for part, seconds in parts.items()})
    row["total_us"] = round(total / n * 1e6, 1)
    row["per_s"] = round(n / total)
    # CPU of the whole process (the log-copying thread included), steadier than wall time
    # on a shared machine.
    row["cpu_us"] = round(cpu / n * 1e6, 1)
    row["push_cpu_us"] = round(push_cpu / n * 1e6, 1)
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument(
        "--databases", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"]
    )
    args = parser.parse_args(argv)
    print(f"python -m bench.push_loop --n {args.n} --databases {' '.join(args.databases)}")
    floor = run_raw(args.n)
    rows = [run(database, args.n) for database in args.databases]
    floor_us = 1e6 / floor["insert_per_s"]
    print(
        "database     parse µs   push µs  answer µs  total µs   CPU µs  push CPU µs"
        "  changes/s  ÷ raw SQLite"
    )
    for row in rows:
        row["vs_raw"] = round(row["per_s"] / floor["insert_per_s"], 3)
        print(
            f"{row['database']:<12} {row['parse_us']:>8} {row['push_us']:>9} "
            f"{row['answer_us']:>10} {row['total_us']:>9} {row['cpu_us']:>8} "
            f"{row['push_cpu_us']:>12} {row['per_s']:>10}"
            f"  {row['vs_raw']:.3f}x"
        )
    print(f"raw SQLite inserting the same payloads: {floor_us:.1f} µs per change")
    print()
    for row in [machine(), *rows, floor]:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
