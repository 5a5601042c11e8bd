"""Which headers cross the proxy, each way. Knows HTTP header rules, nothing of routes or bodies.

Towards the provider: the client's own headers (credentials, anthropic-version, anthropic-beta,
openai-beta, unknown ones) in their order, minus hop-by-hop headers, Host and Content-Length (the
client library recomputes them), Accept-Encoding (the proxy asks for what it can decode) and every
`x-headroom-*` header (they are for the proxy, never for the provider).
Towards the client: the provider's headers minus hop-by-hop ones, Content-Length (the relay may be
decoded or filtered) and Content-Encoding when the proxy decoded the body.
"""

from __future__ import annotations

from typing import Iterable

# RFC 9110 section 7.6.1 connection-specific fields, plus the proxy-only ones.
_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
_REQUEST_DROPPED = _HOP_BY_HOP | {b"host", b"content-length", b"accept-encoding"}
_RESPONSE_DROPPED = _HOP_BY_HOP | {b"content-length"}
_OWN_PREFIX = b"x-headroom-"

# The codings httpx decodes with the standard library alone; the proxy asks for no others.
ACCEPT_ENCODING = b"gzip, deflate"
_DECODED = frozenset({"gzip", "deflate", "identity"})

RawHeaders = list[tuple[bytes, bytes]]


def _connection_tokens(raw: Iterable[tuple[bytes, bytes]]) -> frozenset[bytes]:
    """Header names the Connection header declares hop-by-hop."""
    return frozenset(
        token.strip().lower() for name, value in raw if name.lower() == b"connection" for token in value.split(b",")
    )


def upstream_headers(raw: Iterable[tuple[bytes, bytes]], *, is_body_decoded: bool = False) -> RawHeaders:
    """The request headers to send upstream, in the client's order.

    `is_body_decoded`: the proxy decoded the client's Content-Encoding, so that header goes too.

    >>> upstream_headers([(b"x-api-key", b"k"), (b"host", b"h"), (b"x-headroom-bypass", b"1")])
    [(b'x-api-key', b'k'), (b'accept-encoding', b'gzip, deflate')]
    """
    raw = list(raw)
    dropped = _REQUEST_DROPPED | _connection_tokens(raw)
    if is_body_decoded:
        dropped = dropped | {b"content-encoding"}
    out = [(k, v) for k, v in raw if (name := k.lower()) not in dropped and not name.startswith(_OWN_PREFIX)]
    out.append((b"accept-encoding", ACCEPT_ENCODING))
    return out


def is_decodable(content_encoding: str | None) -> bool:
    """True when httpx decodes this Content-Encoding itself (so the client must not see the header)."""
    if not content_encoding:
        return True
    return all(c.strip().lower() in _DECODED for c in content_encoding.split(","))


def client_headers(raw: Iterable[tuple[bytes, bytes]]) -> RawHeaders:
    """The response headers to relay to the client, in the provider's order.

    >>> client_headers([(b"content-encoding", b"gzip"), (b"request-id", b"r1"), (b"content-length", b"9")])
    [(b'request-id', b'r1')]
    """
    raw = list(raw)
    dropped = _RESPONSE_DROPPED | _connection_tokens(raw)
    encoding = next((v.decode("latin-1") for k, v in raw if k.lower() == b"content-encoding"), None)
    if is_decodable(encoding):
        dropped = dropped | {b"content-encoding"}
    return [(k, v) for k, v in raw if k.lower() not in dropped]
