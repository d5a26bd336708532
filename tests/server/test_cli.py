"""`carerounds-server` (server.cli): migrate, the CSV imports and what serve/demo hand to
uvicorn in-process, and the real entry point (`demo`, `serve --workers 2`, HTTPS, behind a
proxy) as a subprocess over real HTTP."""

import contextlib
import gc
import ipaddress
import os
import secrets
import socket
import ssl
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import inspect
from sqlmodel import Session, select

from bench.loopback import PG_ADMIN_URL, STARTED, ServerNotReady, ServerProcess, child_env
from server import cli, records, school_setup
from server.config import Settings
from server.db import make_engine
from server.models import User
from server.security import verify_password
from shared.hlc import Clock
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


def test_retention_now(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`carerounds-server retention`: the sweep the server runs hourly, run now."""
    assert cli.main(["migrate"]) == 0
    closed_long_ago = int((datetime.now(UTC) - timedelta(days=50)).timestamp() * 1000)
    for session in open_db(sqlite_url):
        writer = records.RecordWriter(session, Clock("cli-test"))
        school_class = school_setup.create(writer, None, "classes", {"name": "初一(1)班"})
        class_id = str(school_class.record_id)
        student = school_setup.create(
            writer, None, "students", {"name": "学生", "class_id": class_id}
        )
        case = {
            "student_id": str(student.record_id),
            "class_id": class_id,
            "onset_date": "2026-10-01",
            "symptoms": "发热",
            "status": "closed",
            "returned_on": "2026-10-05",
            "clearance_waived": "校医确认",
        }
        writer.write_row(
            "sick_cases",
            uuid.uuid4(),
            case,
            hlc=f"{closed_long_ago:013d}-000000-phone",
            author=None,
            device_id=None,
        )
        writer.finish()
        session.commit()
    capsys.readouterr()
    assert cli.main(["retention"]) == 0
    out = capsys.readouterr().out
    assert "the server keeps closed cases forever" in out
    assert len(records.live(next(open_db(sqlite_url)), "sick_cases")) == 1

    monkeypatch.setenv("CAREROUNDS_KEEP_CLOSED_CASES_DAYS", "40")
    assert cli.main(["retention"]) == 0
    assert "1 closed cases (1 records) closed over 40 days ago" in capsys.readouterr().out
    assert records.live(next(open_db(sqlite_url)), "sick_cases") == []


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
    build = fake_build(tmp_path / "web")
    server = ServerProcess.cli(
        ["demo"], fresh_database_url, tmp_path, env={"CAREROUNDS_WEB_DIR": str(build)}
    )
    try:
        server.wait_ready()
        with httpx.Client(base_url=server.base, timeout=10) as client:
            assert client.get("/app/").content == APP_PAGE
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
    # After the logins, where to open the app.
    assert out[out.index("Demo logins") :].splitlines()[11] == f"CareRounds app: {server.base}/app/"
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


def test_serve_two_workers_on_sqlite(tmp_path: Path) -> None:
    """`serve --workers 2` on the default SQLite: two processes, one file, writes from both
    at once (WAL, one writer at a time): every write lands once, none is a 500."""
    url = f"sqlite:///{tmp_path / 'school.db'}"
    people = write(
        tmp_path / "people.csv",
        "username,display_name,role,password\nlead,周校长,防控负责人,lead-password\n",
    )
    assert run_cli(["migrate"], url, tmp_path).returncode == 0
    assert run_cli(["import-users", str(people)], url, tmp_path).returncode == 0
    server = ServerProcess.cli(["serve", "--workers", "2"], url, tmp_path)
    try:
        server.wait_ready(workers=2)
        with httpx.Client(base_url=server.base, timeout=30) as client:
            lead = {
                "Authorization": f"Bearer {http_login(client, 'lead', 'lead-password')['token']}"
            }

            def add(n: int) -> int:
                with httpx.Client(base_url=server.base, timeout=30) as own:
                    made = own.post(
                        "/api/v1/admin/classes", headers=lead, json={"name": f"班级{n:02d}"}
                    )
                    return made.status_code

            with ThreadPoolExecutor(max_workers=8) as pool:
                codes = list(pool.map(add, range(40)))
            assert codes == [201] * 40, codes
            listed = client.get("/api/v1/admin/classes", headers=lead).json()
            assert sorted(c["fields"]["name"] for c in listed) == [
                f"班级{n:02d}" for n in range(40)
            ]
            assert len({c["seq"] for c in listed}) == 40  # each write its own change number
    finally:
        server.stop()
    err = server.stderr()
    assert err.count("Application startup complete") == 2, err
    assert "Traceback" not in err


# The app's address, HTTPS, and a reverse proxy ----------------------------------------------

APP_PAGE = b"<!doctype html><title>CareRounds</title>"
SECRET = "not-for-any-browser"


def fake_build(folder: Path) -> Path:
    """A stand-in for build/web, with a file above it that must never be served."""
    folder.mkdir(parents=True)
    (folder / "index.html").write_bytes(APP_PAGE)
    (folder / "sw.js").write_text("self.addEventListener('fetch', () => {});")
    (folder / ".build-stamp").write_text(SECRET)
    (folder.parent / "config.py").write_text(f"PASSWORD = '{SECRET}'")
    return folder


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost signed by its own key: (cert, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CareRounds test server")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "server.crt", folder / "server.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def uvicorn_runs(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> list[dict[str, Any]]:
    """What `serve`/`demo` would hand to uvicorn.run (nothing is served); the app is built."""
    monkeypatch.setenv("CAREROUNDS_WEB_DIR", str(fake_build(tmp_path / "web")))
    runs: list[dict[str, Any]] = []
    monkeypatch.setattr(cli.uvicorn, "run", lambda app, **options: runs.append(options))
    return runs


def test_serve_hands_tls_and_proxy_options_to_uvicorn(
    uvicorn_runs: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["serve"]) == 0
    plain = uvicorn_runs[-1]
    assert (plain["ssl_certfile"], plain["ssl_keyfile"]) == (None, None)
    assert (plain["proxy_headers"], plain["forwarded_allow_ips"]) == (True, "127.0.0.1")
    assert plain["access_log"] is False  # a line per request only when asked for
    assert "CareRounds app: http://127.0.0.1:8000/app/" in capsys.readouterr().out
    assert cli.main(["serve", "--access-log"]) == 0
    assert uvicorn_runs[-1]["access_log"] is True

    cert, key = self_signed_certificate(tmp_path)
    args = ["--ssl-certfile", cert.name, "--ssl-keyfile", key.name]  # relative to the cwd
    proxies = ["--forwarded-allow-ips", "10.0.0.2,10.0.0.3"]
    assert cli.main(["serve", "--port", "8443", "--workers", "3", *args, *proxies]) == 0
    tls = uvicorn_runs[-1]
    assert tls["ssl_certfile"] == str(cert.resolve())
    assert tls["ssl_keyfile"] == str(key.resolve())
    assert (tls["workers"], tls["port"]) == (3, 8443)
    assert tls["forwarded_allow_ips"] == "10.0.0.2,10.0.0.3"
    assert "CareRounds app: https://127.0.0.1:8443/app/" in capsys.readouterr().out


def test_serve_says_when_the_app_is_not_built(
    uvicorn_runs: list[dict[str, Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CAREROUNDS_WEB_DIR", str(tmp_path / "never-built"))
    assert cli.main(["serve"]) == 0
    out = capsys.readouterr().out
    assert "CareRounds app: not built; run scripts/build-web.sh" in out
    assert "http://" not in out
    assert len(uvicorn_runs) == 1  # the API is served all the same


def test_serving_every_interface_prints_this_machines_addresses(
    uvicorn_runs: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["serve", "--host", "0.0.0.0"]) == 0  # noqa: S104 - what is tested
    lines = capsys.readouterr().out.splitlines()
    urls = [line.removeprefix("CareRounds app: ") for line in lines if "CareRounds app" in line]
    assert urls[-1] == "http://127.0.0.1:8000/app/"
    hosts = [httpx.URL(url).host for url in urls]
    assert len(set(hosts)) == len(hosts)
    for host in hosts:
        assert ipaddress.ip_address(host).version == 4
        assert host == "127.0.0.1" or not ipaddress.ip_address(host).is_loopback
        # Only an address of this machine can be bound to.
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((host, 0))
    # IPv6's "every interface" too; a single IPv6 address is written in brackets.
    assert cli.app_address_lines("::", 8000, tls=False, built=True) == [
        f"CareRounds app: {url}" for url in urls
    ]
    assert cli.app_address_lines("::1", 8443, tls=True, built=True) == [
        "CareRounds app: https://[::1]:8443/app/"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ssl-certfile", "server.crt"], "needs both --ssl-certfile and --ssl-keyfile"),
        (["--ssl-keyfile", "server.key"], "needs both --ssl-certfile and --ssl-keyfile"),
        (["--ssl-certfile", "server.crt", "--ssl-keyfile", "nowhere.key"], "no such file"),
    ],
)
def test_tls_options_are_checked_before_anything_runs(
    uvicorn_runs: list[dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    self_signed_certificate(tmp_path)
    for command in ("serve", "demo"):
        with pytest.raises(SystemExit) as excinfo:
            cli.main([command, *args])
        assert excinfo.value.code == 2
        assert message in capsys.readouterr().err
    assert uvicorn_runs == []
    assert not (tmp_path / "cli.db").exists()  # not even migrated


def wait_https(server: ServerProcess, base: str, trust: ssl.SSLContext, workers: int) -> None:
    """ServerProcess.wait_ready, over HTTPS."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise ServerNotReady(f"server exited:\n{server.output()}")
        if server.stderr().count(STARTED) >= workers:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/api/v1/health", verify=trust, timeout=2).is_success:
                    return
        time.sleep(0.1)
    raise ServerNotReady(f"server not ready over HTTPS:\n{server.output()}")


def test_serve_https_with_two_workers(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    build = fake_build(tmp_path / "web")
    server = ServerProcess.cli(
        ["serve", "--workers", "2", "--ssl-certfile", str(cert), "--ssl-keyfile", str(key)],
        f"sqlite:///{tmp_path / 'tls.db'}",
        tmp_path,
        env={"CAREROUNDS_WEB_DIR": str(build)},
    )
    base = f"https://127.0.0.1:{server.port}"
    trust = ssl.create_default_context(cafile=str(cert))
    try:
        wait_https(server, base, trust, workers=2)
        with httpx.Client(base_url=base, verify=trust, timeout=10) as client:
            for _ in range(6):  # new connections, so both workers answer some
                health = client.get("/api/v1/health", headers={"Connection": "close"})
                assert health.json() == {"status": "ok", "protocol": "1"}
            assert client.get("/app/").content == APP_PAGE
            assert client.get("/app", follow_redirects=False).headers["location"] == f"{base}/app/"
            assert client.get("/app/.build-stamp").status_code == 404
        # Without trusting this certificate, or without TLS, there is no answer.
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(f"{base}/api/v1/health", timeout=5)
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{server.port}/api/v1/health", timeout=5)
    finally:
        server.stop()
    assert f"CareRounds app: {base}/app/" in server.stdout()
    assert server.stderr().count(STARTED) == 2
    assert "Traceback" not in server.stderr()


@pytest.mark.parametrize(
    ("trusted", "scheme"), [(None, "https"), ("10.9.8.7", "http")], ids=["proxy", "stranger"]
)
def test_forwarded_headers_from_a_trusted_proxy(
    tmp_path: Path, trusted: str | None, scheme: str
) -> None:
    """A reverse proxy on this machine ends TLS and says so in X-Forwarded-Proto: the app's
    redirect keeps the browser on https. From an address not trusted, the header is ignored."""
    build = fake_build(tmp_path / "web")
    args = ["serve", "--access-log"]
    args += [] if trusted is None else ["--forwarded-allow-ips", trusted]
    server = ServerProcess.cli(
        args,
        f"sqlite:///{tmp_path / 'proxied.db'}",
        tmp_path,
        env={"CAREROUNDS_WEB_DIR": str(build)},
    )
    try:
        server.ready()
        forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.168.1.23"}
        with httpx.Client(base_url=server.base, timeout=10) as client:
            redirect = client.get("/app", headers=forwarded, follow_redirects=False)
            assert redirect.status_code == 307
            assert redirect.headers["location"] == f"{scheme}://127.0.0.1:{server.port}/app/"
            plain = client.get("/app", follow_redirects=False)
            assert plain.headers["location"] == f"{server.base}/app/"
        # The path as a client may really send it, dot segments and all.
        for path in ("/app/../config.py", "/app/%2e%2e/config.py", "/app/..%2fconfig.py"):
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
                conn.sendall(
                    f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
                )
                answer = b"".join(iter(lambda: conn.recv(65536), b""))
            assert answer.startswith(b"HTTP/1.1 404"), (path, answer)
            assert SECRET.encode() not in answer
    finally:
        server.stop()
    # uvicorn's access log (asked for; on stdout) names the client the proxy named.
    assert "GET /app HTTP/1.1" in server.stdout()
    if trusted is None:
        assert "192.168.1.23" in server.stdout()
    else:
        assert "192.168.1.23" not in server.stdout()
