"""The proxy's options: one frozen record, read from the environment or the CLI once, at start-up."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from headroom_core import Config, Mode

from .sigv4 import AwsCredentials

DEFAULT_ANTHROPIC_URL = "https://api.anthropic.com"
DEFAULT_OPENAI_URL = "https://api.openai.com"
DEFAULT_GEMINI_URL = "https://generativelanguage.googleapis.com"
DEFAULT_REGION = "us-west-2"
# --backend values besides litellm-<provider>; docs/backends.md says what each one does.
BACKENDS = ("anthropic", "openrouter", "bedrock", "anyllm")

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class SettingsError(ValueError):
    """An option or environment variable has a value the proxy cannot use; the message names it."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Every proxy option. `config` holds the core's options; the rest belongs to the proxy."""

    host: str = "127.0.0.1"
    port: int = 8787
    workers: int = 1
    limit_concurrency: int = 1000
    max_connections: int = 500
    max_keepalive: int = 100
    optimize: bool = True                      # --no-optimize: pure passthrough
    log_file: str | None = None
    stateless: bool = False
    home: str = field(default_factory=lambda: str(Path("~/.headroom").expanduser()))
    anthropic_api_url: str = DEFAULT_ANTHROPIC_URL
    openai_api_url: str = DEFAULT_OPENAI_URL
    gemini_api_url: str = DEFAULT_GEMINI_URL
    # Where Anthropic- and OpenAI-format requests go (docs/backends.md): anthropic (as addressed),
    # openrouter, bedrock, anyllm, litellm-<provider>.
    backend: str = "anthropic"
    bedrock_api_url: str | None = None         # None: https://bedrock-runtime.{region}.amazonaws.com
    region: str = DEFAULT_REGION
    # Read once from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN; never rendered.
    aws_credentials: AwsCredentials | None = field(default=None, repr=False, compare=False)
    inject_retrieve_tool: bool = True          # --no-ccr-inject-tool turns it off
    # The store of originals (store.py): kept at least this long after last use, oldest out first
    # above the byte cap; and how many hidden retrieve rounds one request may take (retrieval.py).
    store_ttl_s: float = 24 * 3600.0
    store_max_bytes: int = 256 * 1024 * 1024
    max_retrieval_rounds: int = 3
    proxy_token: str | None = None             # HEADROOM_PROXY_TOKEN; required off loopback
    # Above max_body_bytes a request is refused with 413. Above max_compress_bytes it is not
    # buffered or compressed: it streams upstream as it arrives, so memory stays bounded.
    max_body_bytes: int = 64 * 1024 * 1024
    max_compress_bytes: int = 16 * 1024 * 1024
    connect_timeout_s: float = 10.0
    # Between two chunks of a response, not for the whole stream: a long stream is never capped.
    read_timeout_s: float = 600.0
    # Retries happen only before the upstream accepted the request (connect errors, 429/529/503).
    max_retries: int = 2
    max_retry_wait_s: float = 30.0             # a longer Retry-After goes straight to the client
    retry_backoff_s: float = 0.5               # first wait when the upstream gave no Retry-After
    keepalive_expiry_s: float = 90.0
    config: Config = field(default_factory=Config)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> "Settings":
        """Settings from `HEADROOM_*` (and the upstream URL) variables, then explicit overrides."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for name, (var, parse) in _ENV.items():
            if var in env:
                values[name] = parse(var, env[var])
        core: dict[str, object] = {}
        for name, (var, parse) in _CORE_ENV.items():
            if var in env:
                core[name] = parse(var, env[var])
        if "HEADROOM_HOME" in env:
            values["home"] = str(Path(env["HEADROOM_HOME"]).expanduser())
        values["aws_credentials"] = AwsCredentials.from_env(env)
        config = overrides.pop("config", None)
        base = cls(**values)
        cfg = dataclasses.replace(config if isinstance(config, Config) else base.config, **core)
        return dataclasses.replace(base, config=cfg, **overrides)

    def to_env(self) -> dict[str, str]:
        """These settings as environment variables, so worker processes build the same ones."""
        out = {"HEADROOM_HOME": self.home}
        for table, source in ((_ENV, self), (_CORE_ENV, self.config)):
            for name, (var, parse) in table.items():
                value = getattr(source, name)
                if value is not None:
                    out[var] = _render(value, negated=getattr(parse, "is_negated", False))
        return out

    @property
    def bedrock_url(self) -> str:
        """The Bedrock runtime endpoint: --bedrock-api-url, else the region's public one."""
        return self.bedrock_api_url or f"https://bedrock-runtime.{self.region}.amazonaws.com"

    @property
    def is_loopback(self) -> bool:
        return self.host in ("127.0.0.1", "localhost", "::1") or self.host.startswith("127.")

    @property
    def state_dir(self) -> Path | None:
        """Where components may keep state (HEADROOM_HOME); None under --stateless, which writes nothing."""
        return None if self.stateless else Path(self.home)


