"""Speed figures: compress p50 (memo caches cleared, and warm), the cold first call in a fresh
process, and scaling over 10k..1M tokens of mixed content."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import headroom_core
from headroom_core import compress, count_tokens

_ROOT = Path(__file__).resolve().parents[1]


def memo_caches() -> list[Callable[[], None]]:
    """`cache_clear` of every bounded memo in the loaded core modules (lru_cache with a maxsize).

    Unbounded `functools.cache` functions hold loaded resources (the tokenizer's encoding) that
    a long-running proxy loads once; clearing them would time a reload, not compression."""
    out = []
    for name, module in sorted(sys.modules.items()):
        if not name.startswith("headroom_core") or module is None:
            continue
        for attr in vars(module).values():
            info = getattr(attr, "cache_info", None)
            if callable(info) and callable(getattr(attr, "cache_clear", None)) and info().maxsize is not None:
                out.append(attr.cache_clear)
    return out


def p50_ms(messages: list[dict], runs: int, *, warm: bool = False, **options: Any) -> float:
    """Median wall time of `compress(messages)`; with warm=False every memo is cleared first."""
    clears = memo_caches()
    times = []
    compress(messages, **options)  # the same first-use work for both variants (lazy imports, encoding)
    for _ in range(runs):
        if not warm:
            for clear in clears:
                clear()
        t = time.perf_counter()
        compress(messages, **options)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


_COLD = r"""
import json, sys, time
msgs = json.load(open(sys.argv[1]))
t0 = time.perf_counter()
import headroom_core
t1 = time.perf_counter()
r = headroom_core.compress(msgs)
t2 = time.perf_counter()
print(json.dumps({"import_ms": (t1 - t0) * 1000, "first_compress_ms": (t2 - t1) * 1000, "tokens_before": r.tokens_before}))
"""


def cold_first_call(messages: list[dict]) -> dict[str, float]:
    """A fresh interpreter: import headroom_core, then one compress (reading the input is not timed)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(messages, f)
        path = f.name
    try:
        out = subprocess.run([sys.executable, "-c", _COLD, path], capture_output=True, text=True, check=True, cwd=_ROOT)
        return json.loads(out.stdout)
    finally:
        Path(path).unlink(missing_ok=True)


def mixed_conversation(scenarios: list[Any], target_tokens: int) -> list[dict]:
    """An Anthropic session made of the corpus's tool results, repeated until `target_tokens`.

    Copy k of a result gets k trailing newlines: distinct texts (so memo caches cannot answer
    a repeat) that a compressor reads the same way."""
    results: list[str] = []
    for sc in scenarios:
        for m in sc.messages:
            content = m.get("content")
            if m.get("role") == "tool" and isinstance(content, str):
                results.append(content)
            elif isinstance(content, list):
                for b in content:
                    if isinstance(b, dict) and b.get("type") == "tool_result":
                        c = b["content"]
                        results.append(c if isinstance(c, str) else "".join(x.get("text", "") for x in c))
    sizes = [count_tokens(r) for r in results]
    msgs: list[dict] = [{"role": "user", "content": [{"type": "text", "text": "Investigate the failures and report."}]}]
    total, i = 0, 0
    while total < target_tokens:
        k = i // len(results)
        text, n = results[i % len(results)], sizes[i % len(results)]
        if total + n > target_tokens * 1.1:  # trim the last piece so sizes land near the target
            keep = max(1, int(len(text) * (target_tokens - total) / max(n, 1)))
            text = text[:keep]
            n = count_tokens(text)
        text += "\n" * k
        call = f"toolu_scale{i:05d}"
        msgs.append({"role": "assistant", "content": [{"type": "tool_use", "id": call, "name": "Bash", "input": {"command": f"step {i}"}}]})
        msgs.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": call, "content": text}]})
        total += n
        i += 1
    msgs.append({"role": "user", "content": [{"type": "text", "text": "Summarise what failed."}]})
    return msgs


def scaling(scenarios: list[Any], sizes: tuple[int, ...], runs: int) -> list[dict[str, float]]:
    rows = []
    for target in sizes:
        msgs = mixed_conversation(scenarios, target)
        tokens = compress(msgs).tokens_before
        ms = p50_ms(msgs, runs if target <= 100_000 else 1)
        rows.append({"target_tokens": target, "tokens": tokens, "p50_ms": ms, "us_per_token": 1000 * ms / max(tokens, 1)})
    return rows


def incremental(messages: list[dict]) -> dict[str, float]:
    """The proxy's steady state: a session replayed turn by turn, each request the whole history up to
    a user message, compressed after the one before it (memo caches warm, as in a running proxy).

    Memo caches are cleared once before the first request; the per-request p50 is the figure."""
    from .cache_economics import requests

    turns = requests(messages)
    compress(turns[0])  # the same first-use work as p50_ms (lazy imports, the encoding)
    for clear in memo_caches():
        clear()
    times = []
    for msgs in turns:
        t = time.perf_counter()
        compress(msgs)
        times.append((time.perf_counter() - t) * 1000)
    return {
        "requests": len(turns),
        "tokens_last": compress(turns[-1]).tokens_before,
        "p50_ms": statistics.median(times),
        "max_ms": max(times),
        "first_ms": times[0],
    }


def version() -> str:
    return getattr(headroom_core, "__version__", "?")
