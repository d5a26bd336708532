"""The demo school (server.demo): what seeding puts in an empty database, on both backends;
and scripts/demo.sh, run for real."""

import contextlib
import io
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlmodel import Session, select

from bench.loopback import child_env, descendants, stop_group
from server import demo, demo_history, demo_school, records
from server.models import User
from shared.hlc import Clock
from shared.schemas.vocabulary import AreaKind, Role
from tests.factories import auth, create_user, login

EXPECTED_ROLES = {
    "lead": Role.LEAD,
    "cleaner1": Role.CLEANER,
    "cleaner2": Role.CLEANER,
    "cleaner3": Role.CLEANER,
    "teacher1": Role.CLASS_TEACHER,
    "teacher2": Role.CLASS_TEACHER,
    "teacher3": Role.CLASS_TEACHER,
    "teacher4": Role.CLASS_TEACHER,
    "counselor1": Role.COUNSELOR,
    "counselor2": Role.COUNSELOR,
}


@pytest.fixture
def seeded(app: FastAPI) -> Iterator[tuple[Session, list[User]]]:
    """The demo school seeded into this test's empty database."""
    with Session(app.state.engine) as session:
        assert demo.is_empty(session)
        users = demo.seed(session, Clock("test-node"))
        yield session, users


def test_seed_people_classes_students_and_areas(seeded: tuple[Session, list[User]]) -> None:
    session, returned = seeded
    session.expire_all()
    assert not demo.is_empty(session)

    users = {u.username: u for u in session.exec(select(User))}
    assert {name: u.role for name, u in users.items()} == EXPECTED_ROLES
    assert [u.username for u in returned] == list(EXPECTED_ROLES)
    assert all(u.active for u in users.values())
    assert len({u.display_name for u in users.values()}) == 10
    by_id = {str(u.id): u.username for u in users.values()}

    # Classes: 8, each with one teacher; teacher1 has classes 1 and 2, teacher4 7 and 8.
    classes = records.live(session, "classes")
    assert len(classes) == 8
    names = [c.fields["name"] for c in classes]
    assert names == [name for name, _ in demo_school.CLASSES]
    teacher_of = {c.fields["name"]: [by_id[t] for t in c.fields["teacher_ids"]] for c in classes}
    classes_of: dict[str, list[str]] = {}
    for class_name, teachers in teacher_of.items():
        assert len(teachers) == 1, class_name
        classes_of.setdefault(teachers[0], []).append(class_name)
    assert classes_of == {
        "teacher1": ["初一(1)班", "初一(2)班"],
        "teacher2": ["初一(3)班", "初一(4)班"],
        "teacher3": ["初二(1)班", "初二(2)班"],
        "teacher4": ["初二(3)班", "初二(4)班"],
    }
    assert all(c.fields["name_en"] for c in classes)

    # Students: 320, 40 in each class, numbered uniquely.
    students = records.live(session, "students")
    assert len(students) == 320
    class_ids = {str(c.record_id) for c in classes}
    per_class = Counter(s.fields["class_id"] for s in students)
    assert set(per_class) == class_ids
    assert set(per_class.values()) == {40}
    numbers = [s.fields["student_no"] for s in students]
    assert len(set(numbers)) == 320
    assert all(s.fields["name"] and len(s.fields["name"]) <= 50 for s in students)
    # Names are distinct within each class (a roll call would be ambiguous otherwise).
    for class_id in class_ids:
        in_class = [s.fields["name"] for s in students if s.fields["class_id"] == class_id]
        assert len(set(in_class)) == 40

    # Checklist templates: live, every item labelled in both languages.
    templates = {t.record_id: t for t in records.live(session, "checklist_templates")}
    assert len(templates) == len(demo_school.CHECKLISTS)
    for template in templates.values():
        items = template.fields["items"]
        assert items, template.fields["name"]
        for item_id, item in items.items():
            assert item["zh"].strip(), item_id
            assert item["en"].strip(), item_id
        orders = sorted(item["order"] for item in items.values())
        assert orders == list(range(len(items)))

    # Areas: every kind, the report's frequencies, each pointing at a live template.
    areas = records.live(session, "areas")
    assert len(areas) == len(demo_school.AREAS)
    kinds = {a.fields["kind"] for a in areas}
    assert kinds == {k.value for k in AreaKind}
    assert kinds >= {
        "classroom",
        "dorm",
        "canteen",
        "toilet",
        "public_area",
        "ventilation",
        "cold_chain",
        "parcel_point",
    }
    for area in areas:
        kind, days = area.fields["kind"], area.fields["frequency_days"]
        if kind in ("classroom", "dorm", "canteen"):
            assert days == 1, area.fields["name"]
        elif kind == "public_area":
            assert days == 2, area.fields["name"]
        assert 1 <= days <= 7
        template = templates.get(uuid.UUID(area.fields["checklist_template_id"]))
        assert template is not None, area.fields["name"]
        assert not template.deleted
        assert area.fields["active"] is True
    # Every area has its responsible cleaners, and every cleaner some areas.
    cleaners = {str(u.id) for u in users.values() if u.role == Role.CLEANER}
    assigned = [set(a.fields["cleaner_ids"]) for a in areas]
    assert all(ids and ids <= cleaners for ids in assigned)
    assert set().union(*assigned) == cleaners
    cold = next(t for t in templates.values() if t.fields["name"] == "冷链食品入库消毒")
    readings = [i["reading"] for i in cold.fields["items"].values() if i.get("reading")]
    assert readings == [{"unit": "°C", "low": -25, "high": -18}]
    walk = [a.fields["walk_order"] for a in areas]
    assert len(set(walk)) == len(walk)
    # Each kind of area uses the checklist made for that kind.
    for area in areas:
        template = templates[uuid.UUID(area.fields["checklist_template_id"])]
        expected = next(c for c in demo_school.CHECKLISTS if c.key == area.fields["kind"])
        assert template.fields["name"] == expected.name

    # Everything went through the change log with its own number, created by the lead.
    everything = [*classes, *students, *templates.values(), *areas]
    seqs = [r.seq for r in everything]
    assert len(set(seqs)) == len(seqs)
    assert {r.created_by for r in everything} == {users["lead"].id}


