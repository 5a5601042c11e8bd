"""OpenAI Responses over WebSocket through the proxy: a real `websockets` client, the scripted fake
upstream behind, frames compressed or relayed byte for byte, close codes carried both ways."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.proxy.servers import Faults, running_proxy
from tests.support.fake_upstream import RecordedRequest, RunningFakeUpstream, Transport

ROWS = [{"id": i, "name": f"item {i}", "status": "ok", "value": i * 3.5} for i in range(200)]
PRETTY = json.dumps(ROWS, indent=2)
HEADERS = {
    "authorization": "Bearer sk-test-ws",
    "openai-beta": "responses_websockets=2026-02-06",
    "originator": "codex_exec",
    "session_id": "sess-1",
    "x-headroom-token": "never-upstream",
}


def ws_url(http_url: str) -> str:
    return "ws" + http_url.removeprefix("http") + "/v1/responses"


def tool_turn(output: str, **extra: Any) -> dict[str, Any]:
    items = [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "list the items"}]},
        {"type": "function_call", "call_id": "call_1", "name": "list_items", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": output},
    ]
    return {"type": "response.create", "model": "gpt-5", "input": items, "stream": True, **extra}


def until_done(ws: ClientConnection) -> list[dict[str, Any]]:
    events = []
    while True:
        event = json.loads(ws.recv(timeout=10))
        events.append(event)
        if event["type"] in ("response.completed", "response.failed", "error"):
            return events


def frames(fake: RunningFakeUpstream, since: int) -> list[RecordedRequest]:
    return [r for r in fake.requests[since:] if r.transport is Transport.WS_MESSAGE]


def wait_for(predicate: Any, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def test_response_create_is_compressed_and_events_relayed(fake: RunningFakeUpstream, proxy: str) -> None:
    start = len(fake.requests)
    with connect(ws_url(proxy), additional_headers=HEADERS) as ws:
        ws.send(json.dumps(tool_turn(PRETTY)))
        events = until_done(ws)
    assert events[-1]["type"] == "response.completed"
    text = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert "".join(text) == "Hello from the fake upstream."
    sent = frames(fake, start)[0].json
    assert sent["type"] == "response.create"
    assert len(sent["input"][2]["output"]) < len(PRETTY) / 2
    assert sent["input"][:2] == tool_turn(PRETTY)["input"][:2]
    handshake = next(r for r in fake.requests[start:] if r.transport is Transport.WS_HANDSHAKE)
    assert handshake.header("authorization") == "Bearer sk-test-ws"
    assert handshake.header("openai-beta") == "responses_websockets=2026-02-06"
    assert handshake.header("originator") == "codex_exec"
    assert handshake.header("session_id") == "sess-1"
    assert not [k for k, _ in handshake.headers if k.startswith("x-headroom-")]
    assert "permessage-deflate" in (handshake.header("sec-websocket-extensions") or "")


def test_incremental_turn_with_previous_response_id(fake: RunningFakeUpstream, proxy: str) -> None:
    start = len(fake.requests)
    with connect(ws_url(proxy), additional_headers=HEADERS) as ws:
        ws.send(json.dumps({"type": "response.create", "model": "gpt-5", "input": 'go [[fake:tool list_items {}]]'}))
        first = until_done(ws)[-1]["response"]
        call = next(item for item in first["output"] if item["type"] == "function_call")
        turn = {"type": "function_call_output", "call_id": call["call_id"], "output": PRETTY}
        ws.send(json.dumps({"type": "response.create", "model": "gpt-5", "previous_response_id": first["id"], "input": [turn]}))
        second = until_done(ws)
    assert second[-1]["type"] == "response.completed"
    sent = frames(fake, start)[1].json
    assert sent["previous_response_id"] == first["id"]
    assert len(sent["input"][0]["output"]) < len(PRETTY) / 2


def test_other_frames_and_unchanged_creates_go_byte_for_byte(fake: RunningFakeUpstream, proxy: str) -> None:
    start = len(fake.requests)
    other = '{"type":  "response.cancel",   "note": "spacing \\u00e9 kept"}'
    small = '{ "type": "response.create", "model": "gpt-5",  "input": "hi \\u00e9" }'
    with connect(ws_url(proxy), additional_headers=HEADERS) as ws:
        ws.send(other)
        error = json.loads(ws.recv(timeout=10))
        ws.send(small)
        done = until_done(ws)
    assert error["type"] == "error"
    assert done[-1]["type"] == "response.completed"
    seen = frames(fake, start)
    assert [r.body for r in seen] == [other.encode(), small.encode()]


def test_client_close_code_reaches_upstream(fake: RunningFakeUpstream, proxy: str) -> None:
    before = len(fake.fake.ws_close_codes)
    with connect(ws_url(proxy), additional_headers=HEADERS) as ws:
        ws.send('{"type": "response.create", "model": "gpt-5", "input": "hi"}')
        until_done(ws)
        ws.close(4001, "client done")
    wait_for(lambda: len(fake.fake.ws_close_codes) > before)
    assert fake.fake.ws_close_codes[-1] == 4001


def test_upstream_close_code_reaches_client(proxy: str) -> None:
    with connect(ws_url(proxy), additional_headers=HEADERS) as ws:
        ws.send(json.dumps({"type": "fake.close", "code": 4002, "reason": "upstream says bye"}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4002, "upstream says bye")


def test_refused_upgrade_status_reaches_client(faults: tuple[str, Faults]) -> None:
    """An upstream without a WebSocket route refuses the upgrade; Codex then falls back to HTTP."""
    with running_proxy(faults[0]) as proxy, pytest.raises(InvalidStatus) as refused:
        connect(ws_url(proxy), additional_headers=HEADERS, open_timeout=10)
    assert refused.value.response.status_code == 403


def test_unreachable_upstream_is_a_502() -> None:
    with running_proxy("http://127.0.0.1:9", connect_timeout_s=2) as proxy:
        with pytest.raises(InvalidStatus) as refused:
            connect(ws_url(proxy), additional_headers=HEADERS, open_timeout=10)
    assert refused.value.response.status_code == 502
    assert json.loads(refused.value.response.body)["error"]["code"] == "upstream_unavailable"


def test_proxy_token_guards_the_websocket(fake: RunningFakeUpstream) -> None:
    with running_proxy(fake.url, proxy_token="s3cret") as proxy:
        with pytest.raises(InvalidStatus) as refused:
            connect(ws_url(proxy), additional_headers={"authorization": "Bearer k"}, open_timeout=10)
        assert refused.value.response.status_code == 403
        with connect(ws_url(proxy), additional_headers={"x-headroom-token": "s3cret"}) as ws:
            ws.send('{"type": "response.create", "model": "gpt-5", "input": "hi"}')
            assert until_done(ws)[-1]["type"] == "response.completed"
