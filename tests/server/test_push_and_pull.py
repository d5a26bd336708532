"""A push that asks for the sync's pull too (`"pull": {"cursor", "limit"}`): one round trip
where a phone made two, answered with the page a pull would give once the push is in."""

from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from server.models import Record
from server.sync import pull as pulling
from tests.server.test_sync_push import a_round
from tests.sync_support import PULL, PUSH, Phone, new_id, small_school


def _push(phone: Phone, changes: list[dict], **pull: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"device_id": phone.device_id, "changes": changes, "pull": pull}
    response = phone.client.post(PUSH, headers=phone.headers, json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _pull(phone: Phone, cursor: str | None, limit: int = 500) -> dict[str, Any]:
    body = {"device_id": phone.device_id, "cursor": cursor, "limit": limit}
    response = phone.client.post(PULL, headers=phone.headers, json=body)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def _seen(page: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [(c["collection"], c["record_id"], c["seq"]) for c in page["changes"]]


def test_the_answer_holds_the_page_a_pull_would_give_once_the_push_is_in(
    client: TestClient, app: FastAPI
) -> None:
    school = small_school(app)
    phone = Phone(client, "cleaner1")
    record_id = new_id()
    answer = _push(phone, [phone.change("disinfection_rounds", record_id, a_round(school, phone))])
    [result] = answer["results"]
    assert result["status"] == "applied"
    assert "pull_error" not in answer
    page = answer["pull"]
    # Everything the cleaner may read, their own round among it at the seq just given.
    assert ("disinfection_rounds", record_id, result["seq"]) in _seen(page)
    assert page["has_more"] is False
    # A pull from null now, by another phone of the same account, gives the same records.
    other = Phone(client, "cleaner1")
    assert _seen(_pull(other, None)) == _seen(page)
    # The cursor goes on from there: nothing again, then only what came after.
    assert _pull(phone, page["cursor"])["changes"] == []
    later = new_id()
    [_] = other.push(other.change("disinfection_rounds", later, a_round(school, other)))
    assert [c["record_id"] for c in _pull(phone, page["cursor"])["changes"]] == [later]


def test_a_pull_asked_with_a_push_keeps_to_the_scope_and_the_page_size(
    client: TestClient, app: FastAPI
) -> None:
    school = small_school(app)
    teacher = Phone(client, "teacher1")
    answer = _push(teacher, [], cursor=None, limit=2)
    assert answer["results"] == []
    first = answer["pull"]
    assert len(first["changes"]) == 2 and first["has_more"] is True
    # The rest by plain pulls, from the page's cursor: each record once, none of another
    # class's students.
    seen = _seen(first)
    cursor = first["cursor"]
    while True:
        page = _pull(teacher, cursor, limit=2)
        seen += _seen(page)
        cursor = page["cursor"]
        if not page["has_more"]:
            break
    assert len(seen) == len(set(seen))
    assert sorted(seen) == sorted(_seen(_pull(Phone(client, "teacher1"), None)))
    students = {r for c, r, _ in seen if c == "students"}
    assert students == set(school.student_ids[school.class_ids[0]])


def test_without_pull_the_answer_is_version_1s(client: TestClient, app: FastAPI) -> None:
    school = small_school(app)
    phone = Phone(client, "cleaner1")
    body = {
        "device_id": phone.device_id,
        "changes": [phone.change("disinfection_rounds", new_id(), a_round(school, phone))],
    }
    answer = client.post(PUSH, headers=phone.headers, json=body).json()
    assert list(answer) == ["results"]


def test_a_pull_that_cannot_be_answered_leaves_the_push_in_and_says_why(
    client: TestClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    school = small_school(app)
    phone = Phone(client, "cleaner1")

    def stored(record_id: str) -> bool:
        with Session(app.state.engine) as session:
            rows = session.exec(select(Record).where(Record.collection == "disinfection_rounds"))
            return record_id in {str(r.record_id) for r in rows}

    first = new_id()
    change = phone.change("disinfection_rounds", first, a_round(school, phone))
    answer = _push(phone, [change], cursor="not-a-cursor")
    assert [r["status"] for r in answer["results"]] == ["applied"]
    assert answer["pull"] is None
    assert answer["pull_error"]["code"] == "invalid_cursor"
    assert stored(first)

    def database_gone(*args: object, **kwargs: object) -> None:
        raise OperationalError("SELECT", {}, psycopg.OperationalError("server closed"))

    monkeypatch.setattr(pulling, "pull", database_gone)
    second = new_id()
    answer = _push(phone, [phone.change("disinfection_rounds", second, a_round(school, phone))])
    assert [r["status"] for r in answer["results"]] == ["applied"]
    assert answer["pull"] is None
    assert answer["pull_error"]["code"] == "database_unavailable"
    assert stored(second)
    # Sent again (the phone did not hear back), it is a duplicate, and the pull is answered.
    monkeypatch.undo()
    again = _push(phone, [change])
    assert [r["status"] for r in again["results"]] == ["duplicate"]
    assert again["pull"]["has_more"] is False


def test_a_refused_push_pulls_nothing(client: TestClient, app: FastAPI) -> None:
    small_school(app)
    phone = Phone(client, "cleaner1")
    body = {"device_id": "someone-else", "changes": [], "pull": {}}
    refused = client.post(PUSH, headers=phone.headers, json=body)
    assert refused.status_code == 403
    assert list(refused.json()) == ["error"]
    nobody = client.post(PUSH, json={**body, "device_id": phone.device_id})
    assert nobody.status_code == 401
    bad = {"device_id": phone.device_id, "changes": [], "pull": {"limit": 0}}
    assert client.post(PUSH, headers=phone.headers, json=bad).status_code == 422