def parse_bool(var: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{var}={raw!r}: expected a boolean (1/0, true/false, yes/no, on/off)")


def parse_int(var: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{var}={raw!r}: expected an integer") from None


def parse_float(var: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{var}={raw!r}: expected a number") from None


def parse_str(_var: str, raw: str) -> str:
    return raw


def parse_mode(var: str, raw: str) -> Mode:
    try:
        return Mode(raw.strip().lower())
    except ValueError:
        raise SettingsError(f"{var}={raw!r}: expected token or cache") from None


def parse_backend(var: str, raw: str) -> str:
    value = raw.strip().lower()
    if value in BACKENDS or value.startswith(("litellm-", "anyllm-")) and len(value.split("-", 1)[1]) > 0:
        return value
    raise SettingsError(f"{var}={raw!r}: expected one of {', '.join(BACKENDS)} or litellm-<provider>")


def parse_names(_var: str, raw: str) -> frozenset[str]:
    return frozenset(name.strip() for name in raw.split(",") if name.strip())


def parse_not(parse):  # type: ignore[no-untyped-def]
    """For variables that name the negative of a field (HEADROOM_NO_CCR_INJECT_TOOL)."""

    def negated(var: str, raw: str) -> bool:
        return not parse(var, raw)

    negated.is_negated = True  # type: ignore[attr-defined]
    return negated


def _render(value: object, *, negated: bool) -> str:
    if isinstance(value, bool):
        return "1" if value != negated else "0"
    if isinstance(value, Mode):
        return value.value
    if isinstance(value, frozenset):
        return ",".join(sorted(value))
    return str(value)


# field -> (environment variable, parser); the seed's names.
_ENV = {
    "host": ("HEADROOM_HOST", parse_str),
    "port": ("HEADROOM_PORT", parse_int),
    "workers": ("HEADROOM_WORKERS", parse_int),
    "limit_concurrency": ("HEADROOM_LIMIT_CONCURRENCY", parse_int),
    "max_connections": ("HEADROOM_MAX_CONNECTIONS", parse_int),
    "max_keepalive": ("HEADROOM_MAX_KEEPALIVE", parse_int),
    "log_file": ("HEADROOM_LOG_FILE", parse_str),
    "stateless": ("HEADROOM_STATELESS", parse_bool),
    "anthropic_api_url": ("ANTHROPIC_TARGET_API_URL", parse_str),
    "openai_api_url": ("OPENAI_TARGET_API_URL", parse_str),
    "gemini_api_url": ("GEMINI_TARGET_API_URL", parse_str),
    "backend": ("HEADROOM_BACKEND", parse_backend),
    "bedrock_api_url": ("BEDROCK_TARGET_API_URL", parse_str),
    "region": ("HEADROOM_REGION", parse_str),
    "inject_retrieve_tool": ("HEADROOM_NO_CCR_INJECT_TOOL", parse_not(parse_bool)),
    "proxy_token": ("HEADROOM_PROXY_TOKEN", parse_str),
    "store_ttl_s": ("HEADROOM_CCR_TTL_SECONDS", parse_float),
    "store_max_bytes": ("HEADROOM_CCR_MAX_BYTES", parse_int),
    "max_retrieval_rounds": ("HEADROOM_CCR_MAX_ROUNDS", parse_int),
    # Not in the seed's tables (it gives these flags no variable); needed to hand them to workers.
    "optimize": ("HEADROOM_NO_OPTIMIZE", parse_not(parse_bool)),
}

_CORE_ENV = {
    "mode": ("HEADROOM_MODE", parse_mode),
    "target_ratio": ("HEADROOM_TARGET_RATIO", parse_float),
    "code_aware": ("HEADROOM_CODE_AWARE_ENABLED", parse_bool),
    "lossless": ("HEADROOM_LOSSLESS", parse_bool),
    "protect_tools": ("HEADROOM_PROTECT_TOOL_RESULTS", parse_names),
    "read_lifecycle": ("HEADROOM_NO_READ_LIFECYCLE", parse_not(parse_bool)),
    "intercept_tool_results": ("HEADROOM_INTERCEPT_TOOL_RESULTS", parse_bool),
}

ENV_VARS: Mapping[str, str] = {**{k: v[0] for k, v in _ENV.items()}, **{k: v[0] for k, v in _CORE_ENV.items()}}
