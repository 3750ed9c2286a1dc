"""The byline travels: RawArticle -> TaggedArticle -> search document -> index mapping."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from newsmon.documents import SearchDocument, search_document
from newsmon.query import compile_query
from newsmon.schema import RawArticle, TaggedArticle, Tags, decode, encode

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
MAPPING = Path(__file__).parents[3] / "index" / "templates" / "news-articles-mappings.json"


def tagged(author: str | None) -> TaggedArticle:
    raw = RawArticle(
        article_id="a1", url="https://e.org/1", title="Talks", fetched=NOW, author=author
    )
    raw = decode(RawArticle, encode(raw))  # over the wire and back
    return TaggedArticle.from_raw(raw, Tags(), story_id="s1", tagged=NOW)


def test_author_reaches_the_tagged_article_and_both_document_renderings() -> None:
    article = tagged("Olena Kovalenko")
    assert article.author == "Olena Kovalenko"
    assert search_document(article)["author"] == "Olena Kovalenko"
    assert json.loads(SearchDocument(article).encoded())["author"] == "Olena Kovalenko"


def test_no_author_no_field_and_old_messages_still_decode() -> None:
    article = tagged(None)
    assert "author" not in search_document(article)
    assert "author" not in json.loads(SearchDocument(article).encoded())
    old = b'{"article_id": "a", "url": "https://e.org/a", "fetched": "2025-06-02T12:00:00Z"}'
    assert decode(RawArticle, old).author is None


def test_author_is_mapped_and_queryable_like_source() -> None:
    properties = json.loads(MAPPING.read_text("utf-8"))["template"]["mappings"]["properties"]
    assert properties["author"] == {
        "type": "keyword",
        "normalizer": "lc",
        "fields": {"raw": {"type": "keyword"}},
    }
    doc = search_document(tagged("Olena Kovalenko"))
    assert compile_query('author:"olena kovalenko"').matches(doc)
    assert compile_query('author.raw:"Olena Kovalenko"').matches(doc)
    assert not compile_query("author:olena").matches(doc)  # keyword: the whole name
