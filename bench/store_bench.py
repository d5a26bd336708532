"""Encrypted store vs plain SQLite store: the same work, same run, as a ratio.

    python -m bench.store_bench                 # N = 10,000 and 100,000
    python -m bench.store_bench --sizes 200     # a smoke run

Measures, for each N: local edits (one transaction each, like taps in the app), a pull
of N records in pages of 1,000, reading every record back, and unlocking the store.
Prints a table, then one JSON line per figure.
"""

import argparse
import json
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from client.encrypted_store import EncryptedStore, Profile
from client.plain_store import PlainStore

AREA = str(uuid.uuid4())
CLEANER = str(uuid.uuid4())
ITEMS = [f"item_{i:02d}" for i in range(12)]


def a_round(index: int) -> dict[str, Any]:
    """About 1 KB, like a real round: 12 checklist items with notes."""
    return {
        "area_id": AREA,
        "round_date": "2026-11-29",
        "cleaner_id": CLEANER,
        "items": {
            item: {"done": True, "at": "2026-11-29T08:15:30Z", "note": f"已完成 {index} 消毒液"}
            for item in ITEMS
        },
        "note": "教学楼一层走廊, 含氯消毒液 500mg/L",
    }


def pulled(index: int, record_id: str) -> dict[str, Any]:
    fields = a_round(index)
    stamp = f"1764404130{index % 1000:03d}-000000-server"
    hlc = dict.fromkeys(("area_id", "round_date", "cleaner_id", "note"), stamp)
    hlc.update({f"items.{i}": stamp for i in ITEMS})
    return {
        "collection": "disinfection_rounds",
        "record_id": record_id,
        "seq": index + 1,
        "fields": fields,
        "field_hlc": hlc,
        "deleted": False,
    }


def timed(work: Callable[[], Any]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def measure(make: Callable[[Path], PlainStore], n: int, folder: Path) -> dict[str, float]:
    edits_store = make(folder / "edits.db")
    ids = [str(uuid.uuid4()) for _ in range(n)]

    def edit_all() -> None:
        for index, record_id in enumerate(ids):
            edits_store.edit("disinfection_rounds", record_id, a_round(index))

    figures = {"edit": n / timed(edit_all)}
    edits_store.close()

    pull_store = make(folder / "pull.db")
    pages = [
        [pulled(i, ids[i]) for i in range(start, min(n, start + 1000))]
        for start in range(0, n, 1000)
    ]

    def pull_all() -> None:
        for page in pages:
            pull_store.apply_pull_page(page, [], "cursor")

    figures["pull"] = n / timed(pull_all)

    def read_all() -> None:
        assert len(pull_store.records("disinfection_rounds")) == n

    figures["read"] = n / timed(read_all)
    pull_store.close()
    return figures


def durability(n: int, profile: Profile) -> dict[str, Any]:
    """What keeping each committed edit through a power cut costs: the same edits with
    SQLite's synchronous=NORMAL and FULL (the store's default), in one run."""
    ms = {}
    for mode in ("NORMAL", "FULL"):
        with tempfile.TemporaryDirectory() as tmp:
            store = EncryptedStore.create(
                Path(tmp) / "d.db", "bench-phone", "bench-password", profile, synchronous=mode
            )
            ids = [str(uuid.uuid4()) for _ in range(n)]

            def edit_all(store: EncryptedStore = store, ids: list[str] = ids) -> None:
                for index, record_id in enumerate(ids):
                    store.edit("disinfection_rounds", record_id, a_round(index))

            ms[mode] = timed(edit_all) / n * 1000
            store.close()
    return {
        "bench": "durability",
        "n": n,
        "normal_ms": round(ms["NORMAL"], 3),
        "full_ms": round(ms["FULL"], 3),
        "cost_ratio": round(ms["FULL"] / ms["NORMAL"], 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args(argv)
    profile = Profile(str(uuid.uuid4()), "bench", "cleaner", "http://127.0.0.1")
    rows: list[dict[str, Any]] = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            plain = measure(lambda p: PlainStore(p, "bench-phone"), n, Path(tmp) / "plain")
            encrypted = measure(
                lambda p: EncryptedStore.create(p, "bench-phone", "bench-password", profile),
                n,
                Path(tmp) / "encrypted",
            )
        for op in ("edit", "pull", "read"):
            rows.append(
                {
                    "bench": "store",
                    "n": n,
                    "op": op,
                    "plain_per_s": round(plain[op]),
                    "encrypted_per_s": round(encrypted[op]),
                    "cost_ratio": round(plain[op] / encrypted[op], 2),
                }
            )
    durable = durability(min(args.sizes[0], 2_000), profile)
    with tempfile.TemporaryDirectory() as tmp:
        store = EncryptedStore.create(Path(tmp) / "u.db", "bench-phone", "bench-password", profile)
        store.set_pin("246810")
        store.lock()
        unlock_password = timed(lambda: store.unlock("bench-password"))
        store.lock()
        unlock_pin = timed(lambda: store.unlock("246810", "pin"))
        store.close()

    print("python -m bench.store_bench --sizes " + " ".join(map(str, args.sizes)))
    print(f"{'N':>8} {'operation':<10} {'plain /s':>10} {'encrypted /s':>13} {'cost':>6}")
    for row in rows:
        print(
            f"{row['n']:>8} {row['op']:<10} {row['plain_per_s']:>10} "
            f"{row['encrypted_per_s']:>13} {row['cost_ratio']:>5}x"
        )
    print(f"unlock: password {unlock_password * 1000:.0f} ms, PIN {unlock_pin * 1000:.0f} ms")
    print(
        f"an edit, encrypted: {durable['normal_ms']} ms with synchronous=NORMAL (lost to a"
        f" power cut), {durable['full_ms']} ms with FULL (the default: kept), "
        f"{durable['cost_ratio']}x"
    )
    print(json.dumps(durable))
    for row in rows:
        print(json.dumps(row))
    print(
        json.dumps(
            {
                "bench": "unlock",
                "password_ms": round(unlock_password * 1000),
                "pin_ms": round(unlock_pin * 1000),
            }
        )
    )


if __name__ == "__main__":
    main()
