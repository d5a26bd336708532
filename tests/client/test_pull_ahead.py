"""A pulled page that is not the last names its cursor in a header: the phone's transport
asks for the next page while the one before is still being read and stored."""

from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from client.httpx_transport import HttpxTransport
from client.plain_store import PlainStore
from client.sync_engine import SyncEngine
from client.transport import PendingReply, Reply
from shared.schemas.wire import NEXT_CURSOR
from tests.factories import auth, login
from tests.sync_support import PULL, small_school


class Logged(HttpxTransport):
    """The phone's transport, the app behind it in-process; it notes each pull it begins."""

    def __init__(self, client: TestClient, log: list[str]) -> None:
        def forward(request: httpx.Request) -> httpx.Response:
            got = client.request(
                request.method, request.url.path, content=request.content, headers=request.headers
            )
            return httpx.Response(got.status_code, headers=got.headers, content=got.content)

        super().__init__(
            "http://sync.test", client=httpx.Client(transport=httpx.MockTransport(forward))
        )
        self.log = log

    def begin(self, path: str, body: dict[str, Any], token: str | None) -> PendingReply:
        self.log.append(f"ask {body['cursor']}")
        return Read(super().begin(path, body, token), self.log)


class Read:
    """A pending reply that notes when the engine has the page in hand."""

    def __init__(self, pending: PendingReply, log: list[str]) -> None:
        self.pending = pending
        self.log = log

    def next_cursor(self) -> str | None:
        return self.pending.next_cursor()

    def result(self) -> Reply:
        reply = self.pending.result()
        self.log.append(f"read {reply.body.get('cursor')}")
        return reply


class NotedStore(PlainStore):
    def __init__(self, device_id: str, log: list[str]) -> None:
        super().__init__(":memory:", device_id)
        self.log = log

    def apply_pull_page(self, changes: Any, removed: Any, cursor: str | None) -> None:
        super().apply_pull_page(changes, removed, cursor)
        self.log.append(f"stored {cursor}")


def test_the_next_page_is_asked_for_before_this_one_is_read(
    client: TestClient, app: FastAPI
) -> None:
    small_school(app, students_per_class=6)
    log: list[str] = []
    token = login(client, "lead", device_id="ahead-1")["token"]
    store = NotedStore("ahead-1", log)
    engine = SyncEngine(store, Logged(client, log), token, page_limit=4)

    report = engine.pull()

    stored = [line.removeprefix("stored ") for line in log if line.startswith("stored")]
    asked = [line.removeprefix("ask ") for line in log if line.startswith("ask")]
    assert len(stored) >= 4, log  # the school's records, four to a page
    # Each page asked for with the cursor the page before ends with, as soon as that page's
    # headers were in: before the engine had its body; never one more than there are pages.
    assert asked == ["None", *stored[:-1]], log
    for cursor in stored[:-1]:
        assert log.index(f"ask {cursor}") < log.index(f"read {cursor}"), log
    # All of it arrived, once: what a device pulling a page at a time gets.
    other = login(client, "lead", device_id="ahead-2")["token"]
    plain = SyncEngine(PlainStore(":memory:", "ahead-2"), Logged(client, []), other)
    assert report.pulled == plain.pull().pulled
    assert store.cursor() == stored[-1]


def test_only_a_page_with_more_after_it_names_a_cursor(client: TestClient, app: FastAPI) -> None:
    small_school(app)
    headers = auth(login(client, "lead", device_id="ahead-3")["token"])
    body: dict[str, Any] = {"device_id": "ahead-3", "cursor": None, "limit": 3}
    first = client.post(PULL, json=body, headers=headers)
    assert first.status_code == 200 and first.json()["has_more"] is True
    assert first.headers[NEXT_CURSOR] == first.json()["cursor"]
    rest = client.post(
        PULL, json={**body, "limit": 5000, "cursor": first.json()["cursor"]}, headers=headers
    )
    assert rest.status_code == 200 and rest.json()["has_more"] is False
    assert NEXT_CURSOR not in rest.headers
    wrong = client.post(PULL, json={**body, "cursor": "not-a-cursor"}, headers=headers)
    assert wrong.status_code == 422 and NEXT_CURSOR not in wrong.headers
