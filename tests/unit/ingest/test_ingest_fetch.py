"""Fetcher against a real local HTTP server: limits, redirects, conditional GET, errors."""

from __future__ import annotations

import gzip
import time
import zlib
from datetime import UTC, datetime, timedelta

import pytest

from ingest.fetch import (
    USER_AGENT,
    Fetcher,
    FetchResult,
    Validators,
    body_hash,
    classify_status,
    retry_after_seconds,
)
from ingest.kinds import ErrorKind
from ingest.ssrf import ResolveError, address_guard
from newsmon.config import Settings
from tests.unit.ingest.feedserver import FeedServer, drip, redirect, static, with_etag

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
BODY = b"<rss version='2.0'><channel><title>x</title></channel></rss>"


def fetch(
    server: FeedServer, settings: Settings, path: str, v: Validators | None = None
) -> FetchResult:
    return Fetcher(settings).fetch(server.url(path), v or Validators(), NOW)


def test_plain_fetch_sends_user_agent_and_returns_body(
    feed_server: FeedServer, settings: Settings
) -> None:
    feed_server.routes["/f"] = static(BODY, headers={"ETag": '"e1"', "Last-Modified": "x"})
    result = fetch(feed_server, settings, "/f")
    assert result.ok and result.status == 200 and result.body == BODY
    assert result.body_hash == body_hash(BODY) and not result.not_modified
    assert result.validators == Validators('"e1"', "x", body_hash(BODY))
    headers = feed_server.requests[0][1]
    assert headers["User-Agent"] == USER_AGENT
    assert "gzip" in headers["Accept-Encoding"]


def test_conditional_get_304(feed_server: FeedServer, settings: Settings) -> None:
    feed_server.routes["/f"] = with_etag(BODY, '"v9"')
    result = fetch(feed_server, settings, "/f", Validators(etag='"v9"', body_hash="h"))
    assert result.ok and result.not_modified and result.status == 304
    assert result.body == b"" and result.body_hash == "h"


def test_if_modified_since_is_sent(feed_server: FeedServer, settings: Settings) -> None:
    feed_server.routes["/f"] = static(BODY)
    stamp = "Mon, 02 Jun 2025 10:00:00 GMT"
    fetch(feed_server, settings, "/f", Validators(last_modified=stamp))
    assert feed_server.requests[0][1]["If-Modified-Since"] == stamp


def test_same_body_hash_counts_as_not_modified(feed_server: FeedServer, settings: Settings) -> None:
    feed_server.routes["/f"] = static(BODY)
    result = fetch(feed_server, settings, "/f", Validators(body_hash=body_hash(BODY)))
    assert result.ok and result.not_modified and result.status == 200


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [("gzip", gzip.compress), ("deflate", zlib.compress)],
)
def test_compressed_bodies_are_decoded(
    feed_server: FeedServer, settings: Settings, encoding: str, compress: object
) -> None:
    packed = compress(BODY)  # type: ignore[operator]
    feed_server.routes["/f"] = static(packed, headers={"Content-Encoding": encoding})
    assert fetch(feed_server, settings, "/f").body == BODY


def test_redirect_loop_is_capped(feed_server: FeedServer, settings: Settings) -> None:
    feed_server.routes["/a"] = redirect("/b")
    feed_server.routes["/b"] = redirect("/a")
    result = fetch(feed_server, settings, "/a")
    assert result.error is ErrorKind.TOO_MANY_REDIRECTS
    assert len(feed_server.requests) == 6


def test_permanent_redirect_target_reported(feed_server: FeedServer, settings: Settings) -> None:
    feed_server.routes["/old"] = redirect("/mid", 308)
    feed_server.routes["/mid"] = redirect("/new", 301)
    feed_server.routes["/new"] = static(BODY)
    result = fetch(feed_server, settings, "/old")
    assert result.ok and result.final_url == feed_server.url("/new")
    assert result.moved_to == feed_server.url("/new")


def test_temporary_redirect_is_not_a_move(feed_server: FeedServer, settings: Settings) -> None:
    feed_server.routes["/old"] = redirect("/new", 302)
    feed_server.routes["/new"] = static(BODY)
    result = fetch(feed_server, settings, "/old")
    assert result.ok and result.moved_to is None


def test_redirect_to_other_scheme_refused(feed_server: FeedServer, settings: Settings) -> None:
    feed_server.routes["/f"] = redirect("file:///etc/passwd")
    assert fetch(feed_server, settings, "/f").error is ErrorKind.BAD_REDIRECT


def test_oversize_body_capped(feed_server: FeedServer, settings: Settings) -> None:
    big = b"x" * (settings.max_feed_bytes + 1)
    feed_server.routes["/declared"] = static(big)
    assert fetch(feed_server, settings, "/declared").error is ErrorKind.TOO_LARGE


