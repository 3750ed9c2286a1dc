"""Incremental parsing: only item blocks not in the last document reach feedparser."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from ingest.incremental import _blocks, reduce, split
from ingest.parse import parse_feed
from newsmon.config import FeedConfig
from tests.unit.ingest.feedserver import FEEDS_DIR, rss

NOW = datetime(2025, 6, 15, tzinfo=UTC)
FEED = FeedConfig(url="https://news.example.org/feed.xml")  # type: ignore[arg-type]


def urls(body: bytes) -> list[str]:
    return [a.url for a in parse_feed(body, {}, FEED, NOW).articles]


@pytest.mark.parametrize(
    "name",
    [
        "guardian_us_2018.rss",
        "heise_developer_2016.atom",
        "science_magazine_rss1.0.rdf",
        "jornal_de_noticias_2018_iso-8859-1.rss",
        "oren_ru_2014_windows-1251.xml",
        "macworld_2017_no-decl.rss",
    ],
)
def test_real_feeds_split_and_reduce_to_the_same_articles(name: str) -> None:
    body = (FEEDS_DIR / name).read_bytes()
    parts = split(body)
    assert parts is not None and len(parts.blocks) >= 10
    whole, nothing_known = reduce(parts, frozenset())
    assert nothing_known == 0 and urls(whole) == urls(body)
    known = frozenset(list(parts.digests())[: len(parts.blocks) // 2])
    reduced, dropped = reduce(parts, known)
    assert dropped == len(known) and len(reduced) < len(body)
    assert set(urls(reduced)) <= set(urls(body)) and len(urls(reduced)) > 0


def test_new_item_on_top_is_the_only_one_parsed() -> None:
    old = rss([("A", "https://e.org/a"), ("B", "https://e.org/b")])
    new = rss([("C", "https://e.org/c"), ("A", "https://e.org/a"), ("B", "https://e.org/b")])
    before, after = split(old), split(new)
    assert before is not None and after is not None
    reduced, dropped = reduce(after, before.digests())
    assert dropped == 2 and urls(reduced) == ["https://e.org/c"]


@pytest.mark.parametrize(
    "body",
    [
        b"<rss><channel><item><title>x</title><item>nested</item></item></channel></rss>",
        b"<rss><channel><item>a</item>text between<item>b</item></channel></rss>",
        b"<rss><channel><item>a</item><!-- <item> --><item>b</item></channel></rss>",
        b"<rss><channel><rss:item>a</rss:item></channel></rss>",
        b"<rss><channel><item><description><![CDATA[</item>]]></description></item></channel>",
        b"<feed><entry>a</entry><item>b</item></feed>",
        "<rss><channel><item>a</item></channel></rss>".encode("utf-16"),
        b"<rss><channel><title>no items</title></channel></rss>",
    ],
)
def test_unusual_documents_are_not_cut(body: bytes) -> None:
    assert split(body) is None


_LAZY_BLOCK = re.compile(rb"<(item|entry)(?=[\s>])[^>]*>.*?</\1\s*>", re.DOTALL)


@pytest.mark.parametrize(
    "body",
    [
        *(p.read_bytes() for p in sorted(FEEDS_DIR.iterdir()) if not p.name.endswith(".json")),
        b"<rss><item>a</items></item ><item x='1'>b</item\n>tail</rss>",
        b"<feed><entry>x</entry><item>y</item><entry>unclosed<entry>z</entry ></feed>",
        b"<items><item>no end<itemx>q</itemx></rss>",
        b"<item><item>nested</item></item>",
        b"",
    ],
)
def test_block_scan_finds_what_the_lazy_regex_finds(body: bytes) -> None:
    expected = [(m.group(1), m.start(), m.end()) for m in _LAZY_BLOCK.finditer(body)]
    assert _blocks(body) == expected
