"""Search shortcuts (pure), highlights and stats: the same on the memory and SQLite stores."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from index.search import compose_query, lucene_date, parse_since, quote
from newsmon.query import QueryError, compile_query
from newsmon.store import ArticleStore, MemoryStore, mark_terms, stats_of

NOW = datetime(2025, 5, 20, 12, 0, tzinfo=UTC)


def test_parse_since_relative_and_absolute() -> None:
    assert parse_since("24h", NOW) == NOW - timedelta(hours=24)
    assert parse_since("7d", NOW) == NOW - timedelta(days=7)
    assert parse_since("2w", NOW) == NOW - timedelta(weeks=2)
    assert parse_since("2025-05-01", NOW) == datetime(2025, 5, 1, tzinfo=UTC)
    assert parse_since("2025-05-01T10:00+02:00", NOW) == datetime(2025, 5, 1, 8, tzinfo=UTC)
    with pytest.raises(QueryError):
        parse_since("last week", NOW)


def test_compose_query() -> None:
    assert compose_query(None) == "*:*"
    assert compose_query("ceasefire") == "ceasefire"
    since = datetime(2025, 5, 13, 12, 0, 0, 250_000, tzinfo=UTC)
    assert lucene_date(since) == "2025-05-13T12:00:00.250Z"
    got = compose_query("a OR b", since=since, topics=["peace_talks"],
                        actors=['Vladimir "V" Putin'])
    assert got == (
        '(a OR b) AND topic:"peace_talks" AND actor:"Vladimir \\"V\\" Putin"'
        " AND published:[2025-05-13T12:00:00.250Z TO *]"
    )
    assert compose_query("*", topics=["x"]) == 'topic:"x"'
    compile_query(got)  # valid syntax for the matcher
    assert quote("a\\b") == '"a\\\\b"'


def doc(i: int, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "article_id": f"id{i:03d}",
        "url": f"https://example.com/{i}",
        "title": f"Putin talks {i}",
        "text": "Negotiators met in Istanbul to discuss a ceasefire. " * 3,
        "source": "Example News" if i % 3 else "Wire",
        "published": (NOW - timedelta(days=i, hours=1)).isoformat(),
        "actor": ["Vladimir Putin"] if i % 2 else ["Volodymyr Zelensky", "Donald Trump"],
        "topic": ["peace_talks"] if i % 4 else [],
    }
    return {**base, **extra}


DOCS = [doc(i) for i in range(1, 13)] + [doc(99, published=None, title="undated")]


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ArticleStore]:
    if request.param == "memory":
        s: ArticleStore = MemoryStore()
    else:
        from newsmon.adapters.sqlite_store import SqliteStore

        s = SqliteStore(tmp_path / "n.db")
    s.write_articles([{k: v for k, v in d.items() if v is not None} for d in DOCS])
    yield s
    s.close()


def test_shortcuts_select_the_same_articles(store: ArticleStore) -> None:
    q = compose_query("ceasefire", since=parse_since("7d", NOW), topics=["peace_talks"],
                      actors=["vladimir putin"])
    ids = [h["article_id"] for h in store.search(q, limit=50).hits]
    assert ids == ["id001", "id003", "id005"]  # id007 is 7 days and 1 hour old


def test_highlights_mark_matched_words(store: ArticleStore) -> None:
    result = store.search('ceasefire OR title:putin OR actor:"Donald Trump"', limit=2,
                          highlight=True)
    assert len(result.highlights) == len(result.hits) == 2
    first = result.highlights[0]
    assert first["title"] == ["<em>Putin</em> talks 1"]
    assert first["text"][0].count("<em>ceasefire</em>") >= 1
    assert store.search("ceasefire", limit=1).highlights == []


def test_stats_per_day_topic_actor_source(store: ArticleStore) -> None:
    stats = store.stats(compose_query(None, since=parse_since("5d", NOW)))
    assert stats.total == 4  # ids 1..4 (id005 is 5 days and 1 hour old; undated excluded)
    assert [d["day"] for d in stats.per_day] == ["2025-05-16", "2025-05-17", "2025-05-18",
                                                 "2025-05-19"]
    assert stats.per_day[0] == {"day": "2025-05-16", "total": 1, "topics": {}}
    assert stats.per_day[-1] == {"day": "2025-05-19", "total": 1, "topics": {"peace_talks": 1}}
    assert stats.top_actors == [("Donald Trump", 2), ("Vladimir Putin", 2),
                                ("Volodymyr Zelensky", 2)]  # as written: the raw sub-fields
    assert stats.top_sources == [("Example News", 3), ("Wire", 1)]
    everything = store.stats(top=1)
    assert everything.total == 13 and sum(d["total"] for d in everything.per_day) == 12
    assert everything.top_actors == [("Vladimir Putin", 7)]


def test_stats_of_counts_a_value_once_per_document() -> None:
    stats = stats_of([{"actor": ["a", "A", "a"], "published": "2025-05-01T23:30:00-02:00",
                       "topic": "t"}])
    assert stats.top_actors == [("A", 1), ("a", 1)]  # raw values: case is kept
    assert stats.per_day == [{"day": "2025-05-02", "total": 1, "topics": {"t": 1}}]


def test_mark_terms_respects_fields() -> None:
    d = {"title": "Peace talks", "text": "talks about peace, not war", "actor": ["X"]}
    assert mark_terms(d, ["title:peace", "actor:X"]) == {"title": ["<em>Peace</em> talks"]}
    assert mark_terms(d, ["war"]) == {"text": ["talks about peace, not <em>war</em>"]}
