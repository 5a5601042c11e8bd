"""AWS Signature Version 4 for one HTTP request: the headers that authenticate it to an AWS service.

The algorithm is AWS's published one (canonical request -> string to sign -> derived key -> HMAC),
written with hashlib and hmac only. Knows nothing of Bedrock beyond the service name it is given,
and nothing of HTTP clients: it maps (method, URL, headers, body, time) to headers. Credentials
are read once, at start-up (`AwsCredentials.from_env`), and their repr never shows a secret.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"


@dataclass(frozen=True, slots=True)
class AwsCredentials:
    """An access key pair and the optional session token of temporary credentials."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AwsCredentials | None:
        """The standard AWS variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN),
        or None when the key pair is not set."""
        key, secret = env.get("AWS_ACCESS_KEY_ID", "").strip(), env.get("AWS_SECRET_ACCESS_KEY", "").strip()
        if not key or not secret:
            return None
        return cls(key, secret, env.get("AWS_SESSION_TOKEN", "").strip() or None)


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signing_key(secret_access_key: str, date: str, region: str, service: str) -> bytes:
    """The derived key: HMAC chain over date (YYYYMMDD), region, service and "aws4_request"."""
    key = _hmac(("AWS4" + secret_access_key).encode(), date)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, "aws4_request")


def canonical_path(path: str, service: str) -> str:
    """The path as signed. Every service but S3 signs the path URI-encoded once more than it is
    sent (so `%3A` on the wire is signed as `%253A`); S3 signs it as sent.

    >>> canonical_path("/model/anthropic.claude-v2%3A1/invoke", "bedrock")
    '/model/anthropic.claude-v2%253A1/invoke'
    """
    path = path or "/"
    if service == "s3":
        return quote(unquote(path), safe="/~")
    return quote(path, safe="/~")


def canonical_query(query: str) -> str:
    """Query parameters URI-encoded and sorted by name, then value.

    >>> canonical_query("b=2&a=x y&A=0")
    'A=0&a=x%20y&b=2'
    """
    pairs = []
    for part in query.split("&") if query else ():
        name, _, value = part.partition("=")
        pairs.append((quote(unquote(name.replace("+", " ")), safe="-_.~"), quote(unquote(value.replace("+", " ")), safe="-_.~")))
    return "&".join(f"{n}={v}" for n, v in sorted(pairs))


def _canonical_headers(headers: Iterable[tuple[str, str]]) -> tuple[str, str]:
    merged: dict[str, list[str]] = {}
    for name, value in headers:
        merged.setdefault(name.strip().lower(), []).append(" ".join(value.strip().split()))
    names = sorted(merged)
    return "".join(f"{n}:{','.join(merged[n])}\n" for n in names), ";".join(names)


def sign(
    method: str,
    url: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    *,
    credentials: AwsCredentials,
    region: str,
    service: str,
    now: datetime.datetime,
) -> dict[str, str]:
    """The headers to add to the request: x-amz-date, x-amz-security-token (with a session token)
    and Authorization. `headers` are the ones to sign besides those; Host is added from `url`
    when missing. Sign every header you send except hop-by-hop ones.

    >>> creds = AwsCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    >>> when = datetime.datetime(2015, 8, 30, 12, 36, tzinfo=datetime.timezone.utc)
    >>> sign("GET", "https://example.amazonaws.com/", [], b"", credentials=creds, region="us-east-1",
    ...      service="service", now=when)["authorization"][-16:]
    '9b8aae1d763fbf31'
    """
    parts = urlsplit(url)
    amz_date = now.astimezone(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    added = {"x-amz-date": amz_date}
    if credentials.session_token:
        added["x-amz-security-token"] = credentials.session_token
    signed = [(k, v) for k, v in headers if k.lower() not in added]
    if not any(k.lower() == "host" for k, _ in signed):
        signed.append(("host", parts.netloc))
    signed += list(added.items())
    canonical_headers, signed_names = _canonical_headers(signed)
    request = "\n".join(
        [
            method.upper(),
            canonical_path(parts.path, service),
            canonical_query(parts.query),
            canonical_headers,
            signed_names,
            _sha256_hex(body),
        ]
    )
    date = amz_date[:8]
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join([ALGORITHM, amz_date, scope, _sha256_hex(request.encode())])
    signature = hmac.new(signing_key(credentials.secret_access_key, date, region, service), to_sign.encode(), hashlib.sha256).hexdigest()
    authorization = f"{ALGORITHM} Credential={credentials.access_key_id}/{scope}, SignedHeaders={signed_names}, Signature={signature}"
    return {**added, "authorization": authorization}
