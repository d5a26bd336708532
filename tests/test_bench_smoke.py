"""Smoke runs of the benchmark scripts (N = 200): they keep working; nothing is timed."""

import json

import pytest

from bench import push_loop, store_bench


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
