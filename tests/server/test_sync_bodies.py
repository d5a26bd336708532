"""The sync routes parse their bodies with orjson: bad bodies get the same answers as
everywhere else, and strict JSON is required (NaN, lone surrogates are not JSON)."""

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.sync_support import PULL, PUSH, Phone, small_school

JSON = {"content-type": "application/json"}


@pytest.mark.parametrize("path", [PUSH, PULL])
@pytest.mark.parametrize(
    ("content", "headers", "expected"),
    [
        (b"{not json", JSON, (400, "malformed_json")),
        (b'{"device_id": NaN}', JSON, (400, "malformed_json")),
        (b'{"device_id": "\\ud800"}', JSON, (400, "malformed_json")),
        (b"", JSON, (422, "invalid_value")),
        (b"[1, 2]", JSON, (422, "invalid_value")),
        (
            b"device_id=a",
            {"content-type": "application/x-www-form-urlencoded"},
            (415, "unsupported_media_type"),
        ),
        (b'{"device_id": "d", "changes": [], "x": 1}', JSON, (422, "unknown_field")),
    ],
)
def test_bad_sync_bodies(
    client: TestClient,
    app: FastAPI,
    path: str,
    content: bytes,
    headers: dict[str, str],
    expected: tuple[int, str | None],
) -> None:
    small_school(app)
    phone = Phone(client, "cleaner1")
    if path == PULL:
        content = content.replace(b'"changes": [], ', b"")
    response = client.post(path, content=content, headers={**phone.headers, **headers})
    status, code = expected
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code


def test_a_push_body_parsed_by_orjson_is_applied(client: TestClient, app: FastAPI) -> None:
    school = small_school(app)
    phone = Phone(client, "cleaner1")
    change = phone.change(
        "disinfection_rounds",
        "3f1e7c52-5a8e-4a44-9d43-1b1c0c3e0a01",
        {
            "area_id": school.area_ids[0],
            "round_date": "2026-11-29",
            "cleaner_id": phone.user_id,
            "note": "含氯消毒液 500mg/L \u2014 ok",
        },
    )
    [result] = phone.push(change)
    assert result["status"] == "applied"
