"""Gemini generateContent and streamGenerateContent through the proxy to the fake upstream."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.proxy.servers import running_proxy
from tests.support.fake_upstream import RunningFakeUpstream

MODEL = "gemini-2.5-flash"
ROWS = [{"id": i, "name": f"item {i}", "status": "ok", "value": i * 3.5} for i in range(200)]
PRETTY = json.dumps(ROWS, indent=2)


def body(output: str) -> dict[str, Any]:
    return {
        "systemInstruction": {"parts": [{"text": "You are terse."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "list the items"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "list_items", "args": {}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "list_items", "response": {"output": output}}}]},
        ],
        "tools": [{"functionDeclarations": [{"name": "list_items", "parameters": {"type": "object"}}]}],
    }


def sent_output(fake: RunningFakeUpstream) -> str:
    return fake.requests[-1].json["contents"][2]["parts"][0]["functionResponse"]["response"]["output"]


def test_generate_content_with_key_in_query(fake: RunningFakeUpstream, tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    with running_proxy(fake.url, log_file=str(log)) as proxy:
        response = httpx.post(f"{proxy}/v1beta/models/{MODEL}:generateContent?key=AIza-test", json=body(PRETTY))
    assert response.status_code == 200
    assert response.json()["candidates"][0]["content"]["parts"] == [{"text": "Hello from the fake upstream."}]
    assert int(response.headers["x-headroom-tokens-saved"]) > 1000
    seen = fake.requests[-1]
    assert (seen.path, seen.query) == (f"/v1beta/models/{MODEL}:generateContent", "key=AIza-test")
    assert len(sent_output(fake)) < len(PRETTY) / 2
    (line,) = [json.loads(raw) for raw in log.read_text().splitlines()]
    assert line["route"] == "gemini.generate" and line["model"] == MODEL and line["stream"] is False
    assert line["usage"]["input_tokens"] > 0 and line["usage"]["output_tokens"] > 0


def test_stream_generate_content_sse_with_key_in_header(fake: RunningFakeUpstream, tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    with running_proxy(fake.url, log_file=str(log)) as proxy:
        url = f"{proxy}/v1beta/models/{MODEL}:streamGenerateContent?alt=sse"
        with httpx.stream("POST", url, json=body(PRETTY), headers={"x-goog-api-key": "AIza-header"}) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            events = [json.loads(line[5:]) for line in response.iter_lines() if line.startswith("data:")]
    text = "".join(part["text"] for e in events for part in e["candidates"][0]["content"]["parts"])
    assert text == "Hello from the fake upstream."
    seen = fake.requests[-1]
    assert seen.header("x-goog-api-key") == "AIza-header" and seen.query == "alt=sse"
    assert len(sent_output(fake)) < len(PRETTY) / 2
    (line,) = [json.loads(raw) for raw in log.read_text().splitlines()]
    assert line["model"] == MODEL and line["stream"] is True
    assert line["usage"]["output_tokens"] == events[-1]["usageMetadata"]["candidatesTokenCount"]


def test_unchanged_body_goes_byte_for_byte(fake: RunningFakeUpstream, proxy: str) -> None:
    raw = b'{"contents": [{"role": "user", "parts": [{"text": "hi \\u00e9"}]}],  "zzz": 1.50}'
    response = httpx.post(f"{proxy}/v1beta/models/{MODEL}:generateContent", content=raw, headers={"x-goog-api-key": "k"})
    assert response.status_code == 200
    assert fake.requests[-1].body == raw


def test_upstream_error_passes_through_in_googles_shape(fake: RunningFakeUpstream, proxy: str) -> None:
    response = httpx.post(f"{proxy}/v1beta/models/{MODEL}:generateContent", json=body("x"))
    assert response.status_code == 403
    assert response.json()["error"]["status"] == "PERMISSION_DENIED"


def test_proxy_errors_use_googles_shape(fake: RunningFakeUpstream, proxy: str) -> None:
    response = httpx.post(f"{proxy}/v1beta/models/{MODEL}:generateContent?key=k", content=b"{not json")
    assert response.status_code == 400
    assert response.json() == {"error": {"code": 400, "message": response.json()["error"]["message"], "status": "INVALID_ARGUMENT"}}
    with running_proxy("http://127.0.0.1:9", max_retries=0) as down:
        response = httpx.post(f"{down}/v1beta/models/{MODEL}:streamGenerateContent?alt=sse&key=k", json=body("x"))
    assert response.status_code == 502
    assert response.json()["error"]["status"] == "UNAVAILABLE"
