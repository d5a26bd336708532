"""`carerounds-server` (server.cli): migrate and the CSV imports in-process, and the real
entry point (`demo`, `serve --workers 2`) as a subprocess over real HTTP."""

import contextlib
import gc
import os
import secrets
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import inspect
from sqlmodel import Session, select

from bench.loopback import PG_ADMIN_URL, ServerProcess, child_env
from server import cli, records
from server.config import Settings
from server.db import make_engine
from server.models import User
from server.security import verify_password
from shared.schemas.vocabulary import Role
from tests.databases import fresh_postgres

DEMO_PASSWORD = "carerounds-demo"


# In-process ------------------------------------------------------------------------------


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """DATABASE_URL for a new SQLite file; the working directory is tmp_path (no .env)."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CAREROUNDS_DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def open_db(url: str) -> Iterator[Session]:
    engine = make_engine(Settings(database_url=url))
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def usernames(url: str) -> dict[str, str]:
    for session in open_db(url):
        return {u.username: u.role for u in session.exec(select(User))}
    raise AssertionError("unreachable")


def live_names(url: str, collection: str) -> list[str]:
    for session in open_db(url):
        return [str(r.fields["name"]) for r in records.live(session, collection)]
    raise AssertionError("unreachable")


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_migrate_creates_the_schema(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["migrate"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert (tmp_path / "cli.db").is_file()
    engine = make_engine(Settings(database_url=sqlite_url))
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"users", "records", "changes", "seq_counter", "devices", "access_tokens"} <= tables
    # Running it again is harmless.
    assert cli.main(["migrate"]) == 0
    assert usernames(sqlite_url) == {}


def test_migrate_uses_data_dir_without_database_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("CAREROUNDS_DATABASE_URL", raising=False)
    monkeypatch.setenv("CAREROUNDS_DATA_DIR", str(tmp_path / "school-data"))
    assert cli.main(["migrate"]) == 0
    assert (tmp_path / "school-data" / "carerounds.db").is_file()


def test_import_users(sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(
        tmp_path / "people.csv",
        "username,display_name,role,password,classes\n"
        "王老师,王丽华,班主任,,初一(1)班;初一(2)班\n"
        "cleaner_a,张阿姨,保洁员,cleaner-pass,\n"
        "psy,刘欣,心理老师,,\n",
        "gb18030",
    )
    assert cli.main(["import-users", str(path)]) == 0

    captured = capsys.readouterr()
    assert captured.err == ""
    assert "imported 3 new, updated 0" in captured.out
    assert "created classes: 初一(1)班, 初一(2)班" in captured.out
    assert "one-time passwords" in captured.out
    printed = {
        line.split()[0]: line.split()[1]
        for line in captured.out.splitlines()
        if line.startswith("  ")
    }
    assert set(printed) == {"王老师", "psy"}
    for session in open_db(sqlite_url):
        for username, password in printed.items():
            user = session.exec(select(User).where(User.username == username)).one()
            assert verify_password(password, user.password_hash)[0], username
    assert "cleaner-pass" not in captured.out
    assert usernames(sqlite_url) == {
        "王老师": Role.CLASS_TEACHER,
        "cleaner_a": Role.CLEANER,
        "psy": Role.COUNSELOR,
    }
    assert sorted(live_names(sqlite_url, "classes")) == ["初一(1)班", "初一(2)班"]


def test_import_users_bad_file(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path / "bad.csv",
        "username,display_name,role,password\n"
        "fine,好人,cleaner,password-1\n"
        "bad name,坏名字,cleaner,password-2\n"
        "fine2,好人二,cleaner,password-3\n"
        "who,谁,janitor,password-4\n"
        "fine3,好人三,cleaner,short\n",
    )
    assert cli.main(["import-users", str(path)]) == 1

    captured = capsys.readouterr()
    assert "imported" not in captured.out
    err = captured.err
    assert "nothing imported" in err
    assert str(path) in err
    problem_lines = [line.strip() for line in err.splitlines() if line.startswith("  ")]
    assert [line.split(":")[0] for line in problem_lines] == ["line 3", "line 5", "line 6"]
    assert "janitor" in problem_lines[1]
    assert usernames(sqlite_url) == {}


def test_import_users_missing_file(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.csv"
    assert cli.main(["import-users", str(missing)]) == 2
    captured = capsys.readouterr()
    assert "no such file" in captured.err
    assert str(missing) in captured.err
    assert captured.out == ""
    # A directory is not a file either.
    assert cli.main(["import-students", str(tmp_path)]) == 2


def test_import_users_twice_reports_existing(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path / "p.csv", "username,display_name,role,password\nsolo,独,lead,pw-123456\n"
    )
    assert cli.main(["import-users", str(path)]) == 0
    capsys.readouterr()
    assert cli.main(["import-users", str(path)]) == 1
    err = capsys.readouterr().err
    assert "line 2" in err
    assert "already exists" in err
    assert usernames(sqlite_url) == {"solo": Role.LEAD}


def test_import_users_bad_class_name_is_reported_not_raised(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A class name the schema refuses (over 100 characters) is a bad line like any other:
    exit 1 with the line on stderr, not a traceback."""
    path = write(
        tmp_path / "long.csv",
        "username,display_name,role,password,classes\n"
        f"long_t,乙老师,班主任,password-2,{'班' * 101}\n",
    )
    assert cli.main(["import-users", str(path)]) == 1
    err = capsys.readouterr().err
    assert "line 2" in err
    assert usernames(sqlite_url) == {}


