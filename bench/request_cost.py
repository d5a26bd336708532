"""The served process's CPU per sync request, one request at a time.

    python -m bench.request_cost                      # PostgreSQL, 2,000 requests of each kind
    python -m bench.request_cost --n 2000 --database sqlite
    python -m bench.request_cost --n 20               # a smoke run
    python -m bench.request_cost --profile cost.txt  # then python -m bench.profile_top cost.txt

A fresh database with the demo school and `python -m server.cli serve` (one process) on
loopback. One client (httpx, one kept-alive connection) signs in as a class teacher, a
cleaner and the lead, pulls each of their scopes to the end, then sends N requests of each
kind one after another: an empty pull (the cursor at the counter: what most of a fleet's
pulls are), an empty push, and a push of one new round. What is printed is the server
process's CPU (user + system, from /proc) per request: it barely moves when other work
shares the cores, unlike the requests' wall time, also printed. To compare two versions of
the server, run this from a copy of each (`git archive`), alternately: the served code is
the copy's (`PYTHONPATH`).
"""

import argparse
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.harness import (
    Profiler,
    Server,
    cpu_seconds,
    fresh_database,
    login,
    machine,
    seed_demo,
)
from bench.store_bench import a_round

ACCOUNTS = {"teacher": "teacher1", "cleaner": "cleaner1", "lead": "lead"}


def _pull_to_end(client: httpx.Client, token: str, device: str) -> str | None:
    cursor = None
    while True:
        body = {"device_id": device, "cursor": cursor, "limit": 2000}
        page = _send(client, "/api/v1/sync/pull", token, body)
        cursor = page["cursor"]
        if not page["has_more"]:
            return str(cursor)


def _send(client: httpx.Client, path: str, token: str, body: dict[str, Any]) -> Any:
    response = client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
    if response.status_code != 200:
        raise RuntimeError(f"{path}: {response.status_code} {response.text}")
    return response.json()


def _measure(server: Server, n: int, send: Any) -> dict[str, float]:
    for _ in range(min(50, n)):  # warm: the statements' caches, the connections
        send()
    pid = server.pids()[0]
    cpu = cpu_seconds(pid)
    started = time.perf_counter()
    for _ in range(n):
        send()
    wall = time.perf_counter() - started
    return {
        "server_cpu_ms": round((cpu_seconds(pid) - cpu) / n * 1e3, 3),
        "wall_ms": round(wall / n * 1e3, 3),
    }


def run(database: str, n: int, profile: Path | None = None) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="carerounds-request-cost-") as tmp,
        fresh_database(database, Path(tmp)) as url,
    ):
        seed_demo(url)
        server = Server(url, Path(tmp), workers=1)
        spy = None
        try:
            with httpx.Client(base_url=server.base, timeout=60) as client:
                signed: dict[str, tuple[str, str, str | None]] = {}
                users = {}
                for kind, username in ACCOUNTS.items():
                    device = f"bench-cost-{kind}-{uuid.uuid4().hex[:6]}"
                    answer = login(server.base, username, device)
                    token, users[kind] = answer["token"], answer["user"]["id"]
                    signed[kind] = (token, device, _pull_to_end(client, token, device))
                spy = Profiler(server.pids(), profile, gil=True) if profile else None
                for kind, (token, device, cursor) in signed.items():
                    body = {"device_id": device, "cursor": cursor, "limit": 2000}

                    def pull(token: str = token, body: dict[str, Any] = body) -> None:
                        page = _send(client, "/api/v1/sync/pull", token, body)
                        assert not page["changes"] and not page["removed"], "not an empty pull"

                    results[f"empty pull, {kind}"] = _measure(server, n, pull)
                token, device, _ = signed["cleaner"]
                results["empty push"] = _measure(
                    server,
                    n,
                    lambda: _send(
                        client,
                        "/api/v1/sync/push",
                        token,
                        {"device_id": device, "changes": []},
                    ),
                )
                areas = _areas(client, token, device)
                count = iter(range(10**9))

                def push_one() -> None:
                    index = next(count)
                    change = {
                        "change_id": str(uuid.uuid4()),
                        "collection": "disinfection_rounds",
                        "record_id": str(uuid.uuid4()),
                        "hlc": f"{1764404130000 + index}-000000-{device}",
                        "fields": {
                            **a_round(index),
                            "area_id": areas[index % len(areas)],
                            "cleaner_id": users["cleaner"],
                        },
                    }
                    body = {"device_id": device, "changes": [change]}
                    [result] = _send(client, "/api/v1/sync/push", token, body)["results"]
                    assert result["status"] == "applied", result

                results["push of one round"] = _measure(server, n, push_one)
        finally:
            if spy:
                spy.stop()
            server.stop()
    return results


def _areas(client: httpx.Client, token: str, device: str) -> list[str]:
    page = _send(client, "/api/v1/sync/pull", token, {"device_id": device, "limit": 5000})
    return [c["record_id"] for c in page["changes"] if c["collection"] == "areas"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="requests of each kind")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument(
        "--profile",
        type=Path,
        help="a py-spy profile (--gil) of the server, to this file",
    )
    args = parser.parse_args(argv)
    started = machine()
    results = run(args.database, args.n, args.profile)
    print(f"python -m bench.request_cost --n {args.n} --database {args.database}")
    print(f"{'request':24} {'server CPU ms':>14} {'wall ms':>8}")
    for kind, row in results.items():
        print(f"{kind:24} {row['server_cpu_ms']:14.3f} {row['wall_ms']:8.3f}")
    print(json.dumps({"bench": "request_cost", "n": args.n, "machine": started, **results}))


if __name__ == "__main__":
    main()
