"""`headroom proxy`: start the local compressing proxy.

Every option also has an environment variable (the seed's `HEADROOM_*` names, shown in --help);
a flag given on the command line wins over the variable, which wins over the default.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import click

# option name -> (Settings field, or "config." + Config field); flags only count when given.
_PROXY_FIELDS = {
    "host": "host",
    "port": "port",
    "workers": "workers",
    "limit_concurrency": "limit_concurrency",
    "max_connections": "max_connections",
    "max_keepalive": "max_keepalive",
    "log_file": "log_file",
    "stateless": "stateless",
    "anthropic_api_url": "anthropic_api_url",
    "openai_api_url": "openai_api_url",
    "gemini_api_url": "gemini_api_url",
    "backend": "backend",
    "bedrock_api_url": "bedrock_api_url",
    "region": "region",
}


@click.command("proxy")
@click.option("--host", help="Host to bind to.  [default: 127.0.0.1; env HEADROOM_HOST]")
@click.option("--port", type=int, help="Port to bind to.  [default: 8787; env HEADROOM_PORT]")
@click.option("--workers", type=click.IntRange(min=1), help="Uvicorn worker processes.  [default: 1; env HEADROOM_WORKERS]")
@click.option("--limit-concurrency", type=click.IntRange(min=1), help="Concurrent connections before 503.  [default: 1000; env HEADROOM_LIMIT_CONCURRENCY]")
@click.option("--max-connections", type=click.IntRange(min=1), help="Upstream connections.  [default: 500; env HEADROOM_MAX_CONNECTIONS]")
@click.option("--max-keepalive", type=click.IntRange(min=0), help="Upstream keep-alive connections.  [default: 100; env HEADROOM_MAX_KEEPALIVE]")
@click.option("--no-optimize", is_flag=True, default=None, help="Passthrough: forward every request untouched.")
@click.option("--log-file", type=click.Path(dir_okay=False), help="Write one JSON line per request here.  [env HEADROOM_LOG_FILE]")
@click.option("--stateless", is_flag=True, default=None, help="Write nothing to disk.  [env HEADROOM_STATELESS]")
@click.option("--mode", type=click.Choice(["token", "cache"]), help="token: compress all eligible content; cache: only the newest turn.  [default: token; env HEADROOM_MODE]")
@click.option("--target-ratio", type=click.FloatRange(0, 1, min_open=True), help="Fraction of tokens lossy compressors keep.  [env HEADROOM_TARGET_RATIO]")
@click.option("--intercept-tool-results", is_flag=True, default=None, help="Answer the first read of a large code file with its outline.")
@click.option("--no-read-lifecycle", is_flag=True, default=None, help="Keep stale and superseded file reads as they are.")
@click.option("--code-aware/--no-code-aware", default=None, help="tree-sitter outlines for code (the `code` extra).  [env HEADROOM_CODE_AWARE_ENABLED]")
@click.option("--lossless", is_flag=True, default=None, help="Only reversible rewrites, no markers.  [env HEADROOM_LOSSLESS]")
@click.option("--no-ccr-inject-tool", is_flag=True, default=None, help="Do not add the headroom_retrieve tool.  [env HEADROOM_NO_CCR_INJECT_TOOL]")
@click.option("--protect-tool-results", help="Comma-separated tool names never lossy-compressed.  [env HEADROOM_PROTECT_TOOL_RESULTS]")
@click.option("--anthropic-api-url", help="Anthropic upstream.  [env ANTHROPIC_TARGET_API_URL]")
@click.option("--openai-api-url", help="OpenAI upstream.  [env OPENAI_TARGET_API_URL]")
@click.option("--gemini-api-url", help="Gemini upstream.  [env GEMINI_TARGET_API_URL]")
@click.option("--backend", help="anthropic, openrouter, bedrock, anyllm or litellm-<provider> (docs/backends.md).  [default: anthropic; env HEADROOM_BACKEND]")
@click.option("--bedrock-api-url", help="Bedrock runtime endpoint.  [default: the region's; env BEDROCK_TARGET_API_URL]")
@click.option("--region", help="AWS region for Bedrock.  [default: us-west-2; env HEADROOM_REGION]")
def proxy_cmd(**options: Any) -> None:
    """Start the compressing proxy. Point clients at it:

    \b
      ANTHROPIC_BASE_URL=http://localhost:8787 claude
      OPENAI_BASE_URL=http://localhost:8787/v1 your-app
    """
    try:
        from headroom_proxy import Settings, SettingsError, create_app
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise click.ClickException(f"the proxy needs the proxy extra: pip install 'headroom[proxy]' ({exc})") from None
    try:
        settings = settings_from(options, Settings.from_env(os.environ))
        app = create_app(settings)  # refuses unsafe or unusable settings; writes nothing
    except (SettingsError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    from .banner import print_banner
    from .serve import serve

    print_banner(settings)
    serve(settings, app)


def settings_from(options: dict[str, Any], base: Any) -> Any:
    """Apply the flags the user gave on top of settings read from the environment."""
    from headroom_proxy.settings import parse_backend

    proxy = {field: options[name] for name, field in _PROXY_FIELDS.items() if options.get(name) is not None}
    if "backend" in proxy:
        proxy["backend"] = parse_backend("--backend", proxy["backend"])
    if options.get("no_optimize"):
        proxy["optimize"] = False
    if options.get("no_ccr_inject_tool"):
        proxy["inject_retrieve_tool"] = False
    core: dict[str, Any] = {}
    for name in ("mode", "target_ratio", "code_aware", "lossless", "intercept_tool_results"):
        if options.get(name) is not None:
            core[name] = options[name]
    if options.get("no_read_lifecycle"):
        core["read_lifecycle"] = False
    if options.get("protect_tool_results") is not None:
        core["protect_tools"] = frozenset(n.strip() for n in options["protect_tool_results"].split(",") if n.strip())
    return dataclasses.replace(base, **proxy, config=dataclasses.replace(base.config, **core))
