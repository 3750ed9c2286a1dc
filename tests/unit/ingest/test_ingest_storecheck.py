"""The seen-state against the store: an old data_dir with a fresh store publishes its feeds'
items again (and says so loudly); a store that has them, or part of them, changes nothing; a
pipeline still behind makes the check wait."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ingest.service import run_ingest
from ingest.state import FeedState
from ingest.storecheck import StoreCheck, first_look, lost_feeds
from newsmon.adapters.sqlite_store import SqliteStore
from newsmon.bus import RAW_TOPIC, MemoryBus
from newsmon.config import FeedConfig, IngestSettings, Settings
from newsmon.schema import RawArticle, decode
from newsmon.store import MemoryStore
from tests.unit.ingest.feedserver import FeedServer, rss, with_etag

T0 = datetime(2025, 5, 11, 12, tzinfo=UTC)


def items(feed: str, count: int = 3) -> list[tuple[str, str]]:
    return [(f"{feed} story {i}", f"https://{feed}.example.org/{i}") for i in range(count)]


@pytest.fixture
def checked(settings: Settings) -> Settings:
    tuning = settings.ingest.model_copy(update={"store_check_grace": 0.0})
    return settings.model_copy(update={"ingest": tuning})


@pytest.fixture
def feeds(feed_server: FeedServer) -> list[FeedConfig]:
    for name in ("a", "b"):
        feed_server.routes[f"/{name}"] = with_etag(rss(items(name)), f'"{name}1"')
    return [FeedConfig(url=feed_server.url(f"/{n}")) for n in ("a", "b")]  # type: ignore[arg-type]


def index(bus: MemoryBus, store: Any, only: str = "") -> None:
    """The pipeline downstream, reduced to what matters here: published articles stored."""
    docs = [
        {"article_id": a.article_id, "title": a.title, "url": a.url}
        for a in (decode(RawArticle, r.value) for r in bus.records(RAW_TOPIC))
        if only in a.url
    ]
    store.write_articles(docs)


def once(settings: Settings, feeds: list[FeedConfig], bus: MemoryBus, store: Any) -> int:
    report = run_ingest(settings, feeds, bus, threading.Event(), once=True, store=store)
    assert report is not None
    return report.new_items


def test_fresh_store_with_an_old_data_dir_gets_every_article_again(
    checked: Settings, feeds: list[FeedConfig], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bus, first = MemoryBus(), SqliteStore(tmp_path / "first.db")
    assert once(checked, feeds, bus, first) == 6
    index(bus, first)
    assert once(checked, feeds, bus, first) == 0, "the store has them: nothing again"
    fresh = SqliteStore(tmp_path / "fresh.db")  # services reset, data_dir kept
    with caplog.at_level(logging.ERROR, logger="ingest.storecheck"):
        assert once(checked, feeds, bus, fresh) == 6
    assert "store lacks articles the ingest's seen-state calls published" in caplog.text
    index(bus, fresh)
    assert once(checked, feeds, bus, fresh) == 0
    assert fresh.count() == 6
    first.close(), fresh.close()


def test_without_a_store_to_check_the_old_seen_state_hides_everything(
    settings: Settings, feeds: list[FeedConfig]
) -> None:
    # what the issue reported (and what a `memory://` store, which ingest cannot see, still does)
    bus = MemoryBus()
    assert once(settings, feeds, bus, None) == 6
    assert once(settings, feeds, bus, None) == 0


def test_a_feed_partly_in_the_store_is_not_lost_and_only_lost_feeds_are_resent(
    checked: Settings, feeds: list[FeedConfig], tmp_path: Path
) -> None:
    bus = MemoryBus()
    assert once(checked, feeds, bus, None) == 6
    store = SqliteStore(tmp_path / "s.db")
    index(bus, store, only="a.example.org/2")  # one of a's three; none of b's
    assert once(checked, feeds, bus, store) == 3, "b's items, not a's"
    store.close()


def test_the_check_waits_while_the_pipeline_is_behind(
    checked: Settings, feeds: list[FeedConfig]
) -> None:
    bus = MemoryBus()
    assert once(checked, feeds, bus, None) == 6
    state = FeedState.in_dir(checked.data_dir)
    urls = [str(f.url) for f in feeds]
    asked: list[datetime] = []

    def behind(before: datetime) -> int:
        asked.append(before)
        return 4

    now = datetime.now(UTC)
    waiting = StoreCheck(MemoryStore(), state, 30.0, behind)
    assert waiting.lost(urls, now) is None
    assert asked == [now - timedelta(seconds=30)], "only records older than the grace count"
    assert StoreCheck(MemoryStore(), state, 0.0, lambda _: 0).lost(urls, now) == urls
    assert StoreCheck(MemoryStore(), state, 3600.0).lost(urls, now) == [], "too recent to judge"
    state.close()


def test_sampling_and_judging() -> None:
    sample = {"a": ["a2", "a1"], "b": ["b2", "b1"], "c": ["c1"]}
    assert first_look(sample) == ["a2", "b2", "c1"]
    assert first_look(sample, limit=1) == ["a2"]
    assert lost_feeds(sample, {"a1", "c1"}) == ["b"]
    assert lost_feeds(sample, set()) == ["a", "b", "c"]


def test_store_check_settings_default_to_on() -> None:
    tuning = IngestSettings()
    assert tuning.store_check_every > 0 and tuning.store_check_grace >= 0


def test_the_service_checks_at_start_and_resends_what_the_store_lacks(
    checked: Settings, feeds: list[FeedConfig], tmp_path: Path
) -> None:
    bus = MemoryBus()
    assert once(checked, feeds, bus, None) == 6
    stop = threading.Event()
    fresh = SqliteStore(tmp_path / "fresh.db")
    runner = threading.Thread(
        target=run_ingest, args=(checked, feeds, bus, stop), kwargs={"store": fresh}
    )
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while len(bus.records(RAW_TOPIC)) < 12 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        runner.join(timeout=10)
    assert not runner.is_alive()
    assert len(bus.records(RAW_TOPIC)) == 12, "every item once more, once"
    fresh.close()
