"""docs/access.md, held to the code: its tables are read from the file and every cell tried.

Each (role, endpoint) is a real request through the app, answered 2xx, 401 or 403 as the
table says; each (role, collection) is a pull of a school seeded with records in and out of
the role's scope, and a push of records and changes in and out of it. Mismatches are
gathered and reported together, each naming its row and column.
"""

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlmodel import Session
from starlette.routing import Mount, Route

from server import school_setup
from server.config import Settings
from server.records import RecordWriter
from shared.hlc import Clock
from shared.schemas.collections import COLLECTIONS, SCHOOL_SETTINGS_ID
from tests.factories import PASSWORD
from tests.sync_support import PULL, PUSH, Phone, School, new_id, small_school

DOC = Path(__file__).resolve().parents[2] / "docs" / "access.md"
ROLES = ("No token", "Cleaner", "Class teacher", "Counselor", "Lead")
# Who plays each role: the users of tests.sync_support.small_school. Their "own" things are
# class 0 (teacher1's), cleaner1's rounds and teacher1's referrals: the "in" side below.
PLAYERS = {
    "Cleaner": "cleaner1",
    "Class teacher": "teacher1",
    "Counselor": "counselor1",
    "Lead": "lead",
}

Table = dict[str, dict[str, str]]  # row → column → cell


