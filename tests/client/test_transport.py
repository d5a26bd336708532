"""HttpxTransport: bodies as encoded, replies decoded, requests begun in the background."""

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from client import codec, pull_page
from client.encrypted_store import EncryptedStore, Profile
from client.httpx_transport import HttpxTransport
from client.plain_store import PlainStore
from client.transport import PULL, PUSH, EncodedBody, TransportError, begin
from shared.hlc import wall_clock_ms


def transport_on(handler: httpx.MockTransport) -> HttpxTransport:
    return HttpxTransport("http://sync.test/", client=httpx.Client(transport=handler))


def test_an_encoded_body_goes_out_as_it_is_and_the_reply_is_decoded() -> None:
    seen: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        assert request.headers["authorization"] == "Bearer t0k"
        return httpx.Response(200, content='{"results":[],"note":"已收到"}'.encode())

    transport = transport_on(httpx.MockTransport(answer))
    body = EncodedBody({"device_id": "d1", "changes": []}, b'{"device_id":"d1","changes":[]}')
    reply = transport.post("/api/v1/sync/push", body, "t0k")
    assert seen == [b'{"device_id":"d1","changes":[]}']
    assert reply.status == 200 and reply.body == {"results": [], "note": "已收到"}
    # A plain dict is encoded on the way.
    transport.post("/api/v1/sync/pull", {"device_id": "d1", "note": "温度"}, "t0k")
    assert json.loads(seen[-1]) == {"device_id": "d1", "note": "温度"}


def test_begin_runs_in_the_background_and_errors_wait_for_the_result() -> None:
    threads: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        threads.append(threading.current_thread().name)
        if request.url.path.endswith("/down"):
            raise httpx.ConnectError("refused")
        if request.url.path.endswith("/garbled"):
            return httpx.Response(200, content=b"{not json")
        return httpx.Response(422, json={"error": {"code": "invalid_cursor", "message": "x"}})

    transport = transport_on(httpx.MockTransport(answer))
    reply = transport.begin("/api/v1/sync/pull", {"cursor": "c"}, None).result()
    assert reply.status == 422 and reply.error_code == "invalid_cursor"
    assert threads == ["carerounds-transport"]
    for path in ("/down", "/garbled"):
        pending = transport.begin(path, {}, None)
        with pytest.raises(TransportError):
            pending.result()


def test_transports_without_begin_are_called_when_awaited() -> None:
    calls: list[str] = []

    class InTurn:
        def post(self, path: str, body: dict, token: str | None) -> object:
            calls.append(path)
            return "reply"

    pending = begin(InTurn(), "/p", {}, None)  # type: ignore[arg-type]
    assert calls == []
    assert pending.result() == "reply" and calls == ["/p"]


def test_codec_reads_what_the_standard_library_wrote() -> None:
    assert codec.loads(json.dumps({"t": float("nan")}))["t"] != 0
    assert codec.loads(codec.dumps({"名": [1, 2.5, None, True]})) == {"名": [1, 2.5, None, True]}
    assert codec.dumps({1: "a"}) == b'{"1":"a"}'  # keys the standard library turns into text


PAGE = {
    "changes": [
        {
            "collection": "disinfection_rounds",
            "record_id": "0b8c7a52-6d0e-4c57-9d43-3f3c1c6f2a11",
            "seq": 7,
            "fields": {"note": '一楼 "东" 侧\n', "items": {"a": {"done": True, "n": 2.5}}},
            "field_hlc": {
                "note": "1764404130000-000000-server",
                "items.a": "1764404130000-000000-x",
            },
            "deleted": False,
            "updated_by": None,
            "updated_at": "2026-11-29T08:00:00+00:00",
            "a_key_of_a_later_version": 1,
        }
    ],
    "removed": [{"collection": "areas", "record_id": "5f0a3c1e-0000-4000-8000-000000000001"}],
    "cursor": "c2",
    "has_more": False,
}


