"""Smoke runs of the sync benchmarks (N = 200; 3 devices for 3 s): they keep working.

Nothing is timed here. The peer (pouchdb from npm) is left out with --no-peer, so these
need neither node nor npm; the servers run on SQLite, so they need no PostgreSQL either,
but for the scale bench's (it fills PostgreSQL by COPY) and the devices pushing at once
into several processes (skipped without PostgreSQL, a failure under CI=true).
"""

import json
from pathlib import Path

import pytest

from bench import harness, many_devices, profile_top, scale_bench, sync_bench
from bench.harness import postgres_reachable
from tests.databases import pg_unavailable


def _figures(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_sync_bench_runs(capsys: pytest.CaptureFixture[str]) -> None:
    sync_bench.main(["--sizes", "200", "--databases", "sqlite", "--no-peer"])
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "python -m bench.sync_bench --sizes 200 --databases sqlite --no-peer"
    figures = {str(f["bench"]): f for f in _figures(out)}
    assert set(figures) == {"machine", "sync", "raw_sqlite"}
    ours = figures["sync"]
    assert ours["n"] == 200 and ours["database"] == "sqlite"
    # The fresh device got every round and the school's areas and checklists besides.
    assert isinstance(ours["pulled"], int) and ours["pulled"] > 200
    assert ours["incremental_n"] == 2
    for key in ("push_per_s", "pull_per_s", "client_pull_peak_mb", "server_push_peak_mb"):
        assert isinstance(ours[key], int | float) and ours[key] > 0, key
    assert ours["push_vs_peer"] is None
    assert isinstance(ours["push_vs_raw"], float)


def test_sync_bench_concurrent_push_runs(capsys: pytest.CaptureFixture[str]) -> None:
    if not harness.postgres_reachable():
        pg_unavailable("the devices pushing at once serve from PostgreSQL")
    sync_bench.main(["--sizes", "100", "--no-peer", "--concurrent", "2", "--only-concurrent"])
    out = capsys.readouterr().out
    assert out.splitlines()[0].endswith("--no-peer --concurrent 2 --only-concurrent")
    figures = {str(f["bench"]): f for f in _figures(out)}
    assert set(figures) == {"machine", "concurrent", "raw_sqlite"}
    together = figures["concurrent"]
    assert together["devices"] == together["workers"] == 2 and together["n"] == 100
    assert isinstance(together["push_per_s"], int) and together["push_per_s"] > 0
    assert together["push_vs_peer"] is None


def test_many_devices_runs(capsys: pytest.CaptureFixture[str]) -> None:
    # Two device counts: one run each, and the search's answer (not timed: any answer).
    many_devices.main(
        ["--devices", "2", "3", "--seconds", "3", "--workers", "1", "--database", "sqlite"]
    )
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("python -m bench.many_devices --devices 2 3 --seconds 3")
    assert "largest device count with push p95 under 250 ms:" in out
    results = [f for f in _figures(out) if f["bench"] == "many_devices"]
    assert [r["devices"] for r in results] == [2, 3]
    assert {r["roster"] for r in results} == {"school"}  # one account per device
    for result in results:
        assert isinstance(result["acked"], int) and result["acked"] > 0
        assert result["acked"] == result["in_db"]
        assert result["lost"] == result["doubled"] == result["seq_mismatch"] == 0
        assert result["pulled_twice"] == result["own_not_pulled"] == 0
        assert result["rejected"] == 0, result["rejected_codes"]
        assert isinstance(result["pushes"], int) and result["pushes"] > 0
        assert result["pull_with_push"] is True  # as the app syncs
        assert result["sync_p95_ms"] >= result["sync_p50_ms"] > 0


def test_many_devices_runs_with_push_and_pull_apart(capsys: pytest.CaptureFixture[str]) -> None:
    many_devices.main(
        ["--devices", "2", "--seconds", "3", "--workers", "1", "--database", "sqlite", "--apart"]
    )
    out = capsys.readouterr().out
    assert out.splitlines()[0].endswith("--roster school --apart")
    [result] = [f for f in _figures(out) if f["bench"] == "many_devices"]
    assert result["pull_with_push"] is False
    assert result["pulls"] >= result["pushes"] > 0  # a pull after every push
    assert result["acked"] == result["in_db"] > 0
    assert result["lost"] == result["doubled"] == result["own_not_pulled"] == 0


def test_scale_bench_runs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    if not postgres_reachable():
        pg_unavailable("the scale bench fills PostgreSQL")
    plans = tmp_path / "plans.txt"
    scale_bench.main(
        ["--sizes", "1500", "3000", "--scope", "100", "--reps", "1", "--plans", str(plans)]
    )
    out = capsys.readouterr().out
    assert (
        out.splitlines()[0] == "python -m bench.scale_bench --sizes 1500 3000 --scope 100 --reps 1"
    )
    rows = [f for f in _figures(out) if f["bench"] == "scale"]
    assert [r["n"] for r in rows] == [1500, 3000]
    for row in rows:
        # The filled database holds about N records; each phone gets its scope, no more.
        assert abs(int(row["records"]) - int(row["n"])) < 0.05 * int(row["n"])  # type: ignore[call-overload]
        cleaner, teacher = row["cleaner_initial"], row["teacher_initial"]
        assert isinstance(cleaner, dict) and isinstance(teacher, dict)
        # Each its scope's 100 and the demo school's share (areas, students...), no more.
        assert 100 < cleaner["records"] < 400 and 100 < teacher["records"] < 400
        assert row["cleaner_incremental"]["records"] == 1  # type: ignore[index]
        assert row["teacher_incremental"]["records"] == 0  # type: ignore[index]
    text = plans.read_text()
    # Tables this small are read whole: the plans' index use shows only at scale (docs).
    # Per size, both phases: a page query per bucket the phone reads (the cleaner's school
    # and disinfection; the teacher's school, two classes and referrals) and the moves.
    per_size = 2 * ((2 + 1) + (4 + 1))
    assert text.count("Execution Time") == 2 * per_size + 2  # two sizes, and the classes
    assert "--- teacher: incremental page: moves (N = 3000)" in text


def test_profile_top_reads_collapsed_stacks(tmp_path: Path) -> None:
    profile = tmp_path / "p.txt"
    profile.write_text(
        "main (app.py:1);work (app.py:5);json_dumps (json/encoder.py:10) 3\n"
        "main (app.py:1);work (app.py:6) 1\n"
    )
    text = profile_top.report(profile, within="work (app.py")
    assert "4 samples" in text
    assert "75.0%  json_dumps (json/encoder.py)" in text


def test_the_bench_school_has_a_phone_per_person_mostly_class_teachers() -> None:
    from collections import Counter

    from bench.bench_school import roster
    from shared.schemas.vocabulary import Role

    people = roster(500)
    assert len({p.username for p in people}) == 500  # one account per device
    assert Counter(p.role for p in people) == {
        Role.CLASS_TEACHER: 435,
        Role.CLEANER: 50,
        Role.COUNSELOR: 10,
        Role.LEAD: 5,
    }
    # Any first devices hold the roles in about their shares, not all the leads first.
    assert Counter(p.role for p in people[:100])[Role.CLASS_TEACHER] > 70
    assert {p.role for p in roster(3)} <= set(Role) and len(roster(3)) == 3
