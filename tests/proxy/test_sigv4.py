"""SigV4 against AWS's published known answers (aws-sig-v4-test-suite and the S3 GET Object example)."""

from __future__ import annotations

import datetime

import pytest

from headroom_proxy.sigv4 import AwsCredentials, canonical_path, sign

SUITE = AwsCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
SUITE_TIME = datetime.datetime(2015, 8, 30, 12, 36, tzinfo=datetime.timezone.utc)
SUITE_PREFIX = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature="


@pytest.mark.parametrize(
    ("method", "url", "signature"),
    [
        ("GET", "https://example.amazonaws.com/", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),  # get-vanilla
        (
            "GET",
            "https://example.amazonaws.com/?Param2=value2&Param1=value1",  # get-vanilla-query-order-key-case
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        ),
        ("POST", "https://example.amazonaws.com/", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),  # post-vanilla
    ],
)
def test_aws_test_suite(method: str, url: str, signature: str) -> None:
    added = sign(method, url, [], b"", credentials=SUITE, region="us-east-1", service="service", now=SUITE_TIME)
    assert added == {"x-amz-date": "20150830T123600Z", "authorization": SUITE_PREFIX + signature}


def test_s3_get_object_example() -> None:
    credentials = AwsCredentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    headers = [("Range", "bytes=0-9"), ("x-amz-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    when = datetime.datetime(2013, 5, 24, tzinfo=datetime.timezone.utc)
    added = sign("GET", "https://examplebucket.s3.amazonaws.com/test.txt", headers, b"", credentials=credentials, region="us-east-1", service="s3", now=when)
    assert added["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )


def test_session_token_is_sent_and_signed() -> None:
    credentials = AwsCredentials("AKIDEXAMPLE", "secret", "token-1")
    added = sign("POST", "https://bedrock-runtime.us-west-2.amazonaws.com/model/m/invoke", [("content-type", "application/json")], b"{}",
                 credentials=credentials, region="us-west-2", service="bedrock", now=SUITE_TIME)  # fmt: skip
    assert added["x-amz-security-token"] == "token-1"
    assert "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token," in added["authorization"]


def test_paths_are_encoded_twice_except_for_s3() -> None:
    assert canonical_path("/model/a%3A0/invoke", "bedrock") == "/model/a%253A0/invoke"
    assert canonical_path("/model/a:0/invoke", "bedrock") == "/model/a%3A0/invoke"
    assert canonical_path("/a%20b", "s3") == "/a%20b"


def test_credentials_never_show_their_secrets() -> None:
    credentials = AwsCredentials.from_env({"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "SECRET", "AWS_SESSION_TOKEN": "TOKEN"})
    assert credentials is not None and credentials.session_token == "TOKEN"
    assert "SECRET" not in repr(credentials) and "TOKEN" not in repr(credentials)
    assert AwsCredentials.from_env({"AWS_ACCESS_KEY_ID": "AKID"}) is None