def test_demo_logins_work_and_lead_sees_the_school(
    seeded: tuple[Session, list[User]], client: TestClient
) -> None:
    _session, users = seeded
    for username, role in EXPECTED_ROLES.items():
        body = login(client, username, demo.DEMO_PASSWORD)
        assert body["user"]["role"] == role.value, username
        assert body["user"]["username"] == username
        me = client.get("/api/v1/auth/me", headers=auth(body["token"]))
        assert me.status_code == 200, me.text
        assert me.json()["role"] == role.value

    wrong = client.post(
        "/api/v1/auth/login",
        json={
            "username": "teacher1",
            "password": "not-the-demo-password",
            "device_id": "dev-wrong",
            "device_name": "测试手机",
        },
    )
    assert wrong.status_code == 401

    headers = auth(login(client, "lead", demo.DEMO_PASSWORD)["token"])
    listed = client.get("/api/v1/admin/students", headers=headers)
    assert listed.status_code == 200, listed.text
    assert len(listed.json()) == 320
    areas = client.get("/api/v1/admin/areas", headers=headers)
    assert areas.status_code == 200
    assert len(areas.json()) == len(demo_school.AREAS)

    table = demo.logins_table(users)
    assert demo.DEMO_PASSWORD in table
    lines = table.splitlines()
    assert len(lines) == 1 + len(EXPECTED_ROLES)
    for username, line in zip(EXPECTED_ROLES, lines[1:], strict=True):
        assert line.split()[0] == username
    assert "防控负责人" in lines[1]
    assert "保洁员" in lines[2]
    assert "班主任" in lines[5]
    assert "心理老师" in lines[9]


def test_demo_history_shows_in_the_reports(
    seeded: tuple[Session, list[User]], client: TestClient
) -> None:
    """The days before seeding: an excused item, an incomplete round, a missed day (so an
    overdue area with its cleaner named), a weak dose and a warm cold room."""
    headers = auth(login(client, "lead", demo.DEMO_PASSWORD)["token"])
    today = client.get("/api/v1/reports/today", headers=headers).json()
    first = min(
        demo_history.set_up_day(date.fromisoformat(today["day"])),
        date.fromisoformat(today["day"]),
    )
    body = client.get(
        "/api/v1/reports/disinfection", headers=headers, params={"start": str(first)}
    ).json()
    outcomes = Counter(row["outcome"] for row in body["days"])
    assert outcomes["incomplete"] == 1 and outcomes["missed"] >= 1, outcomes
    assert outcomes["done"] > 50, outcomes
    assert sum(row["items_excused"] for row in body["days"]) == 1
    incomplete = next(row for row in body["days"] if row["outcome"] == "incomplete")
    assert (incomplete["items_total"] - incomplete["items_done"]) == 3
    assert incomplete["responsible"] == ["张建军"]
    flags = {(f["kind"], f["area"], f["value"]) for f in body["flags"]}
    assert flags == {
        ("dose", "教学楼一层 卫生间", 500),
        ("reading", "食堂 冷库及冷链食品收货区", -12),
    }
    # Missed yesterday, or left incomplete: overdue today, and whose it is.
    overdue = {a["area"]: a["responsible"] for a in today["areas"] if a["status"] == "overdue"}
    assert overdue == {"教学楼三层 卫生间": ["王秀兰"], "男生宿舍楼 二层": ["张建军"]}
    first_area = next(a for a in today["areas"] if a["area"] == demo_school.AREAS[0].name)
    assert first_area["status"] == "due"  # no history: the end-to-end tests start from it