def doc_tables(path: Path = DOC) -> dict[str, Table]:
    """Every table of the markdown file, by the `##` heading above it; backticks dropped."""
    tables: dict[str, Table] = {}
    heading = ""
    header: list[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            heading, header = line[3:].strip(), None
            continue
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip().replace("`", "") for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
            tables[heading] = {}
        elif not set("".join(cells)) <= set("-: "):
            tables[heading][cells[0]] = dict(zip(header[1:], cells[1:], strict=True))
    return tables


TABLES = doc_tables()
ENDPOINTS = TABLES["Endpoints"]
PULLS = TABLES["Collections: who receives what (pull)"]
PUSHES = TABLES["Collections: who writes what (push)"]


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The app with a (one-page) browser build, so that /app/ is served as in production."""
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text("<!doctype html><title>CareRounds</title>", encoding="utf-8")
    return settings.model_copy(update={"web_dir": web})


def served_endpoints(app: FastAPI) -> set[str]:
    """`METHOD path` of everything the app answers (HEAD aside): the OpenAPI document's
    operations, and the app's own routes outside it (the API's docs, the browser app)."""
    found = {
        f"{method.upper()} {path}"
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    for route in app.routes:
        if isinstance(route, Mount):
            found.add(f"GET {route.path}/{{path}}")
        elif isinstance(route, APIRoute | Route):
            path = route.path.replace("{rest:path}", "{path}")
            found.update(f"{method} {path}" for method in (route.methods or set()) - {"HEAD"})
    return found


def test_the_tables_name_every_endpoint_role_and_collection(app: FastAPI) -> None:
    assert set(ENDPOINTS) == served_endpoints(app)
    assert set(PULLS) == set(PUSHES) == set(COLLECTIONS)
    for table in (ENDPOINTS, PULLS, PUSHES):
        assert all(tuple(row) == ROLES for row in table.values())
    # What the lead is not sent is what the schema calls confidential.
    for name, row in PULLS.items():
        assert hidden_fields(row["Lead"]) == COLLECTIONS[name].confidential, name


def hidden_fields(cell: str) -> set[str]:
    """The fields a pull cell `less a, b` leaves out."""
    return set(cell.removeprefix("less ").split(", ")) if cell.startswith("less ") else set()


# --- Endpoints -------------------------------------------------------------------------


@dataclass
class World:
    """The seeded school, a phone per role, and what the tests learn on the way."""

    app: FastAPI
    client: TestClient
    school: School
    phones: dict[str, Phone]
    spare_device: str = ""
    seeds: dict[str, dict[str, str]] = field(default_factory=dict)  # collection → side → id
    tags: dict[tuple[str, str], str] = field(default_factory=dict)  # (collection, id) → side
    seqs: dict[str, int] = field(default_factory=dict)  # seed's id → its change number
    # A conflict's id → the collection, record and field it is about.
    conflicts: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    received: dict[str, dict[tuple[str, str], dict]] = field(default_factory=dict)

    def headers(self, role: str) -> dict[str, str]:
        return self.phones[role].headers if role in self.phones else {}

    def setup_record(self, collection: str, fields: dict[str, Any]) -> str:
        with Session(self.app.state.engine) as session:
            writer = RecordWriter(session, Clock("access-test"))
            record = school_setup.create(writer, self.school.lead.id, collection, fields)
            writer.finish()
            session.commit()
            return str(record.record_id)

    def setup_fields(self, collection: str) -> dict[str, Any]:
        school, tag = self.school, secrets.token_hex(2)
        return {
            "areas": {
                "name": f"区域{tag}",
                "kind": "classroom",
                "frequency_days": 1,
                "checklist_template_id": school.template_id,
            },
            "checklist_templates": {"name": f"清单{tag}", "items": {"a": {"zh": "开窗"}}},
            "classes": {"name": f"初二({tag})班", "teacher_ids": []},
            "students": {"name": f"学生{tag}", "class_id": school.class_ids[1]},
        }[collection]

    def existing(self, collection: str) -> str:
        school = self.school
        return {
            "areas": school.area_ids[0],
            "checklist_templates": school.template_id,
            "classes": school.class_ids[0],
            "students": school.student_ids[school.class_ids[0]][0],
        }[collection]


Request = tuple[str, str, dict[str, Any]]  # method, url, keyword arguments of the request


def endpoint_request(w: World, endpoint: str, role: str) -> Request:
    """A request to `endpoint` as `role` that the lead's would be answered 2xx."""
    method, path = endpoint.split(" ")
    headers = w.headers(role)
    kwargs: dict[str, Any] = {}
    phone = w.phones.get(role)
    if path == "/api/v1/auth/login":
        username = PLAYERS.get(role, "cleaner2")
        kwargs["json"] = {
            "username": username,
            "password": PASSWORD,
            "device_id": f"dev-{secrets.token_hex(4)}",
            "device_name": "测试手机",
        }
    elif path == "/api/v1/auth/logout" and role in PLAYERS:
        headers = Phone(w.client, PLAYERS[role]).headers  # ends a sign-in of its own
    elif path.startswith("/api/v1/sync/"):
        device = phone.device_id if phone else "no-such-phone"
        kwargs["json"] = {"device_id": device, **({"changes": []} if "push" in path else {})}
    elif path.startswith("/api/v1/admin/users"):
        path = path.replace("{user_id}", str(w.school.cleaners[1].id))
        if method == "POST":
            kwargs["json"] = {
                "username": f"new_{secrets.token_hex(3)}",
                "display_name": "新同事",
                "role": "cleaner",
                "password": PASSWORD,
            }
        elif method == "PATCH":
            kwargs["json"] = {"display_name": "保洁员二"}
    elif path.startswith("/api/v1/admin/devices/"):
        path = path.replace("{device_id}", w.spare_device)
    elif path == "/api/v1/admin/settings" and method == "PATCH":
        kwargs["json"] = {"temperature_checks_per_day": 2}
    elif path.startswith("/api/v1/admin/") and path.split("/")[4] in school_setup.SETUP_COLLECTIONS:
        collection = path.split("/")[4]
        if method == "POST":
            kwargs["json"] = w.setup_fields(collection)
        elif method == "PATCH":
            kwargs["json"] = {"name": f"改名{secrets.token_hex(2)}"}
        if "{record_id}" in path:
            fresh = method == "DELETE" and role == "Lead"
            target = (
                w.setup_record(collection, w.setup_fields(collection))
                if fresh
                else w.existing(collection)
            )
            path = path.replace("{record_id}", target)
    elif path == "/app/{path}":
        path = "/app/classes/today"
    return method, path, {"headers": headers, **kwargs}


def status_class(code: int) -> str:
    if 200 <= code < 300:
        return "✔"
    return str(code)


def world(app: FastAPI, client: TestClient) -> World:
    school = small_school(app)
    phones = {role: Phone(client, username) for role, username in PLAYERS.items()}
    return World(app, client, school, phones)


def test_every_role_at_every_endpoint(app: FastAPI, client: TestClient) -> None:
    w = world(app, client)
    w.spare_device = Phone(client, "teacher2").device_id
    wrong: list[str] = []
    for endpoint, row in ENDPOINTS.items():
        for role, expected in row.items():
            method, url, kwargs = endpoint_request(w, endpoint, role)
            response = client.request(method, url, **kwargs)
            got = status_class(response.status_code)
            if got != expected:
                wrong.append(f"{endpoint} as {role}: {got} ({response.text[:120]}), not {expected}")
    assert not wrong, "\n".join(wrong)


