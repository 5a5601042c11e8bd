"""`python -m benchmarks.proxy_bench`: what the proxy adds on the wire, measured on loopback.

Three targets get the same requests from one load generator (aiohttp, in this process):

    direct    a lean fake Anthropic upstream (its own process)
    floor     a minimal forwarder built with the proxy's stack (Starlette + httpx with the
              httpx-aiohttp transport, under uvicorn), in front of the fake: the cost of the stack
    proxy     the real `headroom proxy --stateless` in front of the fake

Figures: added latency p50/p99 for a passthrough request (nothing to compress) and for a ~15k-token
request the proxy compresses (every request distinct, so no memo cache helps); requests per second
at 16 concurrent clients; time to the first byte of a stream whose events come 20 ms apart; and the
proxy's RSS under 100 concurrent 1 MB requests, in two bursts. The issue's targets are printed as
PASS/FAIL lines; nothing is asserted. Bounded: about a minute on 2 cores.

Options: --quick (fewer samples), --json PATH.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TARGETS = ("direct", "floor", "proxy")
STREAM_GAP_S = 0.02
STREAM_EVENTS = 5


# --------------------------------------------------------------------------- the servers


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


MESSAGE = {
    "id": "msg_bench",
    "type": "message",
    "role": "assistant",
    "model": "claude-bench",
    "content": [{"type": "text", "text": "ok"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 10, "output_tokens": 1},
}
MESSAGE_BYTES = json.dumps(MESSAGE).encode()
STREAM = [
    _sse("message_start", {"type": "message_start", "message": {**MESSAGE, "content": [], "stop_reason": None}}),
    _sse("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    *[_sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": f"t{i} "}}) for i in range(STREAM_EVENTS - 4)],
    _sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
    _sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 3}}),
    _sse("message_stop", {"type": "message_stop"}),
]


async def fake_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A lean Anthropic upstream: reads and drops the body, answers JSON, or SSE paced 20 ms apart."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    head = b""
    more = True
    while more:
        message = await receive()
        if len(head) < 4096:
            head += message.get("body", b"")[:4096]
        more = message.get("more_body", False)
    if b'"stream":true' in head.replace(b" ", b""):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        for i, event in enumerate(STREAM):
            if i:
                await asyncio.sleep(STREAM_GAP_S)
            await send({"type": "http.response.body", "body": event, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(MESSAGE_BYTES)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": MESSAGE_BYTES})


def floor_app(upstream: str) -> Any:
    """The least a forwarder on the proxy's stack can do: read the body, send it, relay the answer."""
    import httpx
    from httpx_aiohttp import AiohttpTransport
    from starlette.applications import Starlette
    from starlette.background import BackgroundTask
    from starlette.requests import Request
    from starlette.responses import Response, StreamingResponse
    from starlette.routing import Route

    client = httpx.AsyncClient(transport=AiohttpTransport(limits=httpx.Limits(max_connections=500)), timeout=600)
    hop = {"host", "content-length", "connection", "transfer-encoding"}

    async def forward(request: Request) -> Response:
        body = await request.body()
        headers = [(k, v) for k, v in request.headers.raw if k.decode().lower() not in hop]
        sent = client.build_request(request.method, upstream + request.url.path, headers=headers, content=body)
        answer = await client.send(sent, stream=True)
        out = {k: v for k, v in answer.headers.items() if k.lower() not in hop | {"content-encoding"}}
        return StreamingResponse(answer.aiter_raw(), answer.status_code, out, background=BackgroundTask(answer.aclose))

    return Starlette(routes=[Route("/{path:path}", forward, methods=["GET", "POST", "HEAD"])])


