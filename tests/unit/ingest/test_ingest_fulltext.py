"""Full text for summary items: trafilatura extraction, the strict guard on content URLs
(injectable, lifted by ``allow_private_addresses``), per-feed ``full_text``."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from ingest.fulltext import FullText, extract, needs_full_text
from ingest.politeness import HostGate
from ingest.poller import FeedPoller
from ingest.ssrf import address_guard
from ingest.state import STATE_FILE
from newsmon.bus import RAW_TOPIC, MemoryBus
from newsmon.config import FeedConfig, IngestSettings, Settings
from newsmon.schema import RawArticle, decode
from tests.unit.ingest.feedserver import FeedServer, rss, static

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
PARAGRAPH = (
    "Negotiators from both delegations met in Istanbul on Friday for a second round of talks "
    "on a ceasefire, a prisoner exchange and the return of children, officials said. "
)
PAGE = (
    "<html><head><title>Talks resume</title>"
    '<meta name="author" content="Jane Reporter">'
    '<meta property="article:published_time" content="2025-06-01T08:00:00+00:00"></head>'
    "<body><nav>Home | World | Europe</nav><article><h1>Talks resume</h1>"
    + "".join(f"<p>{PARAGRAPH}Paragraph {i}.</p>" for i in range(6))
    + "</article><footer>Cookie settings</footer></body></html>"
).encode()


def test_extract_main_text_author_and_date() -> None:
    found = extract(PAGE, "https://news.example.org/talks")
    assert found is not None
    assert "prisoner exchange" in found.text and "Cookie settings" not in found.text
    assert found.author == "Jane Reporter"
    assert found.published == datetime(2025, 6, 1, tzinfo=UTC)


def test_extract_nothing_from_an_empty_page() -> None:
    assert extract(b"<html><body></body></html>", "https://e.org/") is None


def test_summary_rule_and_feed_override() -> None:
    short = RawArticle(article_id="1", url="https://e.org/1", text="short", fetched=NOW)
    long = short.model_copy(update={"text": "x" * 500})
    feed = FeedConfig(url="https://e.org/f")  # type: ignore[arg-type]
    assert needs_full_text(short, feed, 400) and not needs_full_text(long, feed, 400)
    assert needs_full_text(long, feed.model_copy(update={"full_text": True}), 400)
    assert not needs_full_text(short, feed.model_copy(update={"full_text": False}), 400)


def run(
    server: FeedServer, settings: Settings, enricher: FullText | None, **feed: object
) -> list[RawArticle]:
    server.routes["/feed"] = static(rss([("Talks resume", server.url("/article"))]))
    server.routes["/article"] = static(PAGE, headers={"Content-Type": "text/html"})
    feeds = [FeedConfig(url=server.url("/feed"), **feed)]  # type: ignore[arg-type]
    bus = MemoryBus()
    poller = FeedPoller(
        feeds,
        bus,
        settings.data_dir / STATE_FILE,
        settings,
        full_text=enricher,
        rng=random.Random(1),
    )
    poller.poll_all(NOW)
    poller.close()
    return [decode(RawArticle, r.value) for r in bus.records(RAW_TOPIC)]


@pytest.fixture
def summary_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"ingest": IngestSettings(host_spacing=0.0)})


def test_summary_item_gets_the_page_text_when_the_guard_is_lifted_for_the_test(
    feed_server: FeedServer, summary_settings: Settings
) -> None:
    lifted = FullText(summary_settings, HostGate(2, 0), guard=address_guard(strict=False))
    [article] = run(feed_server, summary_settings, lifted)
    assert "prisoner exchange" in article.text and len(article.text) > 500
    assert article.author == "Jane Reporter"  # the feed item named none; the page does
    assert feed_server.hits("/article") == 1
    lifted.close()


def test_content_url_on_loopback_refused_by_the_default_guard(
    feed_server: FeedServer, summary_settings: Settings
) -> None:
    [article] = run(feed_server, summary_settings, None)
    assert article.text == "About Talks resume."  # the feed's summary, published anyway
    assert feed_server.hits("/article") == 0


def test_setting_lifts_the_guard(feed_server: FeedServer, summary_settings: Settings) -> None:
    open_settings = summary_settings.model_copy(update={"allow_private_addresses": True})
    [article] = run(feed_server, open_settings, None)
    assert "prisoner exchange" in article.text


def test_feed_can_switch_full_text_off(feed_server: FeedServer, summary_settings: Settings) -> None:
    lifted = FullText(summary_settings, HostGate(2, 0), guard=None)
    run(feed_server, summary_settings, lifted, full_text=False)
    assert feed_server.hits("/article") == 0
    lifted.close()


def test_metadata_address_in_feed_content_never_contacted(summary_settings: Settings) -> None:
    attempts: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        attempts.append(host)
        return ["169.254.169.254"]

    guard = address_guard(True, resolver=resolver)
    guarded = FullText(summary_settings, HostGate(2, 0), guard=guard)
    article = RawArticle(article_id="1", url="http://metadata.evil.example/x", fetched=NOW)
    kept, status, size = guarded.enrich(article, NOW)
    assert (kept, status, size) == (article, "blocked", 0) and attempts == ["metadata.evil.example"]
    literal = article.model_copy(update={"url": "http://169.254.169.254/latest/meta-data/"})
    assert guarded.enrich(literal, NOW)[1] == "blocked"
    guarded.close()