def test_a_pull_page_keeps_record_values_as_their_text(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = codec.dumps(PAGE)
    page = pull_page.loads_pull_page(raw)
    assert len(page["changes"]) == 1
    [change] = page["changes"]
    assert page["changes"][0] == change and page["changes"][:1] == [change]
    for text in ("fields", "field_hlc"):
        assert isinstance(change[text], codec.Encoded)
        assert codec.loads(change[text]) == PAGE["changes"][0][text]
    assert {k: v for k, v in change.items() if k not in ("fields", "field_hlc")} == {
        k: v
        for k, v in PAGE["changes"][0].items()
        if k not in ("fields", "field_hlc", "a_key_of_a_later_version")
    }
    # The stamps were read all at once, for the newest.
    assert page["changes"].latest == "1764404130000-000000-x"
    assert (page["removed"], page["cursor"], page["has_more"]) == (PAGE["removed"], "c2", False)
    # What is not a page (an error) reads as any reply does.
    error = {"error": {"code": "invalid_cursor", "message": "旧的"}}
    assert pull_page.loads_pull_page(codec.dumps(error)) == error
    # Without msgspec the page is parsed whole.
    monkeypatch.setattr(pull_page, "_page_decoder", None)
    assert pull_page.loads_pull_page(raw) == PAGE


def test_a_page_whose_stamps_are_not_strings_is_read_as_any_reply() -> None:
    [change] = PAGE["changes"]
    for stamps in ({"note": 7}, ["1764404130000-000000-x"]):
        page = {**PAGE, "changes": [{**change, "field_hlc": stamps}]}
        assert pull_page.loads_pull_page(codec.dumps(page)) == page


def test_an_empty_page_has_no_newest_stamp() -> None:
    page = pull_page.loads_pull_page(codec.dumps({**PAGE, "changes": [], "removed": []}))
    assert (len(page["changes"]), page["changes"].latest) == (0, "")


RESULTS = [{"change_id": "c1", "status": "applied", "seq": 7, "error": None}]


def test_the_transport_reads_pull_pages_so() -> None:
    answers = {PULL: PAGE, PUSH: {"results": RESULTS, "pull": PAGE}, "/api/v1/admin/x": PAGE}
    transport = transport_on(
        httpx.MockTransport(
            lambda request: httpx.Response(200, content=codec.dumps(answers[request.url.path]))
        )
    )
    pulled = transport.post(PULL, {"cursor": None}, "t").body
    pushed = transport.post(PUSH, {"changes": []}, "t").body
    other = transport.post("/api/v1/admin/x", {}, "t").body
    assert isinstance(pulled["changes"][0]["fields"], codec.Encoded)
    # The page of a pull asked with a push too; the push's results as they came.
    assert isinstance(pushed["pull"]["changes"][0]["fields"], codec.Encoded)
    assert pushed["results"] == RESULTS
    assert isinstance(other["changes"][0]["fields"], dict)


def test_a_push_answer_is_read_with_its_page_or_as_it_came(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    read = pull_page.loads_push_answer
    with_page = read(codec.dumps({"results": RESULTS, "pull": PAGE}))
    assert with_page["pull"]["changes"].latest == "1764404130000-000000-x"
    assert (with_page["pull"]["cursor"], with_page["pull"]["has_more"]) == ("c2", False)
    # Version 1's answer, an unanswered pull, an error: as sent.
    for answer in (
        {"results": RESULTS},
        {
            "results": RESULTS,
            "pull": None,
            "pull_error": {"code": "invalid_cursor", "message": "x"},
        },
        {"error": {"code": "forbidden", "message": "另一台设备"}},
        {
            "results": RESULTS,
            "pull": {**PAGE, "changes": [{**PAGE["changes"][0], "field_hlc": []}]},
        },
    ):
        assert read(codec.dumps(answer)) == answer
    monkeypatch.setattr(pull_page, "_push_decoder", None)
    assert read(codec.dumps({"results": RESULTS, "pull": PAGE})) == {
        "results": RESULTS,
        "pull": PAGE,
    }


@pytest.mark.parametrize("encrypted", [False, True])
def test_a_page_stored_from_its_text_is_the_page_stored_from_values(
    tmp_path: Path, encrypted: bool
) -> None:
    def store(name: str) -> PlainStore:
        path = tmp_path / f"{name}.db"
        if encrypted:
            profile = Profile("u1", "cleaner1", "cleaner", "http://sync.test")
            return EncryptedStore.create(path, "dev1", "store-password", profile)
        return PlainStore(path, "dev1")

    as_text, as_values = store("text"), store("values")
    as_text.apply_pull_page(**_args(pull_page.loads_pull_page(codec.dumps(PAGE))))
    as_values.apply_pull_page(**_args(codec.loads(codec.dumps(PAGE))))
    for held in (as_text, as_values):
        [record] = held.records("disinfection_rounds")
        assert record.fields == PAGE["changes"][0]["fields"]
        assert record.record_id == PAGE["changes"][0]["record_id"]
        assert held.cursor() == "c2"


def _args(page: dict) -> dict:
    return {"changes": page["changes"], "removed": page["removed"], "cursor": page["cursor"]}


@pytest.mark.parametrize("read", [pull_page.loads_pull_page, codec.loads])
def test_an_edit_after_a_pull_is_stamped_after_everything_pulled(
    tmp_path: Path, read: Callable[[bytes], Any]
) -> None:
    ahead = f"{wall_clock_ms() + 3_600_000:013d}-000007-other-phone"  # an hour ahead
    [change] = PAGE["changes"]
    page = {**PAGE, "changes": [{**change, "field_hlc": {**change["field_hlc"], "note": ahead}}]}
    store = PlainStore(tmp_path / "s.db", "dev1")
    store.apply_pull_page(**_args(read(codec.dumps(page))))
    entry = store.edit("disinfection_rounds", change["record_id"], {"note": "复查"})
    assert entry.hlc > ahead
    [record] = store.records("disinfection_rounds")
    assert record.fields["note"] == "复查" and record.field_hlc["note"] == entry.hlc
