"""SSRF guard for URLs found in feed content (resolver injected: no real DNS)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from ingest.ssrf import UnsafeURLError, check_url


def resolver(*addresses: str):  # type: ignore[no-untyped-def]
    def resolve(host: str, port: int) -> Sequence[str]:
        return addresses

    return resolve


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
     "0.0.0.0", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "224.0.0.1", "fd00:ec2::254"],
)
def test_non_public_addresses_refused(address: str) -> None:
    with pytest.raises(UnsafeURLError):
        check_url("https://news.example.org/a", resolver=resolver(address))


def test_public_address_allowed_and_returned() -> None:
    assert check_url("https://news.example.org/a", resolver=resolver("93.184.216.34")) == (
        "93.184.216.34",
    )


def test_any_private_answer_among_many_refuses() -> None:
    with pytest.raises(UnsafeURLError):
        check_url("http://news.example.org/", resolver=resolver("93.184.216.34", "10.0.0.1"))


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/", "http://[::1]:8080/", "http://localhost/", "http://a.localhost/",
     "http://metadata.google.internal/", "file:///etc/passwd", "gopher://x/", "http:///nohost",
     "http://user:pw@news.example.org/"],
)
def test_literal_and_named_internal_urls_refused(url: str) -> None:
    with pytest.raises(UnsafeURLError):
        check_url(url, resolver=resolver("93.184.216.34"))


def test_allow_private_lifts_address_check_not_scheme_check() -> None:
    assert check_url("http://127.0.0.1:8000/", allow_private=True) == ("127.0.0.1",)
    with pytest.raises(UnsafeURLError):
        check_url("file:///etc/passwd", allow_private=True)


def test_real_resolution_of_loopback_name() -> None:
    with pytest.raises(UnsafeURLError):
        check_url("http://localhost./x")
