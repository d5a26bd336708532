"""Smoke runs of the benchmark scripts (N = 200): they keep working; nothing is timed."""

import json

import pytest

from bench import store_bench


def test_store_bench_runs(capsys: pytest.CaptureFixture[str]) -> None:
    store_bench.main(["--sizes", "200"])
    lines = capsys.readouterr().out.splitlines()
    figures = [json.loads(line) for line in lines if line.startswith("{")]
    ops = {(f["n"], f["op"]) for f in figures if f["bench"] == "store"}
    assert ops == {(200, "edit"), (200, "pull"), (200, "read")}
    assert all(f["cost_ratio"] > 0 for f in figures if f["bench"] == "store")
    assert lines[0] == "python -m bench.store_bench --sizes 200"
