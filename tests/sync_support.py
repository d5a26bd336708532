"""Helpers for sync tests: the real app as a transport, devices, and a school to sync."""

import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from client.plain_store import PlainStore
from client.sync_engine import SyncEngine
from client.transport import Reply, TransportError, read_reply
from server import school_setup
from server.models import User
from server.records import RecordWriter
from shared.hlc import Clock
from shared.schemas.vocabulary import Role
from tests.factories import auth, create_user, login

PUSH = "/api/v1/sync/push"
PULL = "/api/v1/sync/pull"


class AppTransport:
    """The server app in-process, through Starlette's TestClient."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def post(self, path: str, body: dict[str, Any], token: str | None) -> Reply:
        return self.request("POST", path, body, token)

    def request(
        self, method: str, path: str, body: dict[str, Any] | None, token: str | None
    ) -> Reply:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.client.request(method, path, json=body, headers=headers)
        # As on the wire, the Retry-After of a 503 included.
        return read_reply(
            path, response.status_code, response.content, response.headers.get("retry-after")
        )


class LosesReplies:
    """Delivers requests but loses the next `count` replies on the way back."""

    def __init__(self, inner: AppTransport, count: int = 1, paths: tuple[str, ...] = ()) -> None:
        self.inner = inner
        self.count = count
        self.paths = paths

    def post(self, path: str, body: dict[str, Any], token: str | None) -> Reply:
        reply = self.inner.post(path, body, token)
        if self.count > 0 and (not self.paths or path in self.paths):
            self.count -= 1
            raise TransportError("connection reset after the server answered")
        return reply


class CutsAfter:
    """Works for `calls` requests, then the network is gone."""

    def __init__(self, inner: AppTransport, calls: int) -> None:
        self.inner = inner
        self.calls = calls

    def post(self, path: str, body: dict[str, Any], token: str | None) -> Reply:
        if self.calls <= 0:
            raise TransportError("network unreachable")
        self.calls -= 1
        return self.inner.post(path, body, token)


@dataclass
class Device:
    user: User
    store: PlainStore
    engine: SyncEngine

    @property
    def user_id(self) -> str:
        return str(self.user.id)


def device(
    client: TestClient, user: User, device_id: str | None = None, *, page_limit: int = 1000
) -> Device:
    device_id = device_id or f"dev-{uuid.uuid4().hex[:8]}"
    token = login(client, user.username, device_id=device_id)["token"]
    store = PlainStore(":memory:", device_id)
    engine = SyncEngine(store, AppTransport(client), token, page_limit=page_limit)
    return Device(user, store, engine)


@dataclass
class School:
    lead: User
    cleaners: list[User]
    teachers: list[User]
    counselor: User
    template_id: str
    area_ids: list[str]
    class_ids: list[str]  # class i is taught by teachers[i]
    student_ids: dict[str, list[str]]  # class id → students


def small_school(app: FastAPI, students_per_class: int = 3) -> School:
    """Two cleaners, two teachers with a class each, a counselor, two areas, some students."""
    lead = create_user(app, Role.LEAD, "lead")
    cleaners = [create_user(app, Role.CLEANER, f"cleaner{i}") for i in (1, 2)]
    teachers = [create_user(app, Role.CLASS_TEACHER, f"teacher{i}") for i in (1, 2)]
    counselor = create_user(app, Role.COUNSELOR, "counselor1")
    with Session(app.state.engine) as session:
        writer = RecordWriter(session, Clock("setup"))
        template = school_setup.create(
            writer,
            lead.id,
            "checklist_templates",
            {
                "name": "教室消毒",
                "items": {
                    "windows": {"zh": "开窗通风", "en": "Ventilate"},
                    "desks": {"zh": "擦拭课桌", "en": "Wipe desks"},
                    "floor": {
                        "zh": "拖地",
                        "en": "Mop the floor",
                        "dosage": {"disinfectant": "含氯消毒液", "concentration": 500},
                    },
                },
            },
        )
        areas = [
            school_setup.create(
                writer,
                lead.id,
                "areas",
                {
                    "name": name,
                    "kind": "classroom",
                    "frequency_days": 1,
                    "checklist_template_id": str(template.record_id),
                },
            )
            for name in ("一楼教室", "二楼教室")
        ]
        class_ids: list[str] = []
        students: dict[str, list[str]] = {}
        for index, teacher in enumerate(teachers):
            school_class = school_setup.create(
                writer,
                lead.id,
                "classes",
                {"name": f"初一({index + 1})班", "teacher_ids": [str(teacher.id)]},
            )
            class_id = str(school_class.record_id)
            class_ids.append(class_id)
            students[class_id] = [
                str(
                    school_setup.create(
                        writer,
                        lead.id,
                        "students",
                        {"name": f"学生{index}{n}", "class_id": class_id},
                    ).record_id
                )
                for n in range(students_per_class)
            ]
        template_id = str(template.record_id)
        area_ids = [str(a.record_id) for a in areas]
        writer.finish()
        session.commit()
    return School(lead, cleaners, teachers, counselor, template_id, area_ids, class_ids, students)


def new_id() -> str:
    return str(uuid.uuid4())


class Phone:
    """A bare protocol client: what a test harness or another app would send."""

    def __init__(self, client: TestClient, username: str, device_id: str | None = None) -> None:
        self.client = client
        self.device_id = device_id or f"phone-{uuid.uuid4().hex[:6]}"
        body = login(client, username, device_id=self.device_id)
        self.headers = auth(body["token"])
        self.user_id = body["user"]["id"]
        self.clock = Clock(self.device_id)
        self.cursor: str | None = None

    def change(self, collection: str, record_id: str, fields: dict[str, Any], **kw: Any) -> dict:
        return {
            "change_id": new_id(),
            "collection": collection,
            "record_id": record_id,
            "hlc": kw.pop("hlc", None) or self.clock.now(),
            "base_seq": kw.pop("base_seq", None),
            "fields": fields,
            "deleted": kw.pop("deleted", False),
        }

    def push(self, *changes: dict) -> list[dict]:
        response = self.client.post(
            PUSH, headers=self.headers, json={"device_id": self.device_id, "changes": list(changes)}
        )
        assert response.status_code == 200, response.text
        results: list[dict] = response.json()["results"]
        return results

    def pull_all(self) -> tuple[list[dict], list[dict]]:
        changes: list[dict] = []
        removed: list[dict] = []
        while True:
            response = self.client.post(
                PULL,
                headers=self.headers,
                json={"device_id": self.device_id, "cursor": self.cursor, "limit": 50},
            )
            assert response.status_code == 200, response.text
            page = response.json()
            changes += page["changes"]
            removed += page["removed"]
            self.cursor = page["cursor"]
            if not page["has_more"]:
                return changes, removed
