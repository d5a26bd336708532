"""HttpxTransport: bodies as encoded, replies decoded, requests begun in the background."""

import json
import threading

import httpx
import pytest

from client import codec
from client.transport import EncodedBody, HttpxTransport, TransportError, begin


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
