"""Upstream faults: unreachable, refused with Retry-After, errors, resets, slow streams, gzip."""

from __future__ import annotations

import socket
import time

import anthropic
import httpx
import openai
import pytest

from tests.proxy.servers import Faults, running_proxy

MODEL = "claude-test-1"
BODY = {"model": MODEL, "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
HEADERS = {"x-api-key": "k", "anthropic-version": "2023-06-01"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_upstream_down_is_502_in_each_dialect() -> None:
    with running_proxy(f"http://127.0.0.1:{free_port()}", max_retries=1) as proxy:
        client = anthropic.Anthropic(base_url=proxy, api_key="k", max_retries=0)
        with pytest.raises(anthropic.InternalServerError) as caught:
            client.messages.create(**BODY)  # type: ignore[arg-type]
        assert caught.value.status_code == 502
        assert caught.value.body["error"]["type"] == "api_error"  # type: ignore[index]
        oai = openai.OpenAI(base_url=f"{proxy}/v1", api_key="k", max_retries=0)
        with pytest.raises(openai.InternalServerError) as caught_oai:
            oai.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        assert caught_oai.value.body["code"] == "upstream_unavailable"  # type: ignore[index]


@pytest.mark.parametrize("status", [429, 529, 503])
def test_refusal_with_retry_after_is_retried(faults: tuple[str, Faults], status: int) -> None:
    url, seen = faults
    with running_proxy(url, max_retries=2) as proxy:
        response = httpx.post(f"{proxy}/v1/messages", json=BODY, headers={**HEADERS, "x-fault": f"retry:{status}:2"})
        assert response.status_code == 200
        assert seen.counts[f"retry:{status}:2"] == 3
        # Out of retries: the provider's final status and body reach the client unchanged.
        response = httpx.post(f"{proxy}/v1/messages", json=BODY, headers={**HEADERS, "x-fault": f"retry:{status}:9"})
        assert response.status_code == status
        assert response.json()["error"]["message"] == "try later"
        assert seen.counts[f"retry:{status}:9"] == 3


def test_retry_after_longer_than_the_bound_goes_to_the_client_at_once(faults: tuple[str, Faults]) -> None:
    url, seen = faults
    with running_proxy(url, max_retries=2, max_retry_wait_s=5) as proxy:
        started = time.monotonic()
        response = httpx.post(f"{proxy}/v1/messages", json=BODY, headers={**HEADERS, "x-fault": "retry-long:429"})
    assert response.status_code == 429 and response.headers["retry-after"] == "3600"
    assert seen.counts["retry-long:429"] == 1 and time.monotonic() - started < 2


def test_500_passes_through_unretried(faults: tuple[str, Faults]) -> None:
    url, seen = faults
    with running_proxy(url) as proxy:
        response = httpx.post(f"{proxy}/v1/messages", json=BODY, headers={**HEADERS, "x-fault": "status:500"})
    assert response.status_code == 500 and response.json()["error"]["message"] == "fault 500"
    assert seen.counts["status:500"] == 1


def test_reset_mid_stream_reaches_the_sdk_as_an_error(faults: tuple[str, Faults]) -> None:
    url, _ = faults
    with running_proxy(url) as proxy:
        client = anthropic.Anthropic(base_url=proxy, api_key="k", max_retries=0, default_headers={"x-fault": "reset"})
        with pytest.raises(anthropic.APIStatusError) as caught:
            with client.messages.stream(**BODY) as events:  # type: ignore[arg-type]
                events.get_final_message()
        assert "broke off" in str(caught.value)
        health = httpx.get(f"{proxy}/health").json()
    assert health["stats"]["errors"] == 1


def test_slow_stream_longer_than_read_timeout_completes(faults: tuple[str, Faults]) -> None:
    url, _ = faults
    with running_proxy(url, read_timeout_s=0.5) as proxy:
        client = anthropic.Anthropic(base_url=proxy, api_key="k", max_retries=0, default_headers={"x-fault": "slow:6:200"})
        started = time.monotonic()
        with client.messages.stream(**BODY) as events:  # type: ignore[arg-type]
            text = events.get_final_text()
    assert time.monotonic() - started > 1.0  # the stream outlived the read timeout
    assert text == "t0 t1 t2 t3 t4 t5 "


def test_gzip_response_is_decoded_for_the_client(faults: tuple[str, Faults]) -> None:
    url, _ = faults
    with running_proxy(url) as proxy:
        response = httpx.post(f"{proxy}/v1/messages", json=BODY, headers={**HEADERS, "x-fault": "gzip"})
    assert response.status_code == 200 and "content-encoding" not in response.headers
    assert response.json()["content"][0]["text"] == "ok"


def test_client_disconnect_cancels_the_upstream_call(faults: tuple[str, Faults]) -> None:
    url, seen = faults
    with running_proxy(url) as proxy:
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{proxy}/v1/messages", json=BODY, headers={**HEADERS, "x-fault": "hang"}, timeout=0.3)
        with httpx.stream("POST", f"{proxy}/v1/messages", json={**BODY, "stream": True}, headers={**HEADERS, "x-fault": "hang-stream"}) as response:
            next(response.iter_raw())
        deadline = time.monotonic() + 3
        while len(seen.abandoned) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert sorted(seen.abandoned) == ["hang", "hang-stream"]
