"""The route table: which paths the proxy compresses, for which wire, and which provider they go to.

Knows paths, providers and wires; nothing of HTTP clients or compression.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from starlette.datastructures import Headers

from headroom_core import Wire


class Provider(str, Enum):
    """The company whose API a request is for; each has one upstream base URL in Settings."""

    ANTHROPIC = "anthropic"
    OPENAI = "openai"
    GEMINI = "gemini"
    BEDROCK = "bedrock"


# The dialect the proxy's own errors use for requests bound to each provider.
DIALECTS = {
    Provider.ANTHROPIC: Wire.ANTHROPIC,
    Provider.OPENAI: Wire.OPENAI_CHAT,
    Provider.GEMINI: Wire.GEMINI,
    Provider.BEDROCK: Wire.ANTHROPIC,
}


@dataclass(frozen=True, slots=True)
class Route:
    """One kind of request. `wire` is set when its body goes through `compress_request`.

    `provider` None means: decided per request from its headers and path (`provider_for`).
    """

    name: str
    provider: Provider | None
    wire: Wire | None = None

    @property
    def is_compressible(self) -> bool:
        return self.wire is not None


ANTHROPIC_MESSAGES = Route("anthropic.messages", Provider.ANTHROPIC, Wire.ANTHROPIC)
ANTHROPIC_COUNT_TOKENS = Route("anthropic.count_tokens", Provider.ANTHROPIC)
OPENAI_CHAT = Route("openai.chat", Provider.OPENAI, Wire.OPENAI_CHAT)
OPENAI_RESPONSES = Route("openai.responses", Provider.OPENAI, Wire.OPENAI_RESPONSES)
GEMINI_GENERATE = Route("gemini.generate", Provider.GEMINI, Wire.GEMINI)
OPENAI_RESPONSES_WS = Route("openai.responses.ws", Provider.OPENAI, Wire.OPENAI_RESPONSES)
# --backend bedrock: Anthropic Messages sent to Bedrock's InvokeModel (bedrock.py).
BEDROCK_MESSAGES = Route("bedrock.messages", Provider.BEDROCK, Wire.ANTHROPIC)
# A client that already speaks Bedrock: /model/{id}/invoke[-with-response-stream].
BEDROCK_INVOKE = Route("bedrock.invoke", Provider.BEDROCK, Wire.ANTHROPIC)
MODELS = Route("models", None)
PASSTHROUGH = Route("passthrough", None)


def provider_for(route: Route, headers: Headers, path: str) -> Provider:
    """The provider a request goes to. Only the route table and these rules choose it, so no
    request can pick its own upstream host.

    >>> provider_for(PASSTHROUGH, Headers({"anthropic-version": "2023-06-01"}), "/v1/models")
    <Provider.ANTHROPIC: 'anthropic'>
    """
    if route.provider is not None:
        return route.provider
    if "x-goog-api-key" in headers or path.startswith("/v1beta/"):
        return Provider.GEMINI
    if "anthropic-version" in headers or "x-api-key" in headers:
        return Provider.ANTHROPIC
    return Provider.OPENAI


def dialect_for(route: Route, headers: Headers, path: str) -> Wire:
    """The wire format of the caller, for the errors the proxy renders itself."""
    if route.wire is not None:
        return route.wire
    return DIALECTS[provider_for(route, headers, path)]
