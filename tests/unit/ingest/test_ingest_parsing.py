"""Parsing in worker processes gives what parsing in the thread gives; a dead worker costs no
feed."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime

from ingest.parsing import Parser, parse_changed
from newsmon.config import FeedConfig
from tests.unit.ingest.feedserver import FEEDS_DIR

NOW = datetime(2025, 6, 15, tzinfo=UTC)
FEED = FeedConfig(url="https://news.example.org/feeds/main.xml")  # type: ignore[arg-type]
BODY = (FEEDS_DIR / "guardian_us_2018.rss").read_bytes()


def test_worker_process_parses_like_the_thread_incrementally() -> None:
    whole = parse_changed(BODY, {}, FEED, NOW, None, None)
    assert whole.digests is not None and whole.listed == 55
    known = frozenset(list(whole.digests)[:50])
    parser = Parser(processes=1)
    try:
        assert parser.parse(BODY, {}, FEED, NOW, None, None) == whole
        again = parser.parse(BODY, {}, FEED, NOW, None, known)
    finally:
        parser.close()
    assert again == parse_changed(BODY, {}, FEED, NOW, None, known)
    assert again.listed == 55 and len(again.parsed.articles) < 55


def test_a_killed_worker_is_replaced_and_the_feed_still_parsed() -> None:
    parser = Parser(processes=1)
    try:
        parser.parse(BODY, {}, FEED, NOW, None, None)
        pool = parser._pool
        assert pool is not None
        for pid in list(pool._processes):  # what an OOM kill would do
            os.kill(pid, signal.SIGKILL)
        result = parser.parse(BODY, {}, FEED, NOW, None, None)
        assert len(result.parsed.articles) == 55
        assert parser.parse(BODY, {}, FEED, NOW, None, None) == result  # a fresh pool
        assert parser._pool is not pool
    finally:
        parser.close()