# --- Collections ------------------------------------------------------------------------

Builder = Callable[[World, str], dict[str, Any] | None]


def _class(w: World, side: str) -> str:
    return w.school.class_ids[0 if side == "in" else 1]


def _student(w: World, side: str) -> str:
    return w.school.student_ids[_class(w, side)][0]


NEW: dict[str, Builder] = {
    "areas": lambda w, side: w.setup_fields("areas"),
    "checklist_templates": lambda w, side: w.setup_fields("checklist_templates"),
    "classes": lambda w, side: w.setup_fields("classes"),
    "students": lambda w, side: {"name": "新生", "class_id": _class(w, side)},
    "disinfection_rounds": lambda w, side: {
        "area_id": w.school.area_ids[0],
        "round_date": "2026-11-30",
        "cleaner_id": str(w.school.cleaners[0 if side == "in" else 1].id),
    },
    "sick_cases": lambda w, side: {
        "student_id": _student(w, side),
        "class_id": _class(w, side),
        "onset_date": "2026-11-28",
        "symptoms": "发热 38.2℃",
    },
    "follow_ups": lambda w, side: {
        "case_id": w.seeds["sick_cases"][side],
        "visit_date": "2026-11-29",
        "method": "phone",
        "note": "家长说好些了",
    },
    "temperature_checks": lambda w, side: {
        "class_id": _class(w, side),
        "checked_at": "2026-11-30T00:30:00+00:00",
        "students_checked": 30,
        "fever_count": 0,
    },
    "absences": lambda w, side: {
        "student_id": _student(w, side),
        "class_id": _class(w, side),
        "day": "2026-11-30",
        "kind": "personal",
    },
    "referrals": lambda w, side: {"student_id": _student(w, side), "reason": "情绪低落"},
    "counseling_cases": lambda w, side: {
        "student_id": _student(w, side),
        "risk_level": "high",
        "note": "家庭变故, 失眠两周",
        "outcome": "转介专科, 家长知情",
    },
    "interventions": lambda w, side: {
        "case_id": w.seeds["counseling_cases"]["in"],
        "held_on": "2026-11-29",
        "kind": "individual_talk",
        "note": "谈话40分钟",
    },
    "case_views": lambda w, side: {
        "case_id": w.seeds["counseling_cases"]["in"],
        "viewed_at": "2026-11-29T02:00:00+00:00",
        "viewer_id": w.phones["Counselor"].user_id,
        "device_id": w.phones["Counselor"].device_id,
    },
    "school_settings": lambda w, side: None,  # one record, there from the start
}
CHANGE: dict[str, dict[str, Any]] = {
    "areas": {"name": "一楼教室(东)"},
    "checklist_templates": {"name": "教室消毒(新)"},
    "classes": {"name": "初一(一)班"},
    "students": {"name": "改名"},
    "disinfection_rounds": {"note": "消毒液不够"},
    "sick_cases": {"symptoms": "发热, 咳嗽"},
    "follow_ups": {"note": "已退烧"},
    "temperature_checks": {"note": "补记"},
    "absences": {"note": "家长来电"},
    "referrals": {"reason": "情绪低落, 成绩下滑"},
    "counseling_cases": {"note": "复谈"},
    "interventions": {"note": "约定周五再谈"},
    "case_views": {"viewed_at": "2020-01-01T00:00:00+00:00"},
    "school_settings": {"temperature_checks_per_day": 3},
}
ANSWER = {"status": "declined", "declined_reason": "已在校外就诊"}
# Who seeds each collection's records, on the "in" and "out" sides.
SEEDERS = {
    "disinfection_rounds": ("cleaner1", "cleaner2"),
    "sick_cases": ("teacher1", "teacher2"),
    "follow_ups": ("teacher1", "teacher2"),
    "temperature_checks": ("teacher1", "teacher2"),
    "absences": ("teacher1", "teacher2"),
    "referrals": ("teacher1", "teacher2"),
    "counseling_cases": ("counselor1", "counselor1"),
    "interventions": ("counselor1", "counselor1"),
    "case_views": ("counselor1", "counselor1"),
}


