"""Smoke runs of the benchmark scripts (N = 200; the fault run with 3 devices for 6 s):
they keep working; nothing is timed."""

import json

import psycopg
import pytest

from bench import faults_under_load, push_loop, request_cost, store_bench
from bench.loopback import PG_ADMIN_URL
from tests.databases import pg_unavailable


def test_store_bench_runs(capsys: pytest.CaptureFixture[str]) -> None:
    store_bench.main(["--sizes", "200"])
    lines = capsys.readouterr().out.splitlines()
    figures = [json.loads(line) for line in lines if line.startswith("{")]
    ops = {(f["n"], f["op"]) for f in figures if f["bench"] == "store"}
    assert ops == {(200, "edit"), (200, "pull"), (200, "read")}
    assert all(f["cost_ratio"] > 0 for f in figures if f["bench"] == "store")
    assert lines[0] == "python -m bench.store_bench --sizes 200"


def test_push_loop_runs(capsys: pytest.CaptureFixture[str]) -> None:
    push_loop.main(["--n", "200", "--databases", "sqlite"])
    lines = capsys.readouterr().out.splitlines()
    figures = [json.loads(line) for line in lines if line.startswith("{")]
    loops = {f["database"]: f for f in figures if f["bench"] == "push_loop"}
    assert set(loops) == {"sqlite"}
    assert loops["sqlite"]["n"] == 200 and loops["sqlite"]["push_us"] > 0
    assert loops["sqlite"]["vs_raw"] > 0
    assert lines[0] == "python -m bench.push_loop --n 200 --databases sqlite"


def test_request_cost_runs(capsys: pytest.CaptureFixture[str]) -> None:
    request_cost.main(["--n", "5", "--database", "sqlite"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "python -m bench.request_cost --n 5 --database sqlite"
    [figures] = [json.loads(line) for line in lines if line.startswith("{")]
    assert figures["empty pull, teacher"]["wall_ms"] > 0
    assert figures["push of one round"]["server_cpu_ms"] >= 0


def test_faults_under_load_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """The gate's outage (never --real-restart here: PostgreSQL is shared)."""
    try:
        psycopg.connect(PG_ADMIN_URL, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        pg_unavailable(str(exc).strip().splitlines()[0])
    faults_under_load.main(
        ["--devices", "3", "--seconds", "6", "--workers", "2", "--outage-at", "1", "--outage", "2"]
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("python -m bench.faults_under_load --devices 3 --seconds 6")
    figures = [json.loads(line) for line in lines if line.startswith("{")]
    result = next(f for f in figures if f["bench"] == "faults_under_load")
    assert result["outage"] == "gate" and result["devices"] == 3
    assert isinstance(result["changes_made"], int) and result["changes_made"] > 0
    assert result["changes_in_db"] == result["changes_made"]
    assert result["lost"] == result["doubled"] == result["stray"] == result["pending"] == 0
    assert result["stores_broken"] == 0 and result["fatal"] == []
    assert result["answered_5xx_other"] == result["probe_5xx_other"] == 0
    assert result["probe_503"] > 0, "the probe never saw the database away"
