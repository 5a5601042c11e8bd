from __future__ import annotations

from headroom_proxy.headers import client_headers, upstream_headers


def test_request_headers_keep_order_and_duplicates_and_drop_hop_by_hop() -> None:
    raw = [
        (b"Authorization", b"Bearer sk"),
        (b"X-Multi", b"1"),
        (b"Host", b"proxy"),
        (b"Connection", b"close, X-Secret-Hop"),
        (b"X-Secret-Hop", b"v"),
        (b"X-Multi", b"2"),
        (b"Transfer-Encoding", b"chunked"),
        (b"X-Headroom-Token", b"t"),
        (b"Content-Encoding", b"gzip"),
    ]
    assert upstream_headers(raw, is_body_decoded=True) == [
        (b"Authorization", b"Bearer sk"),
        (b"X-Multi", b"1"),
        (b"X-Multi", b"2"),
        (b"accept-encoding", b"gzip, deflate"),
    ]


def test_response_keeps_an_encoding_httpx_cannot_decode() -> None:
    raw = [(b"content-encoding", b"br"), (b"set-cookie", b"a=1"), (b"transfer-encoding", b"chunked")]
    assert client_headers(raw) == [(b"content-encoding", b"br"), (b"set-cookie", b"a=1")]
