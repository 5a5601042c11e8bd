"""The start-up banner: where the proxy listens and the configuration in effect."""

from __future__ import annotations

from typing import Any

from headroom_core import __version__


def banner_rows(settings: Any) -> list[tuple[str, str]]:
    cfg = settings.config
    base = f"http://{settings.host}:{settings.port}"
    return [
        ("listening", base),
        ("Claude Code", f"ANTHROPIC_BASE_URL={base} claude"),
        ("OpenAI clients", f"OPENAI_BASE_URL={base}/v1"),
        ("optimize", "on" if settings.optimize else "off (passthrough)"),
        ("mode", cfg.mode.value),
        ("lossless", "on" if cfg.lossless else "off"),
        ("target ratio", "default" if cfg.target_ratio is None else f"{cfg.target_ratio:g}"),
        ("code aware", "on" if cfg.code_aware else "off"),
        ("read lifecycle", "on" if cfg.read_lifecycle else "off"),
        ("intercept tool results", "on" if cfg.intercept_tool_results else "off"),
        ("retrieve tool", "injected" if settings.inject_retrieve_tool else "not injected"),
        ("protected tools", ", ".join(sorted(cfg.protect_tools)) or "none"),
        ("upstreams", f"anthropic {settings.anthropic_api_url} · openai {settings.openai_api_url} · gemini {settings.gemini_api_url}"),
        ("state", "stateless (nothing on disk)" if settings.stateless else settings.home),
        ("log file", settings.log_file or "none"),
        ("workers", f"{settings.workers} · up to {settings.limit_concurrency} connections · upstream pool {settings.max_connections}/{settings.max_keepalive} keep-alive"),
    ]


def print_banner(settings: Any) -> None:
    from rich.console import Console
    from rich.panel import Panel
    from rich.table import Table

    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", justify="right")
    table.add_column()
    for name, value in banner_rows(settings):
        table.add_row(name, value)
    Console(stderr=True).print(Panel(table, title=f"headroom proxy {__version__}", title_align="left", expand=False))