def test_import_students(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path / "students.csv",
        "name,class,student_no\n王小明,初一(1)班,001\n李小红,初一(2)班,002\n",
        "utf-8-sig",
    )
    # Without --create-classes the unknown classes are reported and nothing is imported.
    assert cli.main(["import-students", str(path)]) == 1
    captured = capsys.readouterr()
    assert "nothing imported" in captured.err
    assert "line 2" in captured.err
    assert "line 3" in captured.err
    assert "--create-classes" in captured.err
    assert live_names(sqlite_url, "students") == []

    assert cli.main(["import-students", str(path), "--create-classes"]) == 0
    out = capsys.readouterr().out
    assert "imported 2 new, updated 0" in out
    assert "created classes: 初一(1)班, 初一(2)班" in out
    assert "one-time passwords" not in out
    assert sorted(live_names(sqlite_url, "students")) == ["李小红", "王小明"]

    # The same roster again updates in place.
    assert cli.main(["import-students", str(path)]) == 0
    out = capsys.readouterr().out
    assert "imported 0 new, updated 2" in out
    assert "created classes" not in out
    assert len(live_names(sqlite_url, "students")) == 2
    assert sorted(live_names(sqlite_url, "classes")) == ["初一(1)班", "初一(2)班"]


def test_unknown_command_is_a_usage_error(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as excinfo:
        cli.main(["frobnicate"])
    assert excinfo.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["import-users"])


def open_connections(database_url: str) -> int:
    """Connections to the database that something other than this query holds open."""
    if database_url.startswith("sqlite:///"):
        db_file = Path(database_url.removeprefix("sqlite:///")).resolve()
        fds = Path("/proc/self/fd")
        if not fds.is_dir():
            pytest.skip("needs /proc to see open files")
        held = 0
        for fd in fds.iterdir():
            with contextlib.suppress(OSError):
                held += Path(os.readlink(fd)) == db_file
        return held
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_cli_commands_close_their_connections(
    fresh_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`main()` must release the database when a command returns (as `demo`/`serve` do before
    serving): pooled connections left to the garbage collector stay open on the server and
    end in ResourceWarnings."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CAREROUNDS_DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", fresh_database_url)
    people = write(tmp_path / "p.csv", "username,display_name,role\nleak_check,检查,cleaner\n")
    gc.disable()  # so that only main() itself can close what it opened
    try:
        assert cli.main(["migrate"]) == 0
        after_migrate = open_connections(fresh_database_url)
        assert cli.main(["import-users", str(people)]) == 0
        after_import = open_connections(fresh_database_url)
        assert (after_migrate, after_import) == (0, 0)
    finally:
        # Whatever was leaked is closed here, not in some later test.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.enable()
            gc.collect()


