from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newsmon.schema import (
    RawArticle,
    SchemaError,
    TaggedArticle,
    Tags,
    Topic,
    article_id,
    canonical_url,
    decode,
    encode,
)


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTPS://Example.COM:443/a/b?id=1#top", "https://example.com/a/b?id=1"),
        ("http://example.com:8080/x", "http://example.com:8080/x"),
        (
            "https://ex.com/p?utm_source=tw&utm_medium=s&id=3&fbclid=abc&gclid=z",
            "https://ex.com/p?id=3",
        ),
        ("https://ex.com", "https://ex.com/"),
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


def test_article_id_is_stable_across_tracking_variants() -> None:
    a = article_id("https://ex.com/story?utm_campaign=x")
    assert a == article_id("https://EX.com/story#comments")
    assert len(a) == 32 and a != article_id("https://ex.com/other")


def test_round_trip_and_unknown_fields_ignored() -> None:
    now = datetime(2025, 5, 11, tzinfo=UTC)
    raw = RawArticle(article_id="a", url="https://x/1", title="T", fetched=now)
    tagged = TaggedArticle.from_raw(
        raw,
        Tags(topics=(Topic(name="peace_talks", score=0.9, evidence=("ceasefire",)),)),
        "s1",
        now,
    )
    back = decode(TaggedArticle, encode(tagged))
    assert back == tagged
    assert decode(RawArticle, encode(tagged)).title == "T"  # extra fields ignored


@pytest.mark.parametrize(
    "payload",
    [b"not json", b"{}", b'{"article_id": "a", "url": "u", "fetched": "2025-01-01T00:00:00"}'],
)
def test_invalid_payloads_raise_schema_error(payload: bytes) -> None:
    with pytest.raises(SchemaError):
        decode(RawArticle, payload)
