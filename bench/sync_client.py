"""The device side of bench.sync_bench, one phase per process so its peak memory is its own.

    python -m bench.sync_client '{"phase": "push", "base": "http://127.0.0.1:8000", ...}'

Phases (the product's client: encrypted store, sync engine, httpx transport):
- `push`: a new store signs in, pulls the school's areas, records `n` rounds locally
  (timed apart as `edit`), then pushes them all (timed);
- `pull`: a new store pulls everything (the initial sync of a fresh device, timed);
- `change`: the pushing store, reopened, edits one checklist entry of `n` of its rounds
  and pushes them (timed);
- `incremental`: the pulling store, reopened, pulls what changed since (timed).
Prints one JSON line: counts, seconds, and the peak RSS of this process.

With `"barrier": DIR` (several devices pushing at once), a device that has recorded its
rounds writes `DIR/ready-<device_id>` and waits for `DIR/go` before it pushes; it also
reports when its push began and ended (`time.time()`), so the parent can time them all.
"""

import contextlib
import json
import sqlite3
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bench.harness import peak_rss_mb, reset_peak, rss_mb
from bench.store_bench import a_round
from client.encrypted_store import EncryptedStore, Profile
from client.httpx_transport import HttpxTransport
from client.sync_engine import MAX_BATCH, SyncEngine

STORE_PASSWORD = "bench-store-password"  # noqa: S105 - a throwaway store's password
COLLECTION = "disinfection_rounds"


# Recording 100,000 rounds takes minutes on a loaded machine: the store must not lock
# itself for want of a person's input meanwhile (its idle lock is not what is measured).
IDLE_SECONDS = 24 * 3600.0


def _store(args: dict[str, Any]) -> EncryptedStore:
    path = Path(args["store"])
    if path.exists():
        store = EncryptedStore(path, args["device_id"], idle_seconds=IDLE_SECONDS)
        store.unlock(STORE_PASSWORD)
        return store
    profile = Profile(args["user_id"], args["username"], args["role"], args["base"])
    return EncryptedStore.create(
        path, args["device_id"], STORE_PASSWORD, profile, idle_seconds=IDLE_SECONDS
    )


def _engine(store: EncryptedStore, args: dict[str, Any]) -> SyncEngine:
    transport = HttpxTransport(args["base"], timeout=300)
    engine = SyncEngine(store, transport, args["token"])
    # The engine's defaults unless told otherwise (as SyncEngine.__init__ bounds them).
    if args.get("batch_size"):
        engine.batch_size = min(int(args["batch_size"]), MAX_BATCH)
    if args.get("page_limit"):
        engine.page_limit = int(args["page_limit"])
    return engine


def run(args: dict[str, Any]) -> dict[str, Any]:
    phase = args["phase"]
    n = int(args["n"])
    store = _store(args)
    engine = _engine(store, args)
    out: dict[str, Any] = {"phase": phase}
    if phase == "push":
        engine.pull()  # the areas and checklists the rounds point at
        areas = [r.record_id for r in store.records("areas")]
        started = time.perf_counter()
        for index in range(n):
            fields = {
                **a_round(index),
                "area_id": areas[index % len(areas)],
                "cleaner_id": args["user_id"],
            }
            store.edit(COLLECTION, str(uuid.uuid4()), fields)
        out["edit_s"] = time.perf_counter() - started
    elif phase == "change":
        for index, record_id in enumerate(_round_ids(args["store"], n)):
            entry = {"done": False, "at": "2026-11-29T09:30:00Z", "note": f"复查 {index} 未完成"}
            store.edit(COLLECTION, record_id, {"items.item_03": entry})
    if args.get("barrier"):
        barrier = Path(args["barrier"])
        (barrier / f"ready-{args['device_id']}").touch()
        while not (barrier / "go").exists():
            time.sleep(0.01)
    out["rss_before_mb"] = rss_mb()
    reset_peak()  # from here on, the peak is the timed part's
    cpu = time.process_time()
    out["began"] = time.time()
    started = time.perf_counter()
    if phase in ("push", "change"):
        report = engine.push()
        out["count"] = report.pushed
        out["rejected"] = report.rejected
        if phase == "change" and report.pushed != n:
            raise RuntimeError(f"pushed {report.pushed} changes, not {n}")
    else:
        report = engine.pull()
        out["count"] = report.pulled
    out["seconds"] = time.perf_counter() - started
    out["ended"] = time.time()
    out["cpu_s"] = time.process_time() - cpu
    out["peak_rss_mb"] = peak_rss_mb()
    out["pending"] = store.pending_count()
    store.close()
    out["rounds_held"] = len(_round_ids(args["store"]))
    return out


def _round_ids(path: str, limit: int = -1) -> list[str]:
    """The ids of the rounds the device holds (ids are not sealed, values are)."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        rows = conn.execute(
            "SELECT record_id FROM records WHERE collection = ? ORDER BY record_id LIMIT ?",
            (COLLECTION, limit),
        )
        return [str(r[0]) for r in rows]


def main(argv: list[str] | None = None) -> None:
    args = json.loads((argv if argv is not None else sys.argv[1:])[0])
    print(json.dumps(run(args)))


if __name__ == "__main__":
    main()
