"""`headroom compress`: compress a message list or request body from a file or stdin."""

from __future__ import annotations

import json
import sys

import click

from headroom_core import Action, HeadroomError, Wire, compress, compress_request, detect_wire


def wire_of(value: object) -> Wire | None:
    """The wire format of a decoded JSON document, or None for a bare message list."""
    if isinstance(value, list):
        return None
    if isinstance(value, dict):
        if "contents" in value:
            return Wire.GEMINI
        if "input" in value:
            return Wire.OPENAI_RESPONSES
        if isinstance(value.get("messages"), list):
            return detect_wire(value["messages"])
    raise click.UsageError("expected a JSON message list or a request body with 'messages', 'input' or 'contents'")


@click.command("compress")
@click.argument("source", type=click.File("r", encoding="utf-8"), default="-")
@click.option("--wire", type=click.Choice([w.value for w in Wire]), help="Request format (detected when omitted).")
@click.option("--model", help="Model name, for the token encoding.")
@click.option("--mode", type=click.Choice(["token", "cache"]), default="token", show_default=True)
@click.option("--lossless", is_flag=True, help="Only reversible rewrites, no markers.")
@click.option("--target-ratio", type=click.FloatRange(0, 1, min_open=True), help="Fraction of tokens lossy compressors keep.")
@click.option("--protect-tool-results", default="", help="Comma-separated tool names never lossy-compressed.")
@click.option("--no-ccr", is_flag=True, help="Markers without retrieval ids.")
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-", help="Where the compressed JSON goes.")
@click.option("--stats/--no-stats", default=True, help="Print a summary to stderr.")
def compress_cmd(
    source, wire, model, mode, lossless, target_ratio, protect_tool_results, no_ccr, output, stats
) -> None:  # type: ignore[no-untyped-def]
    """Compress SOURCE (a JSON file, or - for stdin) and write the result as JSON."""
    try:
        value = json.load(source)
    except json.JSONDecodeError as exc:
        raise click.UsageError(f"{source.name}: not JSON ({exc})") from None
    options = dict(
        mode=mode,
        lossless=lossless,
        target_ratio=target_ratio,
        protect_tools=frozenset(n.strip() for n in protect_tool_results.split(",") if n.strip()),
        ccr=not no_ccr,
    )
    try:
        chosen = Wire(wire) if wire else wire_of(value)
        if chosen is None:
            result = compress(value, model=model, **options)
            out = result.messages
        else:
            result = compress_request(value, wire=chosen, model=model, **options)
            out = result.body
    except HeadroomError as exc:
        raise click.ClickException(str(exc)) from None
    json.dump(out, output, ensure_ascii=False)
    output.write("\n")
    if stats:
        _print_stats(result)


def _print_stats(result) -> None:  # type: ignore[no-untyped-def]
    from rich.console import Console
    from rich.table import Table

    table = Table(title="headroom compress", title_justify="left")
    for name in ("where", "kind", "action", "tokens", "reason"):
        table.add_column(name, justify="right" if name == "tokens" else "left")
    for d in result.decisions:
        if d.action is Action.KEPT and d.tokens_before < 200:
            continue
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in d.path)
        tokens = f"{d.tokens_before} -> {d.tokens_after}" if d.tokens_after != d.tokens_before else str(d.tokens_before)
        table.add_row(where, d.kind.value, d.action.value, tokens, d.reason)
    console = Console(file=sys.stderr)
    console.print(table)
    saved = result.tokens_before - result.tokens_after
    share = saved / result.tokens_before if result.tokens_before else 0.0
    console.print(f"tokens {result.tokens_before} -> {result.tokens_after}: [bold]{saved} saved ({share:.0%})[/bold]")
