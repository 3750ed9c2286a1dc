"""run_ingest: --once, the service loop, stop, and retry after an unacknowledged flush."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from ingest import service
from ingest.service import run_ingest, sleep_seconds
from ingest.state import FeedState
from newsmon.bus import RAW_TOPIC, MemoryBus
from newsmon.config import FeedConfig, Settings
from newsmon.errors import TransientError
from tests.unit.ingest.feedserver import FeedServer, rss, static

ITEMS = [("One", "https://example.org/1"), ("Two", "https://example.org/2")]


class FlakyBus(MemoryBus):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def flush(self, timeout: float = 30.0) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise TransientError("not acknowledged")


def wait_for(predicate, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_once_polls_every_feed_and_returns_report(
    feed_server: FeedServer, settings: Settings
) -> None:
    feed_server.routes["/feed"] = static(rss(ITEMS))
    feeds = [FeedConfig(url=feed_server.url("/feed"))]  # type: ignore[arg-type]
    bus = MemoryBus()
    report = run_ingest(settings, feeds, bus, threading.Event(), once=True)
    assert report is not None and report.new_items == 2
    again = run_ingest(settings, feeds, bus, threading.Event(), once=True)
    assert again is not None and again.new_items == 0
    assert len(bus.records(RAW_TOPIC)) == 2
    state = FeedState.in_dir(settings.data_dir)
    assert state.records()[0].items_seen == 2
    state.close()


def test_once_retries_unacknowledged_flush(
    feed_server: FeedServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "BUS_BACKOFF_START", 0.01)
    feed_server.routes["/feed"] = static(rss(ITEMS))
    feeds = [FeedConfig(url=feed_server.url("/feed"))]  # type: ignore[arg-type]
    bus = FlakyBus(failures=2)
    report = run_ingest(settings, feeds, bus, threading.Event(), once=True)
    assert report is not None and report.new_items == 2
    # published three times (two unacknowledged attempts), marked seen once: at-least-once
    assert len(bus.records(RAW_TOPIC)) == 6


def test_once_gives_up_after_repeated_bus_failures(
    feed_server: FeedServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "BUS_BACKOFF_START", 0.001)
    feed_server.routes["/feed"] = static(rss(ITEMS))
    feeds = [FeedConfig(url=feed_server.url("/feed"))]  # type: ignore[arg-type]
    with pytest.raises(TransientError):
        run_ingest(settings, feeds, FlakyBus(failures=99), threading.Event(), once=True)


def test_service_loop_publishes_and_stops(
    feed_server: FeedServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "BUS_BACKOFF_START", 0.01)
    feed_server.routes["/a"] = static(rss(ITEMS[:1]))
    feed_server.routes["/b"] = static(b"down", status=503)
    feeds = [FeedConfig(url=feed_server.url(p)) for p in ("/a", "/b")]  # type: ignore[arg-type]
    bus, stop = FlakyBus(failures=1), threading.Event()
    runner = threading.Thread(target=run_ingest, args=(settings, feeds, bus, stop))
    runner.start()
    try:
        assert wait_for(lambda: bus.failures == 0 and len(bus.records(RAW_TOPIC)) >= 2)
    finally:
        stop.set()
        runner.join(timeout=5)
    assert not runner.is_alive()
    assert feed_server.hits("/b") >= 1


def test_sleep_is_bounded() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert sleep_seconds(now + timedelta(hours=5), now) == service.MAX_SLEEP
    assert sleep_seconds(now - timedelta(hours=5), now) == service.MIN_SLEEP
    assert sleep_seconds(now + timedelta(seconds=3), now) == 3.0


def test_service_loop_calls_on_idle_while_no_feed_is_due(
    feed_server: FeedServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `newsmon run` hands the alert stage's digest clock in here: it must tick between polls,
    # not only when articles arrive.
    monkeypatch.setattr(service, "IDLE_EVERY", 0.02)
    feed_server.routes["/a"] = static(rss(ITEMS[:1]))
    feeds = [FeedConfig(url=feed_server.url("/a"), interval=3600)]  # type: ignore[arg-type]
    ticks: list[float] = []
    stop = threading.Event()
    runner = threading.Thread(
        target=run_ingest,
        args=(settings, feeds, MemoryBus(), stop),
        kwargs={"on_idle": lambda: ticks.append(time.monotonic())},
    )
    runner.start()
    try:
        assert wait_for(lambda: len(ticks) >= 5)
    finally:
        stop.set()
        runner.join(timeout=5)
    assert not runner.is_alive()
    assert feed_server.hits("/a") == 1  # idle ticks are not polls
