"""Golden tests: every file in tests/fixtures/feeds has its expectation in ``<file>.expect.json``.

Real-world files stay byte-identical (see PROVENANCE.md), so expectations live in sidecars.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.parse import parse_feed
from newsmon.config import FeedConfig
from tests.unit.ingest.feedserver import FEEDS_DIR

NOW = datetime(2025, 6, 15, tzinfo=UTC)
FEED_URL = "https://news.example.org/feeds/main.xml"
DOCUMENTS = sorted(
    p for p in FEEDS_DIR.iterdir() if p.is_file() and p.suffix not in (".json", ".md")
)


def test_every_document_has_an_expectation() -> None:
    assert DOCUMENTS, "no golden feed files found"
    missing = [p.name for p in DOCUMENTS if not Path(f"{p}.expect.json").exists()]
    assert missing == []


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_golden(path: Path) -> None:
    expect = json.loads(Path(f"{path}.expect.json").read_text("utf-8"))
    parsed = parse_feed(path.read_bytes(), {}, FeedConfig(url=FEED_URL), NOW)  # type: ignore[arg-type]
    first = parsed.articles[0] if parsed.articles else None
    got = {
        "items": len(parsed.articles),
        "first_title": first.title if first else None,
        "first_url": first.url if first else None,
        "first_published": first.published.isoformat() if first and first.published else None,
        "first_author": first.author if first else None,
        "encoding": parsed.encoding,
        "version": parsed.version,
        "lang": parsed.language,
        "bozo": parsed.bozo,
        "error": str(parsed.error) if parsed.error else None,
    }
    assert got == expect


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_articles_are_well_formed(path: Path) -> None:
    parsed = parse_feed(path.read_bytes(), {}, FeedConfig(url=FEED_URL), NOW)  # type: ignore[arg-type]
    for article in parsed.articles:
        assert article.url.startswith(("http://", "https://"))
        assert article.feed == FEED_URL and article.fetched == NOW
        assert article.published is None or article.published.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
        assert "<" not in article.title or ">" not in article.title
        assert "\ufffd" not in article.title
    assert len({a.article_id for a in parsed.articles}) == len(parsed.articles)
