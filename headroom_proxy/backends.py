"""`--backend`: where Anthropic- and OpenAI-format requests go, checked once at start-up.

    anthropic         each request goes to its own provider's target URL (the default)
    openrouter        OpenRouter speaks both formats itself (Anthropic Messages at /api/v1/messages,
                      OpenAI at /api/v1/...): the Anthropic and OpenAI targets default to it, and
                      nothing is translated
    bedrock           /v1/messages goes to Bedrock's InvokeModel, signed with SigV4 (bedrock.py)
    anyllm            needs the `any-llm-sdk` package; litellm-<provider> needs `litellm`.
                      Neither is bundled: without the package the proxy refuses to start and
                      names it; docs/backends.md says what they would need.

Knows the backend names and the upstream base URLs they imply, nothing of forwarding.
"""

from __future__ import annotations

import importlib.util

from .routes import Provider
from .settings import (
    BACKENDS,
    DEFAULT_ANTHROPIC_URL,
    DEFAULT_OPENAI_URL,
    Settings,
    SettingsError,
)

OPENROUTER_URL = "https://openrouter.ai/api"

# backend prefix -> (module to import, package to install)
_LIBRARIES = {"anyllm": ("any_llm", "any-llm-sdk"), "litellm": ("litellm", "litellm")}


def upstream_bases(settings: Settings) -> dict[Provider, str]:
    """The target URL of each provider under the configured backend (before `/v1` trimming).

    >>> upstream_bases(Settings(backend="openrouter"))[Provider.ANTHROPIC]
    'https://openrouter.ai/api'
    """
    anthropic, openai = settings.anthropic_api_url, settings.openai_api_url
    if settings.backend == "openrouter":
        # An explicitly configured target wins; only the providers' defaults are replaced.
        anthropic = OPENROUTER_URL if anthropic == DEFAULT_ANTHROPIC_URL else anthropic
        openai = OPENROUTER_URL if openai == DEFAULT_OPENAI_URL else openai
    return {
        Provider.ANTHROPIC: anthropic,
        Provider.OPENAI: openai,
        Provider.GEMINI: settings.gemini_api_url,
        Provider.BEDROCK: settings.bedrock_url,
    }


def check_backend(settings: Settings) -> None:
    """Refuse to start with a backend the proxy cannot serve, naming what is missing."""
    backend = settings.backend
    if backend in ("anthropic", "openrouter"):
        return
    if backend == "bedrock":
        if settings.aws_credentials is None:
            raise SettingsError(
                "backend='bedrock': expected AWS credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                "(and AWS_SESSION_TOKEN for temporary ones), found none"
            )
        return
    family = backend.split("-", 1)[0]
    if family not in _LIBRARIES or (family == "litellm" and backend == "litellm"):
        raise SettingsError(f"backend={backend!r}: expected one of {', '.join(BACKENDS)} or litellm-<provider>")
    module, package = _LIBRARIES[family]
    if importlib.util.find_spec(module) is None:
        raise SettingsError(f"backend={backend!r} needs the {package!r} package: pip install {package} (see docs/backends.md)")
    raise SettingsError(
        f"backend={backend!r}: {package} is installed, but this version of headroom does not drive it yet; "
        "use anthropic, openrouter or bedrock (see docs/backends.md)"
    )