def test_demo_health_chain_shows_in_the_reports(
    seeded: tuple[Session, list[User]], client: TestClient
) -> None:
    """晨午检 every day but one noon check today, a fever cluster today, an illness absence
    whose cause is overdue, a sick case closed with its clearance."""
    session, _users = seeded
    headers = auth(login(client, "lead", demo.DEMO_PASSWORD)["token"])
    body = client.get("/api/v1/reports/health", headers=headers).json()
    today = date.fromisoformat(body["as_of"])
    first = demo_history.set_up_day(today)
    body = client.get(
        "/api/v1/reports/health", headers=headers, params={"start": str(first)}
    ).json()
    assert body["slots"] == ["morning", "noon"]
    missing = {(row["day"], row["class"]): row["missing"] for row in body["days"] if row["missing"]}
    assert missing == {(str(today), "初二(4)班"): ["noon"]}
    assert len(body["days"]) == 8 * (demo_school.HISTORY_DAYS + 1)
    fevers = [s for row in body["days"] for s in row["slots"] if s.get("fever_count")]
    assert [len(s["fever_students"]) for s in fevers] == [1]
    [overdue] = body["causes_missing"]
    assert (overdue["class"], overdue["cause"]) == ("初二(2)班", "overdue")
    [cluster] = body["clusters"]
    assert (cluster["class"], cluster["symptom"], cluster["rule"]) == ("初一(3)班", "fever", "day")
    assert (cluster["last"], cluster["students"]) == (str(today), 3)
    kinds = Counter(a["absence_kind"] for a in body["absences"])
    assert kinds["illness"] >= 5 and kinds["personal"] == 1
    [case] = records.live(session, "sick_cases")
    assert case.fields["status"] == "closed"
    assert case.fields["clearance_by"] and case.fields["clearance_on"] == case.fields["returned_on"]
    linked = [a for a in body["absences"] if a["case_id"] == str(case.record_id)]
    assert [a["cause"] for a in linked] == ["recorded"]
    pdf = client.get("/api/v1/reports/daily-record", headers=headers)
    assert pdf.status_code == 200, pdf.text
    pages = PdfReader(io.BytesIO(pdf.content)).pages
    text = "".join("".join(page.extract_text().split()) for page in pages)
    for word in ("晨午检", "未检", "聚集性病例预警", "初一(3)班"):
        assert word in text, word


def test_is_empty_counts_people(app: FastAPI) -> None:
    with Session(app.state.engine) as session:
        assert demo.is_empty(session)
    create_user(app, Role.CLEANER, username="someone")
    with Session(app.state.engine) as session:
        assert not demo.is_empty(session)


# scripts/demo.sh ------------------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]
DEMO_PORT = 8000  # the script's own
APP_PAGE = b"<!doctype html><title>CareRounds (stand-in build)</title>"


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def command_lines(pids: set[int]) -> list[str]:
    lines = []
    for pid in pids:
        with contextlib.suppress(OSError):
            lines.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
    return lines


def test_demo_script_builds_serves_the_app_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    """The script in a copy of the repository whose setup and build steps are stand-ins (the
    real ones install packages and build with Flet): it builds, serves the app from the
    server on port 8000, starts no other program, and Ctrl-C stops everything."""
    if port_in_use(DEMO_PORT):
        pytest.skip(f"port {DEMO_PORT} is in use on this machine")
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "demo.sh", repo / "scripts" / "demo.sh")
    (repo / ".venv").symlink_to(REPO / ".venv")
    stand_ins = {
        "setup.sh": "#!/bin/sh\nexit 0\n",
        "build-web.sh": (
            "#!/bin/sh\nset -e\necho built >> build.log\nmkdir -p build/web\n"
            f"printf '%s' '{APP_PAGE.decode()}' > build/web/index.html\n"
        ),
    }
    for name, text in stand_ins.items():
        (repo / "scripts" / name).write_text(text)
        (repo / "scripts" / name).chmod(0o755)
    out_path = tmp_path / "demo.out"
    env = child_env(f"sqlite:///{tmp_path / 'demo.db'}", CAREROUNDS_WEB_DIR="build/web")
    with out_path.open("wb") as out:
        script = subprocess.Popen(
            ["bash", str(repo / "scripts" / "demo.sh")],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a terminal's process group: Ctrl-C reaches all of it
        )
    try:
        deadline = time.monotonic() + 120
        while b"Open http://127.0.0.1:8000/app/" not in out_path.read_bytes():
            assert script.poll() is None, out_path.read_text()
            assert time.monotonic() < deadline, out_path.read_text()
            time.sleep(0.2)
        assert (repo / "build.log").read_text() == "built\n"
        page = httpx.get(f"http://127.0.0.1:{DEMO_PORT}/app/", timeout=10)
        assert page.content == APP_PAGE
        running = command_lines(descendants(script.pid))
        assert any("carerounds-server demo --port 8000" in line for line in running), running
        assert not any("carerounds-client" in line for line in running), running
        assert not port_in_use(8550)
        time.sleep(1)
        assert script.poll() is None  # in the foreground until Ctrl-C

        os.killpg(script.pid, signal.SIGINT)
        script.wait(timeout=30)
        with pytest.raises(ProcessLookupError):  # nothing of it is left running
            os.killpg(script.pid, 0)
        assert not port_in_use(DEMO_PORT)
    finally:
        stop_group(script)
    output = out_path.read_text()
    assert "CareRounds app: http://127.0.0.1:8000/app/" in output
    assert "Demo logins" in output
    assert "Traceback" not in output