def test_oversize_compressed_body_capped(feed_server: FeedServer, settings: Settings) -> None:
    bomb = gzip.compress(b"\0" * (settings.max_feed_bytes * 4))
    feed_server.routes["/bomb"] = static(bomb, headers={"Content-Encoding": "gzip"})
    result = fetch(feed_server, settings, "/bomb")
    assert result.error is ErrorKind.TOO_LARGE and result.body == b""


def test_slow_drip_cut_by_deadline(feed_server: FeedServer, settings: Settings) -> None:
    feed_server.routes["/drip"] = drip(0.05)
    slow = settings.model_copy(update={"fetch_timeout": 0.5})
    started = time.monotonic()
    result = Fetcher(slow).fetch(feed_server.url("/drip"), Validators(), NOW)
    assert result.error is ErrorKind.TIMEOUT
    assert time.monotonic() - started < 2.0


def test_slow_headers_cut_by_deadline(feed_server: FeedServer, settings: Settings) -> None:
    def slow_headers(h):  # type: ignore[no-untyped-def]
        h.wfile.write(b"HTTP/1.1 200 OK\r\n")
        for i in range(100):
            h.wfile.write(f"X-Drip-{i}: y\r\n".encode())
            h.wfile.flush()
            time.sleep(0.05)

    feed_server.routes["/drip"] = slow_headers
    slow = settings.model_copy(update={"fetch_timeout": 0.5})
    started = time.monotonic()
    result = Fetcher(slow).fetch(feed_server.url("/drip"), Validators(), NOW)
    assert result.error is ErrorKind.TIMEOUT
    assert time.monotonic() - started < 2.0


def test_connection_refused_is_classified(settings: Settings) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = Fetcher(settings).fetch(f"http://127.0.0.1:{port}/", Validators(), NOW)
    assert result.error is ErrorKind.CONNECTION


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (404, ErrorKind.HTTP_4XX),
        (410, ErrorKind.GONE),
        (500, ErrorKind.HTTP_5XX),
        (503, ErrorKind.HTTP_5XX),
        (429, ErrorKind.RATE_LIMITED),
    ],
)
def test_http_errors_classified(
    feed_server: FeedServer, settings: Settings, status: int, kind: ErrorKind
) -> None:
    feed_server.routes["/f"] = static(b"no", status=status, headers={"Retry-After": "120"})
    result = fetch(feed_server, settings, "/f")
    assert result.error is kind and result.status == status
    assert result.retry_after == 120.0


def test_classify_status_success_and_odd_codes() -> None:
    assert classify_status(200) is None and classify_status(304) is None
    assert classify_status(300) is ErrorKind.PROTOCOL


def test_retry_after_forms() -> None:
    assert retry_after_seconds("30", NOW) == 30.0
    later = NOW + timedelta(minutes=2)
    assert retry_after_seconds(later.strftime("%a, %d %b %Y %H:%M:%S GMT"), NOW) == 120.0
    assert retry_after_seconds("Mon, 01 Jan 2001 00:00:00 GMT", NOW) == 0.0
    assert retry_after_seconds("soon", NOW) is None
    assert retry_after_seconds(None, NOW) is None


def test_brotli_decoded_when_available(feed_server: FeedServer, settings: Settings) -> None:
    brotli = pytest.importorskip("brotli")
    feed_server.routes["/f"] = static(brotli.compress(BODY), headers={"Content-Encoding": "br"})
    assert fetch(feed_server, settings, "/f").body == BODY
    assert "br" in feed_server.requests[0][1]["Accept-Encoding"]


def test_malformed_location_is_a_bad_redirect(feed_server: FeedServer, settings: Settings) -> None:
    feed_server.routes["/f"] = redirect("http://[broken/")
    assert fetch(feed_server, settings, "/f").error is ErrorKind.BAD_REDIRECT


def test_slow_resolver_cannot_outlast_the_fetch_deadline(settings: Settings) -> None:
    """getaddrinfo takes no timeout: the lookup runs under the fetch's wall-clock deadline."""
    calls: list[str] = []

    def slow_resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        time.sleep(5.0)
        return ["127.0.0.1"]

    quick = settings.model_copy(update={"fetch_timeout": 0.5})
    fetcher = Fetcher(quick, guard=address_guard(strict=False, resolver=slow_resolver))
    started = time.monotonic()
    result = fetcher.fetch("http://slow-dns.example:8080/feed.xml", Validators(), NOW)
    elapsed = time.monotonic() - started
    fetcher.close()
    assert calls == ["slow-dns.example"]
    assert result.error == ErrorKind.TIMEOUT, result.detail
    assert "resolving slow-dns.example" in result.detail
    assert elapsed < 1.5


def test_resolver_failure_is_a_connection_error(settings: Settings) -> None:
    def no_such_host(host: str, port: int) -> list[str]:
        raise ResolveError(f"cannot resolve {host!r}")

    fetcher = Fetcher(settings, guard=address_guard(strict=False, resolver=no_such_host))
    result = fetcher.fetch("http://nowhere.example/feed.xml", Validators(), NOW)
    fetcher.close()
    assert result.error == ErrorKind.CONNECTION and "cannot resolve" in result.detail