def serve_main(kind: str, port: int, upstream: str | None) -> None:
    import uvicorn

    app = fake_app if kind == "fake" else floor_app(upstream or "")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def process(args: list[str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server process and wait until it accepts connections on `port`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADROOM_")}
    proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{args} exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{args} did not start")
            time.sleep(0.05)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def servers() -> Iterator[tuple[dict[str, str], int]]:
    """The three targets' base URLs, and the proxy's pid."""
    ports = {name: free_port() for name in TARGETS}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    me = [sys.executable, "-m", "benchmarks.proxy_bench", "--serve"]
    proxy = [sys.executable, "-m", "headroom_cli", "proxy", "--port", str(ports["proxy"]), "--stateless", "--anthropic-api-url", urls["direct"]]
    with process([*me, "fake", "--port", str(ports["direct"])], ports["direct"]), \
         process([*me, "floor", "--port", str(ports["floor"]), "--upstream", urls["direct"]], ports["floor"]), \
         process(proxy, ports["proxy"]) as proxy_process:  # fmt: skip
        yield urls, proxy_process.pid


# --------------------------------------------------------------------------- request bodies


def small_body() -> bytes:
    """A short chat turn: nothing for the core to compress, so the proxy forwards the client's bytes."""
    body = {"model": "claude-bench", "max_tokens": 64, "messages": [{"role": "user", "content": "Say hi in three words."}]}
    return json.dumps(body).encode()


def compressible_bodies(n: int, tokens: int = 15_000) -> list[bytes]:
    """`n` distinct ~15k-token requests: a tool turn whose result is a pretty JSON export."""
    from headroom_core import count_tokens

    def rows(count: int, salt: int) -> str:
        return json.dumps(
            [{"id": i, "user": f"user{i:04d}", "email": f"user{i:04d}@example.com", "active": i % 7 != 0, "plan": ["free", "pro", "team"][i % 3], "batch": salt} for i in range(count)],
            indent=2,
        )

    count = 100
    while count_tokens(rows(count, 0), "o200k_base") < tokens:
        count += 10

    def body(salt: int) -> bytes:
        messages = [
            {"role": "user", "content": f"Which users are inactive? (run {salt})"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "cat users.json"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": rows(count, salt)}]},
        ]
        return json.dumps({"model": "claude-bench", "max_tokens": 64, "messages": messages}).encode()

    return [body(salt) for salt in range(n)]


def big_body(size: int = 1 << 20) -> bytes:
    """A ~1 MB request whose bulk is text the user typed (never compressed): the buffering path."""
    text = ("The quick brown fox jumps over the lazy dog. " * (size // 45 + 1))[:size]
    return json.dumps({"model": "claude-bench", "max_tokens": 64, "messages": [{"role": "user", "content": text}]}).encode()


def stream_body() -> bytes:
    body = {"model": "claude-bench", "max_tokens": 64, "stream": True, "messages": [{"role": "user", "content": "Stream me a few words."}]}
    return json.dumps(body).encode()


HEADERS = {"content-type": "application/json", "x-api-key": "dummy", "anthropic-version": "2023-06-01"}


# --------------------------------------------------------------------------- measurements


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def latencies(session: Any, urls: dict[str, str], bodies: list[bytes], rounds: int) -> dict[str, list[float]]:
    """Sequential requests, the targets interleaved round by round so drift hits all alike; ms."""
    out: dict[str, list[float]] = {name: [] for name in TARGETS}
    for name in TARGETS:  # warm-up: connections, imports, caches of the stack
        for body in bodies[:3]:
            async with session.post(urls[name] + "/v1/messages", data=body, headers=HEADERS) as r:
                await r.read()
    for i in range(rounds):
        body = bodies[i % len(bodies)]
        for name in TARGETS:
            started = time.perf_counter()
            async with session.post(urls[name] + "/v1/messages", data=body, headers=HEADERS) as r:
                await r.read()
                assert r.status == 200, (name, r.status)
            out[name].append((time.perf_counter() - started) * 1000)
    return out


async def throughput(session: Any, url: str, body: bytes, clients: int, seconds: float) -> float:
    done = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            async with session.post(url + "/v1/messages", data=body, headers=HEADERS) as r:
                await r.read()
                done += r.status == 200

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return done / (time.perf_counter() - started)


async def first_bytes(session: Any, url: str, tries: int) -> tuple[list[float], list[float]]:
    """(time to the first body byte, time to the whole stream), ms."""
    first, whole = [], []
    for _ in range(tries):
        started = time.perf_counter()
        async with session.post(url + "/v1/messages", data=stream_body(), headers=HEADERS) as r:
            await r.content.readany()
            first.append((time.perf_counter() - started) * 1000)
            await r.read()
            whole.append((time.perf_counter() - started) * 1000)
    return first, whole


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextlib.contextmanager
def rss_peak(pid: int) -> Iterator[list[float]]:
    """Sample the RSS of `pid` every 10 ms while the block runs; the list ends up holding the peak."""
    peak = [rss_mb(pid)]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                peak[0] = max(peak[0], rss_mb(pid))
            stop.wait(0.01)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()


async def burst(session: Any, url: str, body: bytes, n: int) -> list[int]:
    async def one() -> int:
        async with session.post(url + "/v1/messages", data=body, headers=HEADERS) as r:
            await r.read()
            return r.status

    return await asyncio.gather(*(one() for _ in range(n)))


def core_compress_ms(bodies: list[bytes]) -> list[float]:
    """The core alone on the same bodies (decoded as the proxy does), ms per request."""
    import msgspec

    from headroom_core import Wire, compress_request

    decode = msgspec.json.Decoder().decode
    times = []
    for raw in bodies:
        body = decode(raw)
        started = time.perf_counter()
        compress_request(body, wire=Wire.ANTHROPIC)
        times.append((time.perf_counter() - started) * 1000)
    return times


@dataclass(frozen=True)
class Report:
    latency_ms: dict[str, dict[str, dict[str, float]]]   # kind -> target -> p50/p99
    core_compress_ms: dict[str, float]
    compressed_bytes: dict[str, int]
    rps_16: dict[str, float]
    ttfb_ms: dict[str, dict[str, float]]
    rss_mb: dict[str, float]
    burst_statuses: dict[str, int]
    seconds: float


async def measure(urls: dict[str, str], proxy_pid: int, quick: bool) -> Report:
    import aiohttp

    rounds = 100 if quick else 300
    started = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=200, force_close=False)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False) as session:
        print("latency: passthrough ...", file=sys.stderr, flush=True)
        passthrough = await latencies(session, urls, [small_body()], rounds)
        print("latency: compressing 15k tokens ...", file=sys.stderr, flush=True)
        bodies = compressible_bodies(rounds // 2 + 3)
        compressing = await latencies(session, urls, bodies, rounds // 2)
        core_ms = core_compress_ms(compressible_bodies(40, tokens=15_000)[-(rounds // 4) :])
        async with session.post(urls["proxy"] + "/v1/messages", data=bodies[0], headers=HEADERS) as r:
            await r.read()
            saved = int(r.headers.get("x-headroom-tokens-saved", "0"))
        print("throughput at 16 clients ...", file=sys.stderr, flush=True)
        rps = {name: await throughput(session, urls[name], small_body(), 16, 1.5 if quick else 3.0) for name in TARGETS}
        print("time to first byte ...", file=sys.stderr, flush=True)
        ttfb = {}
        for name in TARGETS:
            first, whole = await first_bytes(session, urls[name], 15 if quick else 30)
            ttfb[name] = {"p50": statistics.median(first), "p99": percentile(first, 0.99), "whole_p50": statistics.median(whole)}
        print("RSS under 100 concurrent 1 MB requests ...", file=sys.stderr, flush=True)
        big = big_body()
        idle = rss_mb(proxy_pid)
        statuses: dict[str, int] = {}
        after = []
        peaks = []
        for _ in range(2):
            with rss_peak(proxy_pid) as peak:
                for status in await burst(session, urls["proxy"], big, 100):
                    statuses[str(status)] = statuses.get(str(status), 0) + 1
            peaks.append(peak[0])
            await asyncio.sleep(0.5)
            after.append(rss_mb(proxy_pid))
    kinds = {"passthrough": passthrough, "compressing 15k tokens": compressing}
    latency = {
        kind: {name: {"p50": statistics.median(v), "p99": percentile(v, 0.99)} for name, v in values.items()}
        for kind, values in kinds.items()
    }
    return Report(
        latency_ms=latency,
        core_compress_ms={"p50": statistics.median(core_ms), "p99": percentile(core_ms, 0.99)},
        compressed_bytes={"request_bytes": len(bodies[0]), "tokens_saved": saved},
        rps_16=rps,
        ttfb_ms=ttfb,
        rss_mb={"idle": idle, "peak_burst_1": peaks[0], "after_burst_1": after[0], "peak_burst_2": peaks[1], "after_burst_2": after[1], "in_flight_payload": 100 * len(big) / (1 << 20)},
        burst_statuses=statuses,
        seconds=time.perf_counter() - started,
    )


# --------------------------------------------------------------------------- the report


def render(rep: Report) -> str:
    lines = ["headroom proxy benchmark (loopback; direct = lean fake upstream, floor = Starlette+httpx-aiohttp forwarder)", ""]
    lines.append(f"{'':40}{'direct':>14}{'floor':>14}{'proxy':>14}{'proxy-direct':>14}{'floor-direct':>14}")
    for kind, values in rep.latency_ms.items():
        for q in ("p50", "p99"):
            d, f, p = (values[t][q] for t in TARGETS)
            lines.append(f"{f'latency {kind} {q} ms':40}{d:14.2f}{f:14.2f}{p:14.2f}{p - d:+14.2f}{f - d:+14.2f}")
    d, f, p = (rep.rps_16[t] for t in TARGETS)
    lines.append(f"{'requests/s, 16 clients':40}{d:14.0f}{f:14.0f}{p:14.0f}{p / d - 1:+14.0%}{f / d - 1:+14.0%}")
    for q in ("p50", "p99", "whole_p50"):
        d, f, p = (rep.ttfb_ms[t][q] for t in TARGETS)
        label = "stream, whole p50 ms" if q == "whole_p50" else f"stream TTFB {q} ms"
        lines.append(f"{label:40}{d:14.2f}{f:14.2f}{p:14.2f}{p - d:+14.2f}{f - d:+14.2f}")
    core = rep.core_compress_ms
    lines.append("")
    lines.append(
        f"core compress_request alone on the 15k-token body: p50 {core['p50']:.2f} ms, p99 {core['p99']:.2f} ms "
        f"({rep.compressed_bytes['request_bytes']:,} bytes, {rep.compressed_bytes['tokens_saved']:,} tokens saved by the proxy)"
    )
    r = rep.rss_mb
    lines.append(
        f"proxy RSS, 100 concurrent 1 MB requests ({r['in_flight_payload']:.0f} MB in flight): idle {r['idle']:.0f} MB, "
        f"peak {r['peak_burst_1']:.0f} / {r['peak_burst_2']:.0f} MB, after {r['after_burst_1']:.0f} / {r['after_burst_2']:.0f} MB "
        f"(bursts 1 / 2); statuses {rep.burst_statuses}"
    )
    lines.append(f"measured in {rep.seconds:.1f} s")
    lines.append("")
    lines += [f"{'PASS' if ok else 'FAIL'}  {text}" for ok, text in targets(rep)]
    return "\n".join(lines)


def targets(rep: Report) -> list[tuple[bool, str]]:
    """The issue's targets, as (met, description)."""
    lat = rep.latency_ms
    passthrough = lat["passthrough"]["proxy"]["p50"] - lat["passthrough"]["direct"]["p50"]
    compressing = lat["compressing 15k tokens"]["proxy"]["p50"] - lat["compressing 15k tokens"]["direct"]["p50"]
    allowed = 2.0 + rep.core_compress_ms["p50"]
    r = rep.rss_mb
    growth = r["peak_burst_1"] - r["idle"]
    leak = r["after_burst_2"] - r["after_burst_1"]
    bounded = growth <= 4 * r["in_flight_payload"] and leak <= 0.2 * r["in_flight_payload"]
    ok_statuses = rep.burst_statuses.get("200", 0) == 200
    return [
        (passthrough <= 1.0, f"passthrough overhead p50 {passthrough:.2f} ms <= 1 ms"),
        (compressing <= allowed, f"compressing overhead p50 {compressing:.2f} ms <= 2 ms + core {rep.core_compress_ms['p50']:.2f} ms = {allowed:.2f} ms"),
        (rep.ttfb_ms["proxy"]["p50"] < rep.ttfb_ms["direct"]["p50"] + STREAM_GAP_S * 1000 / 2, f"streams are relayed, not buffered: TTFB p50 {rep.ttfb_ms['proxy']['p50']:.2f} ms vs {STREAM_GAP_S * 1000 * (len(STREAM) - 1):.0f} ms of stream"),
        (bounded and ok_statuses, f"memory bounded: peak +{growth:.0f} MB for {r['in_flight_payload']:.0f} MB in flight (<= 4x), +{leak:.0f} MB after a second burst (<= 20%), {rep.burst_statuses.get('200', 0)}/200 answered 200"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.proxy_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples (about 30 s)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--serve", choices=["fake", "floor"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--upstream", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve_main(args.serve, args.port, args.upstream)
        return 0
    with servers() as (urls, proxy_pid):
        rep = asyncio.run(measure(urls, proxy_pid, args.quick))
    print(render(rep))
    if args.json:
        args.json.write_text(json.dumps(asdict(rep), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
