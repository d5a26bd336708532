"""A device as a process of its own, for the test that SIGKILLs it mid-sync:

    python tests/e2e/killable_client.py STORE_FILE DEVICE_ID TOKEN BASE_URL AREA_ID CLEANER_ID

On its first run it makes its edits (ROUNDS rounds, EDITS_PER_ROUND edits each), then it
syncs in small batches until its outbox is empty. Killed and started again, it resumes:
every edit is recognised in the store (an edit is one store transaction), the meta key
`e2e_edits` = "done" marks that all were made, and the outbox and pull cursor carry the
sync on. It prints `started`, `edits done` and `synced` lines as it goes.
"""

import sys
import time
import uuid

from client.httpx_transport import HttpxTransport
from client.plain_store import PlainStore
from client.sync_engine import Offline, ServerTrouble, SyncEngine

ROUNDS = 100
EDITS_PER_ROUND = 3  # 300 edits in all
BATCH_SIZE = 10
PAGE_LIMIT = 50
MAX_SYNC_ATTEMPTS = 100
NOTE = "third edit"
DAY = "2026-11-30"


def round_id(device_id: str, index: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"e2e-killed/{device_id}/{index}"))


def make_edits(store: PlainStore, area_id: str, cleaner_id: str) -> None:
    for index in range(ROUNDS):
        rid = round_id(store.device_id, index)
        record = store.get("disinfection_rounds", rid)
        if record is None:
            store.edit(
                "disinfection_rounds",
                rid,
                {
                    "area_id": area_id,
                    "round_date": DAY,
                    "cleaner_id": cleaner_id,
                    "items.open_windows": {"done": True, "at": f"{DAY}T07:30:00+08:00"},
                },
            )
            record = store.get("disinfection_rounds", rid)
        assert record is not None
        if "desks_chairs" not in record.fields.get("items", {}):
            store.edit(
                "disinfection_rounds",
                rid,
                {"items.desks_chairs": {"done": True, "at": f"{DAY}T07:40:00+08:00"}},
            )
        if record.fields.get("note") != NOTE:
            store.edit("disinfection_rounds", rid, {"note": NOTE})


def main(argv: list[str]) -> int:
    store_file, device_id, token, base_url, area_id, cleaner_id = argv
    store = PlainStore(store_file, device_id)
    transport = HttpxTransport(base_url, timeout=30)
    try:
        print("started", flush=True)
        if store.get_meta("e2e_edits") != "done":
            make_edits(store, area_id, cleaner_id)
            store.set_meta("e2e_edits", "done")
        print("edits done", flush=True)
        engine = SyncEngine(store, transport, token, batch_size=BATCH_SIZE, page_limit=PAGE_LIMIT)
        for _ in range(MAX_SYNC_ATTEMPTS):
            try:
                engine.sync()
            except (Offline, ServerTrouble) as exc:
                print(f"retrying: {exc.code}", flush=True)
                time.sleep(0.1)
                continue
            if store.pending_count() == 0:
                print("synced", flush=True)
                return 0
        print("gave up", flush=True)
        return 1
    finally:
        transport.close()
        store.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