# Subprocesses ------------------------------------------------------------------------------


@pytest.fixture
def fresh_pg_url() -> Iterator[str]:
    """An empty PostgreSQL database of its own, dropped afterwards."""
    with fresh_postgres("carerounds_cli") as url:
        yield url


@pytest.fixture
def fresh_database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "postgresql":
        return str(request.getfixturevalue("fresh_pg_url"))
    return f"sqlite:///{tmp_path / 'served.db'}"


def http_login(client: httpx.Client, username: str, password: str) -> dict[str, Any]:
    """Sign in over HTTP, check the token works, and return the login response."""
    response = client.post(
        "/api/v1/auth/login",
        json={
            "username": username,
            "password": password,
            "device_id": f"dev-{secrets.token_hex(4)}",
            "device_name": "测试手机",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200, me.text
    assert me.json()["username"] == username
    return dict(body)


def test_demo_end_to_end(fresh_database_url: str, tmp_path: Path) -> None:
    server = ServerProcess.cli(["demo"], fresh_database_url, tmp_path)
    try:
        server.wait_ready()
        with httpx.Client(base_url=server.base, timeout=10) as client:
            for username, role in (
                ("lead", "lead"),
                ("cleaner1", "cleaner"),
                ("teacher1", "class_teacher"),
                ("counselor1", "counselor"),
            ):
                assert http_login(client, username, DEMO_PASSWORD)["user"]["role"] == role
            wrong = client.post(
                "/api/v1/auth/login",
                json={
                    "username": "lead",
                    "password": "wrong-password",
                    "device_id": "dev-x",
                    "device_name": "x",
                },
            )
            assert wrong.status_code == 401
    finally:
        server.stop()
    out, err = server.stdout(), server.stderr()
    assert "seeded the demo school" in out, out + err
    assert f"Demo logins (password for all: {DEMO_PASSWORD})" in out
    table = out[out.index("Demo logins") :].splitlines()[1:11]
    assert [line.split()[0] for line in table] == [
        "lead",
        "cleaner1",
        "cleaner2",
        "cleaner3",
        "teacher1",
        "teacher2",
        "teacher3",
        "teacher4",
        "counselor1",
        "counselor2",
    ]
    assert "防控负责人" in table[0]
    assert "Traceback" not in err


def run_cli(args: list[str], database_url: str, folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=folder,
        env=child_env(database_url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_serve_two_workers_on_postgresql(fresh_pg_url: str, tmp_path: Path) -> None:
    migrated = run_cli(["migrate"], fresh_pg_url, tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert "up to date" in migrated.stdout
    people = write(
        tmp_path / "people.csv",
        "username,display_name,role,password\n"
        "pg_lead,周校长,防控负责人,lead-password\n"
        "pg_cleaner,王阿姨,保洁员,cleaner-password\n",
    )
    imported = run_cli(["import-users", str(people)], fresh_pg_url, tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert "imported 2 new, updated 0" in imported.stdout

    server = ServerProcess.cli(["serve", "--workers", "2"], fresh_pg_url, tmp_path)
    try:
        server.wait_ready(workers=2)
        with httpx.Client(base_url=server.base, timeout=10) as client:
            accounts = [("pg_lead", "lead-password"), ("pg_cleaner", "cleaner-password")] * 10
            bodies = [http_login(client, name, password) for name, password in accounts]
            assert [b["user"]["role"] for b in bodies] == ["lead", "cleaner"] * 10
            assert len({b["token"] for b in bodies}) == 20
            users = client.get(
                "/api/v1/admin/users", headers={"Authorization": f"Bearer {bodies[0]['token']}"}
            )
            assert users.status_code == 200, users.text
            assert sorted(u["username"] for u in users.json()) == ["pg_cleaner", "pg_lead"]
    finally:
        server.stop()
    err = server.stderr()
    assert err.count("Application startup complete") == 2, err
    assert "Traceback" not in err
