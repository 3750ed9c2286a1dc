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
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
        "fd00:ec2::254",
    ],
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
    [
        "http://127.0.0.1/",
        "http://[::1]:8080/",
        "http://localhost/",
        "http://a.localhost/",
        "http://metadata.google.internal/",
        "file:///etc/passwd",
        "gopher://x/",
        "http:///nohost",
        "http://user:pw@news.example.org/",
    ],
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


def test_connect_time_guard_strict_and_lenient() -> None:
    from ingest.ssrf import ResolveError, address_guard

    def fake(host: str, port: int) -> list[str]:
        return {
            "pub.example": ["93.184.215.14"],
            "lan.example": ["10.0.0.5"],
            "meta.example": ["169.254.169.254"],
            "v6meta.example": ["fe80::1"],
        }[host]

    strict, lenient = address_guard(True, resolver=fake), address_guard(False, resolver=fake)
    assert strict("pub.example", 443) == ("93.184.215.14",)
    assert lenient("lan.example", 80) == ("10.0.0.5",)
    assert lenient("127.0.0.1", 80) == ("127.0.0.1",)
    for host in ("lan.example", "127.0.0.1", "localhost", "meta.example"):
        with pytest.raises(UnsafeURLError):
            strict(host, 80)
    for host in ("meta.example", "v6meta.example", "169.254.169.254", "[::ffff:169.254.169.254]"):
        with pytest.raises(UnsafeURLError):
            lenient(host, 80)

    def nowhere(host: str, port: int) -> list[str]:
        raise ResolveError("no such host")

    with pytest.raises(ResolveError):
        address_guard(True, resolver=nowhere)("gone.example", 80)
