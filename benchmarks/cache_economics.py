"""Replay a multi-turn agent session turn by turn and price its input like Anthropic prompt caching.

Each turn the client sends its whole history (uncompressed, as it holds it) with one
`cache_control` breakpoint on the system prompt and one on the newest message (what Claude Code
does). The proxy side compresses the request (none / token mode / cache mode, remembering what it
sent compressed, as the proxy does, so cache mode resends it the same way) and the provider side
is simulated:

- the prompt is the sequence tools -> system blocks -> message blocks; a prefix is cached when
  a breakpoint ends it, and read back when a later request's bytes up to one of its block
  boundaries (at most 20 blocks before a breakpoint) are identical to a prefix written before
  and not expired (5-minute TTL, refreshed on each read);
- tokens read from cache cost 0.1x, tokens written (from the hit to the last breakpoint) 1.25x,
  tokens after the last breakpoint 1x; prompts under 1,024 tokens are not cached;
- turns are `TURN_SPACING_S` apart (under the TTL), so any re-write is a bust, not an expiry.

Token counts are o200k_base counts of each block's JSON (headroom_core.count_tokens).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from headroom_core import compress_request, count_tokens

BASE, WRITE, READ = 1.0, 1.25, 0.1
TTL_S = 300
TURN_SPACING_S = 40
LOOKBACK_BLOCKS = 20
MIN_CACHEABLE_TOKENS = 1024
USD_PER_MTOK = 3.0  # Claude Sonnet base input price, for a readable dollar figure

_TOOL_TEXT = (
    "Runs the given command and returns its output. Use it for git, package managers, test runners and "
    "other terminal work; prefer the dedicated file tools for reading and editing files. Commands time out "
    "after two minutes; output longer than 30000 characters is truncated. Quote paths that contain spaces. "
)
TOOLS = [
    {
        "name": name,
        "description": f"{name}: " + _TOOL_TEXT * 4,
        "input_schema": {"type": "object", "properties": {p: {"type": "string", "description": f"The {p} to use."} for p in props},
                         "required": list(props[:1])},
    }
    for name, props in (
        ("Bash", ("command", "description", "timeout")), ("Read", ("file_path", "offset", "limit")),
        ("Edit", ("file_path", "old_string", "new_string")), ("Write", ("file_path", "content")),
        ("Grep", ("pattern", "path", "glob")), ("Glob", ("pattern", "path")), ("WebFetch", ("url", "prompt")),
    )
]
SYSTEM_TEXT = (
    "You are an interactive coding agent. Follow the repository's conventions, read before you edit, run the "
    "tests after a change and report exactly what you ran. Never invent file contents or command output. "
) * 30


@dataclass
class Turn:
    sent_tokens: int
    read: int
    write: int
    base: int
    cost: float
    busted: bool


@dataclass
class Bill:
    mode: str
    turns: list[Turn] = field(default_factory=list)

    @property
    def cost(self) -> float:
        return sum(t.cost for t in self.turns)

    def summary(self, baseline: float | None = None) -> dict[str, Any]:
        out = {
            "mode": self.mode,
            "turns": len(self.turns),
            "sent_tokens": sum(t.sent_tokens for t in self.turns),
            "cache_read_tokens": sum(t.read for t in self.turns),
            "cache_write_tokens": sum(t.write for t in self.turns),
            "uncached_tokens": sum(t.base for t in self.turns),
            "busted_turns": sum(t.busted for t in self.turns),
            "cost_token_equivalents": round(self.cost, 1),
            "cost_usd": round(self.cost * USD_PER_MTOK / 1e6, 4),
        }
        if baseline:
            out["cost_vs_uncompressed"] = round(self.cost / baseline, 4)
        return out


def requests(messages: list[dict]) -> list[list[dict]]:
    """The message list the client sends at each turn: history up to each user message."""
    from .corpus import mark_newest

    out = []
    for i, m in enumerate(messages):
        if m.get("role") == "user" and i > 0:
            msgs = json.loads(json.dumps(messages[: i + 1]))
            mark_newest(msgs)
            out.append(msgs)
    return out


def body(messages: list[dict]) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 4096,
        "system": [{"type": "text", "text": SYSTEM_TEXT, "cache_control": {"type": "ephemeral"}}],
        "tools": TOOLS,
        "messages": messages,
    }


def replay(messages: list[dict], mode: str | None) -> Bill:
    """Send the session turn by turn; mode None sends it uncompressed."""
    bill = Bill(mode or "none")
    cache: dict[str, float] = {}  # prefix hash -> expiry time
    last_written = 0  # blocks up to the previous request's last breakpoint
    sent_compressed: set[str] = set()  # what the proxy keeps per caller (its store does the same)
    for n, msgs in enumerate(requests(messages)):
        now = n * TURN_SPACING_S
        b = body(msgs)
        if mode is not None:
            result = compress_request(b, wire="anthropic", mode=mode, previously_compressed=sent_compressed)
            sent_compressed |= result.compressed_ids
            b = result.body
        blocks = _blocks(b)
        tokens = [count_tokens(text) for text, _ in blocks]
        hashes, h = [], hashlib.blake2b(digest_size=16)
        for text, _ in blocks:
            h.update(text.encode())
            hashes.append(h.copy().hexdigest())
        breakpoints = [i for i, (_, bp) in enumerate(blocks) if bp]
        total = sum(tokens)
        if not breakpoints or total < MIN_CACHEABLE_TOKENS:
            bill.turns.append(Turn(total, 0, 0, total, total * BASE, False))
            continue
        hit = -1
        for bp in breakpoints:
            for i in range(bp, max(-1, bp - LOOKBACK_BLOCKS - 1), -1):
                if cache.get(hashes[i], -1) >= now:
                    hit = max(hit, i)
                    break
        if hit >= 0:
            cache[hashes[hit]] = now + TTL_S
        last_bp = breakpoints[-1]
        read = sum(tokens[: hit + 1])
        write = sum(tokens[hit + 1 : last_bp + 1])
        base = sum(tokens[last_bp + 1 :])
        for bp in breakpoints:
            cache[hashes[bp]] = now + TTL_S
        busted = n > 0 and hit + 1 < last_written
        last_written = last_bp + 1
        bill.turns.append(Turn(total, read, write, base, read * READ + write * WRITE + base * BASE, busted))
    return bill


def _blocks(b: dict[str, Any]) -> list[tuple[str, bool]]:
    """(serialized block, carries a breakpoint) in the provider's cache order: tools, system, messages."""
    out: list[tuple[str, bool]] = []
    for tool in b.get("tools") or ():
        out.append((json.dumps(tool, sort_keys=True), "cache_control" in tool))
    system = b.get("system")
    if isinstance(system, str):
        out.append((system, False))
    for block in system if isinstance(system, list) else ():
        out.append((_dump(block), "cache_control" in block))
    for m in b["messages"]:
        content = m.get("content")
        if isinstance(content, str):
            out.append((f"{m['role']}:{content}", False))
            continue
        for j, block in enumerate(content or ()):
            prefix = f"{m['role']}:" if j == 0 else ""
            out.append((prefix + _dump(block), isinstance(block, dict) and "cache_control" in block))
    return out


def _dump(block: Any) -> str:
    if isinstance(block, dict):
        block = {k: v for k, v in block.items() if k != "cache_control"}
    return json.dumps(block, sort_keys=True, ensure_ascii=False)


def run(messages: list[dict]) -> dict[str, Any]:
    """Bills for no compression, token mode and cache mode, with per-turn detail."""
    bills = [replay(messages, None), replay(messages, "token"), replay(messages, "cache")]
    baseline = bills[0].cost
    return {
        "turns": len(bills[0].turns),
        "turn_spacing_s": TURN_SPACING_S,
        "ttl_s": TTL_S,
        "prices": {"base": BASE, "cache_write": WRITE, "cache_read": READ},
        "sessions": [b.summary(baseline) for b in bills],
        "per_turn": {b.mode: [asdict(t) for t in b.turns] for b in bills},
    }
