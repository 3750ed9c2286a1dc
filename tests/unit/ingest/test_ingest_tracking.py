"""Tracking parameters: the default list, a replacement list and extras, from the environment
through the poller into article_id."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from ingest.parse import parse_feed
from ingest.poller import FeedPoller
from ingest.state import STATE_FILE
from newsmon.bus import RAW_TOPIC, MemoryBus
from newsmon.config import FeedConfig, IngestSettings, Settings
from newsmon.schema import RawArticle, Tracking, article_id, canonical_url, decode
from tests.unit.ingest.feedserver import FeedServer, rss, static

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
FEED = FeedConfig(url="https://news.example.org/feed.xml")  # type: ignore[arg-type]
CLEAN = "https://news.example.org/a?id=7"
TRACKED = "https://news.example.org/a?id=7&utm_source=x&fbclid=y&CMPID=rss&ito=feed"


def feed_id(url: str, ingest: IngestSettings) -> str:
    body = rss([("Talks", url)])
    [article] = parse_feed(body, {}, FEED, NOW, tracking=ingest.tracking()).articles
    return article.article_id


def test_default_list_is_the_historical_one() -> None:
    default = IngestSettings().tracking()
    assert default == Tracking()
    assert canonical_url(TRACKED, default) == f"{CLEAN}&CMPID=rss&ito=feed"
    assert feed_id(TRACKED, IngestSettings()) == article_id(TRACKED)


def test_extra_parameters_are_added_to_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSMON_INGEST__EXTRA_TRACKING_PARAMS", '["cmpid", "it*"]')
    ingest = Settings().ingest
    assert ingest.extra_tracking_params == ("cmpid", "it*")
    assert feed_id(TRACKED, ingest) == article_id(CLEAN)
    assert feed_id(TRACKED, IngestSettings()) != article_id(CLEAN)
    assert canonical_url("https://e.org/?Item=1&ITO=2", ingest.tracking()) == "https://e.org/"


def test_the_list_itself_can_be_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSMON_INGEST__TRACKING_PARAMS", '["fbclid"]')
    tracking = Settings().ingest.tracking()
    assert tracking == Tracking(names=frozenset({"fbclid"}), prefixes=())
    kept = "https://news.example.org/a?id=7&utm_source=x&CMPID=rss&ito=feed"
    assert canonical_url(TRACKED, tracking) == kept


def test_poller_uses_the_configured_list(feed_server: FeedServer, settings: Settings) -> None:
    feed_server.routes["/feed"] = static(rss([("Talks", f"{CLEAN}&ito=feed")]))
    tuned = settings.model_copy(
        update={"ingest": settings.ingest.model_copy(update={"extra_tracking_params": ("ito",)})}
    )
    bus = MemoryBus()
    feeds = [FeedConfig(url=feed_server.url("/feed"))]  # type: ignore[arg-type]
    poller = FeedPoller(feeds, bus, tuned.data_dir / STATE_FILE, tuned, rng=random.Random(1))
    poller.poll_all(NOW)
    poller.close()
    [record] = bus.records(RAW_TOPIC)
    assert record.key == article_id(CLEAN)
    assert decode(RawArticle, record.value).url == f"{CLEAN}&ito=feed"  # the link as listed