def seed(w: World) -> None:
    """Records of every collection on both sides of every scope, and conflicts."""
    school, client = w.school, w.client
    for c in ("areas", "classes"):
        ids = school.area_ids if c == "areas" else school.class_ids
        w.seeds[c] = {"in": ids[0], "out": ids[1]}
    w.seeds["checklist_templates"] = {"in": school.template_id}
    w.seeds["students"] = {"in": _student(w, "in"), "out": _student(w, "out")}
    for side in ("in", "out"):
        w.tags.update({("students", s): side for s in school.student_ids[_class(w, side)]})
    lead = w.phones["Lead"]
    settings = lead.change(
        "school_settings", str(SCHOOL_SETTINGS_ID), {"timezone": "Asia/Shanghai"}
    )
    assert lead.push(settings)[0]["status"] == "applied"
    w.seeds["school_settings"] = {"in": str(SCHOOL_SETTINGS_ID)}
    others = {"cleaner2": Phone(client, "cleaner2"), "teacher2": Phone(client, "teacher2")}
    by_name = {PLAYERS[r]: p for r, p in w.phones.items()} | others
    for collection, seeders in SEEDERS.items():
        w.seeds[collection] = {}
        for side, username in zip(("in", "out"), seeders, strict=True):
            phone, record_id = by_name[username], new_id()
            fields = NEW[collection](w, side)
            assert fields is not None
            [result] = phone.push(phone.change(collection, record_id, fields))
            assert result["status"] == "applied", result
            w.seqs[record_id] = result["seq"]
            w.seeds[collection][side] = record_id
    for collection, sides in w.seeds.items():
        for side, record_id in sides.items():
            w.tags.setdefault((collection, record_id), side)
    # Conflicts: two phones of one user change one field from the same base.
    for username, collection, name, values in (
        ("cleaner1", "disinfection_rounds", "note", ("A: 消毒液不够", "B: 已补充")),
        ("teacher1", "sick_cases", "symptoms", ("发热", "咳嗽")),
        ("counselor1", "counseling_cases", "note", ("失眠", "好转")),
        ("counselor1", "counseling_cases", "risk_level", ("medium", "low")),
    ):
        record_id = w.seeds[collection]["in"]
        base = w.seqs[record_id]
        two = (Phone(client, username), Phone(client, username))
        for phone, value in zip(two, values, strict=True):
            [result] = phone.push(phone.change(collection, record_id, {name: value}, base_seq=base))
        assert result["status"] == "conflict", result
        conflict = next(
            c
            for c in phone.pull_all()[0]
            if c["collection"] == "conflicts"
            and c["fields"]["record_id"] == record_id
            and c["fields"]["field"] == name
        )
        w.conflicts[conflict["record_id"]] = (collection, record_id, name)


def pull_everyone(w: World) -> None:
    for role, phone in w.phones.items():
        changes, _ = phone.pull_all()
        w.received[role] = {(c["collection"], c["record_id"]): c for c in changes}


def expected_pull(w: World, collection: str, cell: str, role: str) -> set[str]:
    seeded = {i for (c, i) in w.tags if c == collection}
    if collection == "conflicts":
        assert cell == "as the record", cell
        return {i for i, (c, r, _) in w.conflicts.items() if (c, r) in w.received[role]}
    if cell == "—":
        return set()
    if cell in ("own classes", "own"):
        return {i for i in seeded if w.tags[(collection, i)] == "in"}
    assert cell == "✔" or cell.startswith("less "), cell
    return seeded


def test_who_receives_what(app: FastAPI, client: TestClient) -> None:
    w = world(app, client)
    seed(w)
    wrong: list[str] = []
    response = client.post(PULL, json={"device_id": "no-such-phone"})
    for collection, row in PULLS.items():
        if status_class(response.status_code) != row["No token"]:
            wrong.append(f"{collection} without a token: {response.status_code}")
    pull_everyone(w)
    for collection, row in PULLS.items():
        for role in w.phones:
            cell = row[role]
            got = {i for (c, i) in w.received[role] if c == collection}
            if collection != "conflicts":
                got &= {i for (c, i) in w.tags if c == collection}  # the seeds, not the rest
            want = expected_pull(w, collection, cell, role)
            if got != want:
                wrong.append(
                    f"{collection} to {role}: {len(got)} records, not {len(want)} ({cell})"
                )
            hidden = hidden_fields(cell)
            for (c, _), record in w.received[role].items():
                if c == collection:
                    for name in COLLECTIONS[collection].confidential:
                        sent = name in record["fields"] or name in record["field_hlc"]
                        if sent == (name in hidden):
                            wrong.append(f"{collection}.{name} to {role}: sent={sent} ({cell})")
                elif c == "conflicts" and record["fields"]["collection"] == collection:
                    values = (
                        record["fields"]["winner"]["value"],
                        record["fields"]["loser"]["value"],
                    )
                    blank = values == (None, None)
                    if blank != (record["fields"]["field"] in hidden):
                        wrong.append(f"conflict on {collection} to {role}: values {values}")
    assert not wrong, "\n".join(wrong)


