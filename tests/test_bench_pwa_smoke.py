"""A smoke run of the PWA benchmark (N = 200, one run, 100 rounds pushed, on SQLite, without
the peer): it keeps working. Nothing is timed; it takes a minute or two (Chromium starts the
app three times). Needs the web build (the `web_build` fixture) and Chromium; the peer
(pouchdb from npm) is left out with --no-peer, as in test_bench_sync_smoke.py.
"""

import json
import os
from pathlib import Path

import pytest

from bench import pwa_bench
from bench.browser import CHROMIUM

COMMAND = "python -m bench.pwa_bench --sizes 200 --runs 1 --push 100 --database sqlite --no-peer"


def _figures(out: str) -> dict[str, dict[str, object]]:
    return {
        str(figure["bench"]): figure
        for figure in (json.loads(line) for line in out.splitlines() if line.startswith("{"))
    }


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and value > 0


def test_pwa_bench_runs(web_build: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    pwa_bench.main([*COMMAND.split()[3:], "--web-dir", str(web_build)])
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == COMMAND
    assert any(line.startswith("first visit ") for line in lines), out
    assert any(line.startswith("offline later ") for line in lines), out
    assert any(line.startswith("browser (Pyodide, IndexedDB) ") for line in lines), out

    figures = _figures(out)
    assert set(figures) == {
        "machine",
        "pwa_start",
        "pwa_start_median",
        "pwa_sync",
        "pwa_sync_median",
        "machine_at_end",
    }
    start = figures["pwa_start"]
    first, offline = start["first"], start["offline"]
    assert isinstance(first, dict) and isinstance(offline, dict)
    for key in ("usable_ms", "sw_ready_ms", "pyodide", "imports", "downloaded_mb"):
        assert _positive(first[key]), (key, first)
    for key in ("usable_ms", "pyodide", "imports", "mount"):
        assert _positive(offline[key]), (key, offline)
    assert offline["downloaded_mb"] == 0, "the later start is offline: nothing downloaded"
    assert _positive(start["sign_in_ms"]) and _positive(start["unlock_ms"]), start

    sync = figures["pwa_sync"]
    # The browser got every round, and the school's areas and checklists besides.
    assert isinstance(sync["browser_pulled"], int) and sync["browser_pulled"] > 200, sync
    for key in ("browser_pull_per_s", "browser_edit_per_s", "browser_push_per_s"):
        assert _positive(sync[key]), (key, sync)
    assert _positive(sync["native_pull_per_s"]), sync
    assert "peer_pull_per_s" not in sync
    assert figures["pwa_sync_median"]["browser_pull_vs_peer"] is None
