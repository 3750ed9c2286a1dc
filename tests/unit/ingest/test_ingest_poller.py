"""FeedPoller against a real local HTTP server, a MemoryBus and a tmp data dir."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.kinds import ErrorKind
from ingest.poller import FeedPoller
from ingest.state import STATE_FILE, FeedState
from newsmon.bus import RAW_TOPIC, MemoryBus
from newsmon.config import FeedConfig, Settings
from newsmon.errors import TransientError
from newsmon.schema import RawArticle, article_id, decode
from tests.unit.ingest.feedserver import FeedServer, rss, static, with_etag

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
ITEMS = [
    ("Peace talks resume", "https://example.org/a/1"),
    ("Ceasefire", "https://example.org/a/2"),
]


class FlakyBus(MemoryBus):
    """A MemoryBus whose flush fails while ``failing`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.failing = False

    def flush(self, timeout: float = 30.0) -> None:
        if self.failing:
            raise TransientError("broker not acknowledging")


def make_poller(
    server: FeedServer, paths: list[str], bus: MemoryBus, settings: Settings, **feed: object
) -> FeedPoller:
    feeds = [FeedConfig(url=server.url(p), **feed) for p in paths]  # type: ignore[arg-type]
    return FeedPoller(feeds, bus, settings.data_dir / STATE_FILE, settings, rng=random.Random(1))


def published(bus: MemoryBus) -> list[RawArticle]:
    return [decode(RawArticle, r.value) for r in bus.records(RAW_TOPIC)]


def test_new_items_published_once_with_article_id_key(
    feed_server: FeedServer, settings: Settings
) -> None:
    feed_server.routes["/feed"] = static(rss(ITEMS))
    bus = MemoryBus()
    poller = make_poller(feed_server, ["/feed"], bus, settings, name="Wire", tags=("wire",))
    report = poller.poll_due(NOW)
    assert report.new_items == 2 and not report.errors
    records = bus.records(RAW_TOPIC)
    assert [r.key for r in records] == [article_id(u) for _, u in ITEMS]
    first = published(bus)[0]
    assert (first.title, first.source, first.tags, first.fetched) == (
        "Peace talks resume",
        "Wire",
        ("wire",),
        NOW,
    )
    assert first.feed == feed_server.url("/feed")


def test_second_poll_not_modified_by_etag(feed_server: FeedServer, settings: Settings) -> None:
    feed_server.routes["/feed"] = with_etag(rss(ITEMS))
    bus = MemoryBus()
    poller = make_poller(feed_server, ["/feed"], bus, settings)
    poller.poll_all(NOW)
    report = poller.poll_all(NOW + timedelta(minutes=5))
    assert report.feeds[0].status == "not_modified" and report.feeds[0].http_status == 304
    assert feed_server.requests[-1][1].get("If-None-Match") == '"v1"'
    assert len(bus.records(RAW_TOPIC)) == 2


def test_second_poll_not_modified_by_body_hash(feed_server: FeedServer, settings: Settings) -> None:
    feed_server.routes["/feed"] = static(rss(ITEMS))
    bus = MemoryBus()
    poller = make_poller(feed_server, ["/feed"], bus, settings)
    poller.poll_all(NOW)
    report = poller.poll_all(NOW + timedelta(minutes=5))
    assert report.feeds[0].status == "not_modified" and report.feeds[0].http_status == 200
    assert len(bus.records(RAW_TOPIC)) == 2


def test_changed_feed_publishes_only_the_new_item(
    feed_server: FeedServer, settings: Settings
) -> None:
    feed_server.routes["/feed"] = static(rss(ITEMS))
    bus = MemoryBus()
    poller = make_poller(feed_server, ["/feed"], bus, settings)
    poller.poll_all(NOW)
    feed_server.routes["/feed"] = static(rss([("New", "https://example.org/a/3"), *ITEMS]))
    assert poller.poll_all(NOW + timedelta(minutes=5)).new_items == 1
    assert [a.title for a in published(bus)][-1] == "New"


def test_state_survives_restart(feed_server: FeedServer, settings: Settings) -> None:
    feed_server.routes["/feed"] = static(rss(ITEMS))
    bus = MemoryBus()
    make_poller(feed_server, ["/feed"], bus, settings).poll_all(NOW)
    again = make_poller(feed_server, ["/feed"], bus, settings)
    assert again.poll_all(NOW).new_items == 0
    again.close()


def test_same_article_in_two_feeds_published_once(
    feed_server: FeedServer, settings: Settings
) -> None:
    feed_server.routes["/a"] = static(rss(ITEMS, title="A"))
    feed_server.routes["/b"] = static(rss(ITEMS[:1], title="B"))
    bus = MemoryBus()
    report = make_poller(feed_server, ["/a", "/b"], bus, settings).poll_due(NOW)
    # whichever feed completes first claims the shared article; it is published once
    assert sorted(f.new_items for f in report.feeds) in ([0, 2], [1, 1])
    assert report.new_items == 2 and len(bus.records(RAW_TOPIC)) == 2


def test_failing_feed_does_not_stop_another(feed_server: FeedServer, settings: Settings) -> None:
    feed_server.routes["/broken"] = static(b"oops", status=500)
    feed_server.routes["/good"] = static(rss(ITEMS))
    bus = MemoryBus()
    poller = make_poller(feed_server, ["/broken", "/good"], bus, settings)
    report = poller.poll_due(NOW)
    broken, good = report.feeds
    assert broken.error is ErrorKind.HTTP_5XX and broken.http_status == 500
    assert good.status == "ok" and good.new_items == 2
    assert broken.next_poll is not None and broken.next_poll > NOW
    record = poller.state.get(feed_server.url("/broken"))
    assert record.consecutive_failures == 1 and record.error_kind == "http_5xx"


def test_transient_flush_leaves_items_unseen(feed_server: FeedServer, settings: Settings) -> None:
    feed_server.routes["/feed"] = with_etag(rss(ITEMS))
    bus = FlakyBus()
    poller = make_poller(feed_server, ["/feed"], bus, settings)
    bus.failing = True
    with pytest.raises(TransientError):
        poller.poll_due(NOW)
    assert poller.state.unseen(article_id(u) for _, u in ITEMS) == {article_id(u) for _, u in ITEMS}
    bus.failing = False
    report = poller.poll_due(NOW)
    assert report.new_items == 2
    assert "If-None-Match" not in feed_server.requests[-1][1]
    assert poller.state.unseen(article_id(u) for _, u in ITEMS) == set()


def test_schedule_success_interval_and_next_due(
    feed_server: FeedServer, settings: Settings
) -> None:
    feed_server.routes["/feed"] = static(rss(ITEMS))
    bus = MemoryBus()
    poller = make_poller(feed_server, ["/feed"], bus, settings, interval=600)
    assert poller.next_due() <= NOW
    report = poller.poll_due(NOW)
    due = report.feeds[0].next_poll
    assert due is not None and NOW + timedelta(seconds=540) <= due <= NOW + timedelta(seconds=660)
    assert poller.next_due() == due
    assert poller.poll_due(NOW + timedelta(seconds=10)).feeds == ()
    assert len(poller.poll_due(due).feeds) == 1


def test_rate_limited_feed_honours_retry_after(feed_server: FeedServer, settings: Settings) -> None:
    feed_server.routes["/feed"] = static(b"", status=429, headers={"Retry-After": "7200"})
    poller = make_poller(feed_server, ["/feed"], MemoryBus(), settings)
    report = poller.poll_due(NOW)
    assert report.feeds[0].error is ErrorKind.RATE_LIMITED
    assert report.feeds[0].next_poll == NOW + timedelta(seconds=7200)


def test_unsafe_and_broken_documents_are_feed_errors(
    feed_server: FeedServer, settings: Settings
) -> None:
    laughs = (Path(__file__).parents[2] / "fixtures/feeds/billion_laughs.xml").read_bytes()
    feed_server.routes["/laughs"] = static(laughs)
    feed_server.routes["/html"] = static(b"<html><body>hi</body></html>", headers=_html())
    bus = MemoryBus()
    report = make_poller(feed_server, ["/laughs", "/html"], bus, settings).poll_due(NOW)
    assert [f.error for f in report.feeds] == [ErrorKind.UNSAFE_XML, ErrorKind.PARSE]
    assert bus.records(RAW_TOPIC) == []


def test_permanent_redirect_is_recorded(feed_server: FeedServer, settings: Settings) -> None:
    from tests.unit.ingest.feedserver import redirect

    feed_server.routes["/old"] = redirect("/new", status=301)
    feed_server.routes["/new"] = static(rss(ITEMS))
    poller = make_poller(feed_server, ["/old"], MemoryBus(), settings)
    assert poller.poll_due(NOW).new_items == 2
    assert poller.state.get(feed_server.url("/old")).moved_to == feed_server.url("/new")
    poller.poll_all(NOW)  # from now on the new URL is polled directly
    assert (feed_server.hits("/old"), feed_server.hits("/new")) == (1, 2)


def test_state_object_can_be_passed_in(feed_server: FeedServer, settings: Settings) -> None:
    feed_server.routes["/feed"] = static(rss(ITEMS))
    state = FeedState.in_dir(settings.data_dir)
    feeds = [FeedConfig(url=feed_server.url("/feed"))]  # type: ignore[arg-type]
    poller = FeedPoller(feeds, MemoryBus(), state, settings)
    assert poller.poll_all(NOW).new_items == 2
    poller.close()
    assert state.records()[0].items_seen == 2
    state.close()


def _html() -> Mapping[str, str]:
    return {"Content-Type": "text/html; charset=utf-8"}


@pytest.mark.parametrize(
    ("route", "kind"),
    [
        ("loop", ErrorKind.TOO_MANY_REDIRECTS),
        ("big", ErrorKind.TOO_LARGE),
        ("drip", ErrorKind.TIMEOUT),
    ],
)
def test_hostile_feeds_cost_only_themselves(
    feed_server: FeedServer, settings: Settings, route: str, kind: ErrorKind
) -> None:
    from tests.unit.ingest.feedserver import drip, redirect

    feed_server.routes["/loop"] = redirect("/loop")
    feed_server.routes["/big"] = static(b"<rss>" + b" " * settings.max_feed_bytes)
    feed_server.routes["/drip"] = drip(0.05)
    feed_server.routes["/good"] = static(rss(ITEMS))
    fast = settings.model_copy(update={"fetch_timeout": 0.4})
    bus = MemoryBus()
    report = make_poller(feed_server, [f"/{route}", "/good"], bus, fast).poll_due(NOW)
    assert [f.error for f in report.feeds] == [kind, None]
    assert len(bus.records(RAW_TOPIC)) == 2


def test_bozo_is_a_warning_on_the_feed_state(feed_server: FeedServer, settings: Settings) -> None:
    physorg = Path(__file__).parents[2] / "fixtures/feeds/physorg_no-xml-decl.rss"
    feed_server.routes["/feed"] = static(physorg.read_bytes())
    poller = make_poller(
        feed_server,
        ["/feed"],
        MemoryBus(),
        settings.model_copy(update={"max_feed_bytes": 1024 * 1024}),
    )
    report = poller.poll_due(NOW)
    assert report.feeds[0].status == "ok" and report.feeds[0].new_items == 30
    warning = poller.state.get(feed_server.url("/feed")).warning
    assert warning is not None and warning.startswith("bozo:")


def test_validators_follow_the_latest_full_response(
    feed_server: FeedServer, settings: Settings
) -> None:
    feed_server.routes["/feed"] = with_etag(rss(ITEMS))
    poller = make_poller(feed_server, ["/feed"], MemoryBus(), settings)
    poller.poll_all(NOW)
    feed_server.routes["/feed"] = static(rss(ITEMS[:1]))  # no ETag any more
    poller.poll_all(NOW)
    poller.poll_all(NOW)
    assert "If-None-Match" not in feed_server.requests[-1][1]
    assert poller.poll_all(NOW).feeds[0].status == "not_modified"  # by body hash


def test_failures_count_up_and_reset(feed_server: FeedServer, settings: Settings) -> None:
    feed_server.routes["/feed"] = static(b"", status=404)
    poller = make_poller(feed_server, ["/feed"], MemoryBus(), settings)
    first = poller.poll_all(NOW).feeds[0].next_poll
    second = poller.poll_all(NOW).feeds[0].next_poll
    assert first is not None and second is not None and second > first
    assert poller.state.get(feed_server.url("/feed")).consecutive_failures == 2
    feed_server.routes["/feed"] = static(rss(ITEMS))
    poller.poll_all(NOW)
    record = poller.state.get(feed_server.url("/feed"))
    assert (record.consecutive_failures, record.error_kind, record.last_success) == (0, None, NOW)


def test_state_defaults_to_the_data_dir(feed_server: FeedServer, settings: Settings) -> None:
    feed_server.routes["/feed"] = static(rss(ITEMS))
    feeds = [FeedConfig(url=feed_server.url("/feed"))]  # type: ignore[arg-type]
    poller = FeedPoller(feeds, MemoryBus(), settings=settings)
    report = poller.poll_all(NOW)
    poller.close()
    assert str(report) == "feeds=1 new=2 errors=0"
    assert (settings.data_dir / STATE_FILE).exists()


def test_metrics_count_polls_items_bytes_and_gauges(
    feed_server: FeedServer, settings: Settings
) -> None:
    from prometheus_client import REGISTRY

    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    before = (
        value("newsmon_ingest_polls_total", status="ok"),
        value("newsmon_ingest_polls_total", status="gone"),
        value("newsmon_ingest_items_published_total"),
        value("newsmon_ingest_bytes_total", kind="feed"),
        value("newsmon_ingest_fetch_seconds_count", kind="feed"),
    )
    feed_server.routes["/feed"] = static(rss(ITEMS))
    feed_server.routes["/gone"] = static(b"", status=410)
    make_poller(feed_server, ["/feed", "/gone"], MemoryBus(), settings).poll_all(NOW)
    after = (
        value("newsmon_ingest_polls_total", status="ok"),
        value("newsmon_ingest_polls_total", status="gone"),
        value("newsmon_ingest_items_published_total"),
        value("newsmon_ingest_bytes_total", kind="feed"),
        value("newsmon_ingest_fetch_seconds_count", kind="feed"),
    )
    assert [a - b for a, b in zip(after, before, strict=True)][:3] == [1, 1, 2]
    assert after[3] - before[3] == len(rss(ITEMS)) and after[4] - before[4] == 2
    assert value("newsmon_ingest_gone_feeds") == 1 and value("newsmon_ingest_stale_feeds") == 0
