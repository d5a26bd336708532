"""Faults under load (issue 16): 20 devices keep editing and syncing against
`serve --workers 4` on PostgreSQL while PostgreSQL goes away for 5 s (through a TCP gate
between the server and the database: every connection cut, new ones refused), a uvicorn
worker is SIGKILLed, and a proxy cuts a share of the devices' requests (before the server
sees them, after it answered, halfway through the answer). The scenario is
`bench.faults_under_load.run`; the checks are this test's own, read from the database.

Then: the server said 503 with Retry-After while the database was away, never a 500; it
served again without a restart; uvicorn replaced the killed worker and the others carried
on; every change each device made is in the server's log exactly once; every outbox is
empty; each device holds exactly what the server holds for its scope; every device file
passes SQLite's integrity check.
"""

from collections import Counter
from pathlib import Path

import pytest

from bench.faults_under_load import PUSH, FaultRun, integrity, run
from client.plain_store import PlainStore
from tests.e2e.harness import (
    Key,
    Row,
    assert_same_records,
    db_changes,
    db_records,
    local_server_layer,
)

pytestmark = pytest.mark.postgres_only

DEVICES = 20
WORKERS = 4
SECONDS = 20.0
OUTAGE_AT, OUTAGE = 4.0, 5.0
KILL_AT = 12.0


def scope_of(role: str, database_url: str) -> dict[Key, Row]:
    """What the server holds for a device: a cleaner reads the rounds' bucket and the
    school's; the lead reads everything."""
    if role == "lead":
        return db_records(database_url)
    return {**db_records(database_url, "disinfection"), **db_records(database_url, "school")}


def test_twenty_devices_through_a_database_outage_a_killed_worker_and_cut_connections(
    demo_database_url: str, tmp_path: Path
) -> None:
    result: FaultRun = run(
        demo_database_url,
        tmp_path,
        devices=DEVICES,
        seconds=SECONDS,
        workers=WORKERS,
        outage_at=OUTAGE_AT,
        outage=OUTAGE,
        kill_at=KILL_AT,
        cut_share=0.05,
        retry_after=1,
    )
    exchanges = [e for d in result.devices for e in d.log.exchanges]
    outage = result.outage
    print(
        f"\n{sum(len(d.made) for d in result.devices)} changes, {len(exchanges)} requests; "
        f"statuses {Counter(e.status for e in exchanges)}; proxy cuts {result.proxy_cuts}; "
        f"gate {result.gate}; retried {sum((d.retries for d in result.devices), Counter())}; "
        f"killed worker {result.kill.pid}"
    )

    # Nothing but retryable trouble on the way, and every device finished.
    assert [f for d in result.devices for f in d.fatal] == []
    assert all(d.drained for d in result.devices), [d.index for d in result.devices]

    # While the database was away the server said so: 503, with Retry-After, never a 500.
    unavailable = [
        e
        for e in exchanges
        if e.status == 503 and e.code == "database_unavailable" and e.retry_after == 1.0
    ]
    assert unavailable, "no device was told 503 with Retry-After during the outage"
    assert all(e.ended >= outage.down_at and e.started <= outage.back_at + 5 for e in unavailable)
    broken = [e for e in exchanges if e.status is not None and e.status >= 500 and e.status != 503]
    assert broken == [], f"{len(broken)} answers were 5xx other than 503: {broken[:3]}"
    probed = Counter(status for _, status in result.probe.answers)
    assert probed[503] > 0 and not [s for s in probed if s and s >= 500 and s != 503], probed
    assert result.gate["cut"] > 0 and result.gate["refused"] > 0
    # It served again once the database was back, without a restart (the same server
    # process and, but for the killed one, the same workers).
    assert any(t > outage.back_at and s == 200 for t, s in result.probe.answers)
    assert any(e.path == PUSH and e.status == 200 and e.started > outage.back_at for e in exchanges)

    # The killed worker: uvicorn started another in its place; the others carried on.
    assert result.kill.pid > 0
    assert f"Child process [{result.kill.pid}] died" in result.server_output
    assert result.kill.restarted_at is not None, "uvicorn did not replace the killed worker"
    assert any(e.path == PUSH and e.status == 200 and e.started > result.kill.at for e in exchanges)
    # The proxy cut requests of each kind; some answers were lost after the server did them.
    assert set(result.proxy_cuts) == {"request", "answer", "half"}, result.proxy_cuts
    assert sum(1 for e in exchanges if e.status is None) >= sum(result.proxy_cuts.values())

    for device in result.devices:
        # Every change the device made is in the server's log exactly once, and nothing
        # else is logged for it.
        logged = Counter(c["change_id"] for c in db_changes(demo_database_url, device.device_id))
        assert logged == Counter(device.made), device.index
        assert max(logged.values()) == 1
        # Its store opens, its outbox is empty, nothing was refused, and it holds exactly
        # what the server holds for its scope, its view the same as its server layer.
        store = PlainStore(device.store_path, device.device_id)
        try:
            assert store.pending_count() == 0
            assert store.rejected() == []
            server = scope_of(device.role, demo_database_url)
            assert_same_records(local_server_layer(store.server_records()), server)
            for (collection, record_id), row in server.items():
                seen = store.get(collection, record_id)
                assert seen is not None or row.deleted, (collection, record_id)
                if seen is not None and not row.deleted:
                    assert seen.fields == row.fields, (collection, record_id)
        finally:
            store.close()
        assert integrity(device.store_path) == [], device.store_path