@dataclass
class Probe:
    """One change a role pushes, and what the table says of it."""

    what: str
    change: dict[str, Any]
    allowed: bool
    code: str = "forbidden"  # the refusal's code, when refused


def probes(w: World, role: str, collection: str, cell: str) -> list[Probe]:
    phone, seeds = w.phones[role], w.seeds.get(collection, {})

    def create(side: str, allowed: bool, code: str = "forbidden") -> list[Probe]:
        fields = NEW[collection](w, side)
        if fields is None:
            return []
        return [
            Probe(f"create ({side})", phone.change(collection, new_id(), fields), allowed, code)
        ]

    def change(side: str, allowed: bool, fields: dict[str, Any] | None = None) -> list[Probe]:
        if side not in seeds:
            return []
        what = f"change {', '.join(fields or CHANGE[collection])} ({side})"
        body = phone.change(collection, seeds[side], fields or CHANGE[collection])
        return [Probe(what, body, allowed)]

    if collection == "conflicts":
        assert cell == "settles", cell
        made = []
        for conflict_id, (about_collection, record_id, name) in w.conflicts.items():
            about = f"{about_collection}.{name}"
            hidden = hidden_fields(PULLS[about_collection][role])
            readable = (about_collection, record_id) in w.received[role] and name not in hidden
            mine = {"settled_by": phone.user_id}
            made.append(
                Probe(f"settle {about}", phone.change("conflicts", conflict_id, mine), readable)
            )
            if readable:
                edit = phone.change("conflicts", conflict_id, {"field": "name"})
                made.append(Probe(f"edit the conflict on {about}", edit, False))
                theirs = {
                    "settled_by": str(w.school.lead.id if role != "Lead" else w.school.counselor.id)
                }
                made.append(
                    Probe(
                        f"settle {about} in another's name",
                        phone.change("conflicts", conflict_id, theirs),
                        False,
                        "invalid_value",
                    )
                )
        return made
    if cell == "✔":
        return create("in", True) + change("in", True) + change("out", True)
    if cell == "—":
        return create("in", False) + change("in", False) + change("out", False)
    if cell in ("own classes", "own"):
        return create("in", True) + create("out", False) + change("in", True) + change("out", False)
    if cell == "own name":
        other, me = str(w.school.cleaners[1].id), phone.user_id
        return (
            create("in", True)
            + create("out", False, "invalid_value")
            + change("in", True)
            + change("out", True)
            + [
                Probe(
                    "name another cleaner",
                    phone.change(collection, seeds["in"], {"cleaner_id": other}),
                    False,
                    "invalid_value",
                ),
                Probe(
                    "take a colleague's round over",
                    phone.change(collection, seeds["out"], {"cleaner_id": me}),
                    True,
                ),
            ]
        )
    if cell == "append once":
        return create("in", True) + change("in", False) + change("out", False)
    if cell == "answers":
        return (
            create("in", False)
            + change("in", True, ANSWER)
            + change("out", True, {"status": "accepted"})
            + change("in", False)
        )
    raise AssertionError(f"no probes for the cell {cell!r}")


def test_who_writes_what(app: FastAPI, client: TestClient) -> None:
    w = world(app, client)
    seed(w)
    pull_everyone(w)
    wrong: list[str] = []
    response = client.post(PUSH, json={"device_id": "no-such-phone", "changes": []})
    for collection, row in PUSHES.items():
        if status_class(response.status_code) != row["No token"]:
            wrong.append(f"{collection} without a token: {response.status_code}")
    for role, phone in w.phones.items():
        tried = [
            (collection, row[role], probe)
            for collection, row in PUSHES.items()
            for probe in probes(w, role, collection, row[role])
        ]
        results = phone.push(*(probe.change for _, _, probe in tried))
        for (collection, cell, probe), result in zip(tried, results, strict=True):
            error = result.get("error") or {}
            ok = result["status"] in ("applied", "conflict")
            if ok != probe.allowed or (not ok and error.get("code") != probe.code):
                wrong.append(
                    f"{collection} as {role}, {probe.what}: {result['status']} "
                    f"{error.get('code', '')} {error.get('message', '')} ({cell})"
                )
    assert not wrong, "\n".join(wrong)
