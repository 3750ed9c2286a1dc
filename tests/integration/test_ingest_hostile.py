"""Hostile feed servers, all polled in one round next to a good feed (no Kafka needed).

Each hostile feed ends in a defined per-feed state within its limits (time, size, redirects,
parser, address guard), and the good feed served at the same time keeps flowing: its items are
published in the first round, and a new item in the second.
"""

from __future__ import annotations

import http.server
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from ingest.kinds import ErrorKind
from ingest.poller import FeedPoller, PollReport
from ingest.state import STATE_FILE
from newsmon.bus import RAW_TOPIC, MemoryBus
from newsmon.config import FeedConfig, IngestSettings, Settings
from newsmon.schema import RawArticle, decode
from tests.unit.ingest.feedserver import (
    FEEDS_DIR,
    FeedServer,
    redirect,
    rss,
    running_server,
    send,
    static,
)

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
TIMEOUT = 1.5
CAP = 256 * 1024
GOOD = [("Talks resume", "https://example.org/a/1"), ("Envoys meet", "https://example.org/a/2")]


def five_gigabytes(h: http.server.BaseHTTPRequestHandler) -> None:
    """A 5 GB body from a generator, no Content-Length: only the size cap stops it."""
    h.send_response(200)
    h.send_header("Content-Type", "application/rss+xml")
    h.send_header("Connection", "close")
    h.end_headers()
    chunk = b"<!-- " + b"x" * 65_000 + b" -->"
    try:
        for _ in range(5 * 1024**3 // len(chunk)):
            h.wfile.write(chunk)
    except OSError:
        return


def one_byte_a_second(h: http.server.BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "application/rss+xml")
    h.send_header("Content-Length", "100000")
    h.end_headers()
    try:
        for _ in range(100_000):
            h.wfile.write(b" ")
            h.wfile.flush()
            time.sleep(1.0)
    except OSError:
        return


class LyingETag:
    """Always the same ETag, never a 304, while the body changes."""

    def __init__(self) -> None:
        self.items = [("First", "https://liar.example/1")]

    def __call__(self, h: http.server.BaseHTTPRequestHandler) -> None:
        send(h, 200, rss(self.items, title="Liar"), {"ETag": '"forever"'})


def latin1_without_declaration() -> bytes:
    doc = (
        '<rss version="2.0"><channel><title>Caf\xe9</title><item><title>Caf\xe9 cr\xe8me'
        "</title><link>https://latin.example/1</link><description>Na\xefve</description>"
        "</item></channel></rss>"
    )
    return doc.encode("windows-1252")


ROUTES = {
    "/loop": redirect("/loop"),
    "/huge": five_gigabytes,
    "/drip": one_byte_a_second,
    "/wrong-type": static(
        rss([("Typed", "https://typed.example/1")]),
        headers={"Content-Type": "text/html; charset=utf-8"},
    ),
    "/laughs": static((FEEDS_DIR / "billion_laughs.xml").read_bytes()),
    "/xxe": static((FEEDS_DIR / "external_entity.xml").read_bytes()),
    "/latin1": static(latin1_without_declaration(), headers={"Content-Type": "application/xml"}),
    "/429": static(b"slow down", 429, {"Retry-After": "3600", "Content-Type": "text/plain"}),
    "/gone": static(b"gone", 410, {"Content-Type": "text/plain"}),
    "/metadata": redirect("http://169.254.169.254/latest/meta-data/", 302),
    "/metadata-moved": redirect("http://169.254.169.254/feed.xml", 301),
}

EXPECTED: dict[str, tuple[str, ErrorKind | None]] = {
    "/loop": ("error", ErrorKind.TOO_MANY_REDIRECTS),
    "/huge": ("error", ErrorKind.TOO_LARGE),
    "/drip": ("error", ErrorKind.TIMEOUT),
    "/wrong-type": ("ok", None),
    "/laughs": ("error", ErrorKind.UNSAFE_XML),
    "/xxe": ("error", ErrorKind.UNSAFE_XML),
    "/latin1": ("ok", None),
    "/429": ("error", ErrorKind.RATE_LIMITED),
    "/gone": ("error", ErrorKind.GONE),
    "/metadata": ("error", ErrorKind.BLOCKED),
    "/metadata-moved": ("error", ErrorKind.BLOCKED),
    "/liar": ("ok", None),
    "/good": ("ok", None),
}


@pytest.fixture
def hostile() -> Iterator[tuple[FeedServer, LyingETag]]:
    with running_server() as server:
        server.routes.update(ROUTES)
        liar = LyingETag()
        server.routes["/liar"] = liar
        server.routes["/good"] = static(rss(GOOD, title="Good"))
        yield server, liar


def make_poller(server: FeedServer, settings: Settings) -> tuple[FeedPoller, MemoryBus]:
    feeds = [FeedConfig(url=server.url(path)) for path in EXPECTED]  # type: ignore[arg-type]
    bus = MemoryBus()
    state = settings.data_dir / STATE_FILE
    return FeedPoller(feeds, bus, state, settings, rng=random.Random(3)), bus


@pytest.fixture
def settings(tmp_path):  # type: ignore[no-untyped-def]
    return Settings(
        data_dir=tmp_path,
        fetch_timeout=TIMEOUT,
        max_feed_bytes=CAP,
        poll_interval=60.0,
        ingest=IngestSettings(host_spacing=0.0, host_concurrency=16, full_text_min_chars=0),
    )


def by_path(report: PollReport, server: FeedServer) -> dict[str, object]:
    return {f.url.removeprefix(server.url("")): f for f in report.feeds}


def titles(bus: MemoryBus) -> list[str]:
    return [decode(RawArticle, r.value).title for r in bus.records(RAW_TOPIC)]


def test_every_hostile_feed_ends_in_a_defined_state_and_the_good_feed_flows(
    hostile: tuple[FeedServer, LyingETag], settings: Settings
) -> None:
    server, liar = hostile
    poller, bus = make_poller(server, settings)
    started = time.monotonic()
    first = by_path(poller.poll_all(NOW), server)
    assert time.monotonic() - started < TIMEOUT + 3.0  # the drip costs its own deadline only
    got = {path: (f.status, f.error) for path, f in first.items()}  # type: ignore[attr-defined]
    assert got == EXPECTED
    assert {"Talks resume", "Envoys meet", "Typed", "Café crème", "First"} <= set(titles(bus))
    assert len(titles(bus)) == 5

    state = poller.state
    rate_limited = state.get(server.url("/429"))
    assert rate_limited.next_poll == NOW + timedelta(seconds=3600)
    gone = state.get(server.url("/gone"))
    assert gone.gone and gone.next_poll is None
    assert state.get(server.url("/drip")).error_kind == "timeout"
    assert "169.254.169.254" in (state.get(server.url("/metadata")).last_error or "")
    assert state.get(server.url("/latin1")).warning  # decoded as windows-1252, with a warning

    liar.items = [("Second", "https://liar.example/2"), *liar.items]
    server.routes["/good"] = static(rss([("Ceasefire", "https://example.org/a/3"), *GOOD]))
    gone_hits = server.hits("/gone")
    later = NOW + timedelta(hours=7)
    second = by_path(poller.poll_due(later), server)
    assert "/gone" not in second and server.hits("/gone") == gone_hits
    assert second["/good"].new_items == 1  # type: ignore[attr-defined]
    assert second["/liar"].new_items == 1  # type: ignore[attr-defined]
    assert titles(bus)[-2:] in (["Ceasefire", "Second"], ["Second", "Ceasefire"])
    poller.close()


def test_huge_response_is_cut_by_the_cap_quickly(
    hostile: tuple[FeedServer, LyingETag], settings: Settings
) -> None:
    server, _ = hostile
    feeds = [FeedConfig(url=server.url("/huge"))]  # type: ignore[arg-type]
    poller = FeedPoller(feeds, MemoryBus(), settings.data_dir / STATE_FILE, settings)
    started = time.monotonic()
    report = poller.poll_all(NOW)
    assert report.feeds[0].error is ErrorKind.TOO_LARGE
    assert time.monotonic() - started < 1.0
    poller.close()
