"""One contract for every ArticleStore: the in-memory twin and real Elasticsearch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from newsmon.store import ArticleStore, MemoryStore


@pytest.fixture(
    params=["memory", "sqlite", pytest.param("elasticsearch", marks=pytest.mark.integration)]
)
def store(
    request: pytest.FixtureRequest, unique: str, tmp_path: Path
) -> Iterator[ArticleStore]:
    if request.param == "memory":
        yield MemoryStore()
        return
    if request.param == "sqlite":
        from newsmon.adapters.sqlite_store import SqliteStore

        sqlite = SqliteStore(tmp_path / "news.db")
        sqlite.ensure_schema()
        yield sqlite
        sqlite.close()
        return
    from index.layout import load_layout
    from newsmon.adapters.es_store import ElasticsearchStore

    services = request.getfixturevalue("services")
    es = ElasticsearchStore(services.store, load_layout(f"t{unique}-"))
    es.ensure_schema()
    yield es
    es.drop()
    # nothing of the namespace is left behind
    assert not es.client.options(ignore_status=404).indices.get(index=f"t{unique}-*")
    es.close()


def doc(i: int, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "article_id": f"id{i:03d}",
        "url": f"https://example.com/{i}",
        "title": f"Article {i} about talks",
        "text": "Negotiators met in Istanbul to discuss a ceasefire.",
        "source": "Example News",
        "lang": "en",
        "story_id": f"s{i}",
        "published": f"2025-05-{10 + i:02d}T12:00:00+00:00",
        "actor": ["Vladimir Putin"] if i % 2 else ["Volodymyr Zelensky"],
        "topic": ["peace_talks"],
    }
    return {**base, **extra}


def test_write_is_create_only_and_duplicates_are_reported(store: ArticleStore) -> None:
    first = store.write_articles([doc(1), doc(2)])
    assert sorted(first.written) == ["id001", "id002"] and not first.duplicates
    again = store.write_articles([doc(1, title="changed"), doc(3)])
    assert again.duplicates == ["id001"] and again.written == ["id003"]
    store.refresh()
    assert store.count() == 3
    got = store.get("id001")
    assert got is not None and got["title"] == "Article 1 about talks"


def test_search_selects_by_lucene_query_newest_first(store: ArticleStore) -> None:
    store.write_articles([doc(i) for i in range(1, 6)])
    store.refresh()
    result = store.search('ceasefire AND actor:"Vladimir Putin"')
    assert [h["article_id"] for h in result.hits] == ["id005", "id003", "id001"]
    assert result.total == 3
    assert store.search("Istanbul", limit=2).total == 5
    assert len(store.search("Istanbul", limit=2).hits) == 2
    assert store.search("gaza").total == 0


def test_alert_ledger_creates_once(store: ArticleStore) -> None:
    assert store.record_alert("a1", {"rule": "r", "status": "pending"}) is True
    assert store.record_alert("a1", {"rule": "r", "status": "pending"}) is False
    store.update_alert("a1", {"status": "sent"})
    got = store.get_alert("a1")
    assert got is not None and got["status"] == "sent" and got["alert_id"] == "a1"
    assert store.get_alert("nope") is None


def test_search_pages_with_offset(store: ArticleStore) -> None:
    store.write_articles([doc(i) for i in range(1, 8)])
    store.refresh()
    first = store.search("Istanbul", limit=3)
    second = store.search("Istanbul", limit=3, offset=3)
    last = store.search("Istanbul", limit=3, offset=6)
    pages = [h["article_id"] for r in (first, second, last) for h in r.hits]
    assert pages == [f"id{i:03d}" for i in range(7, 0, -1)]
    assert first.total == second.total == last.total == 7
    beyond = store.search("Istanbul", limit=3, offset=50)
    assert beyond.hits == [] and beyond.total == 7


def story_docs() -> list[dict[str, Any]]:
    """Three stories over three days: "big" (4 articles, 3 sources), "late" (2, the newest
    article), "solo" (1, undated); one article in no story; mixed-case values."""
    rows = [
        ("a1", "big", "2025-05-10T08:00:00+00:00", "Wire A", "EN", ["Vladimir Putin"]),
        ("a2", "big", "2025-05-10T09:30:00+00:00", "Wire B", "en",
         ["Vladimir Putin", "Volodymyr Zelensky"]),
        ("a3", "big", "2025-05-11T10:00:00+00:00", "Wire A", "uk", ["Volodymyr Zelensky"]),
        ("a4", "big", "2025-05-12T23:59:59+00:00", "Wire C", "en", ["Recep Tayyip Erdogan"]),
        ("b1", "late", "2025-05-12T09:00:00+02:00", "Wire B", "ru", ["Vladimir Putin"]),
        ("b2", "late", "2025-05-13T06:00:00+00:00", "Wire B", "ru", []),
        ("c1", "solo", None, "Wire Ä", "en", ["Vladimir Putin"]),
        ("d1", None, "2025-05-11T12:00:00+00:00", "Wire A", "en", []),
    ]
    docs = []
    for article_id, story, published, source, lang, actors in rows:
        d: dict[str, Any] = {
            "article_id": article_id, "url": f"https://example.com/{article_id}",
            "title": f"Talks in Istanbul, part {article_id}", "text": "Negotiators met.",
            "source": source, "lang": lang, "actor": actors, "topic": ["peace_talks"],
        }
        if story is not None:
            d["story_id"] = story
        if published is not None:
            d["published"] = published
        docs.append(d)
    docs[6]["topic"] = []
    return docs


def test_aggregate_facets_count_articles_by_value(store: ArticleStore) -> None:
    store.write_articles(story_docs())
    store.refresh()
    aggs = store.aggregate("*:*", terms={"actor": 2, "source": 10, "lang": 10, "topic": 5})
    assert aggs.total == 8
    assert aggs.terms["actor"] == [("Vladimir Putin", 4), ("Volodymyr Zelensky", 2)]
    assert aggs.terms["source"] == [("Wire A", 3), ("Wire B", 3), ("Wire C", 1), ("Wire Ä", 1)]
    assert aggs.terms["lang"] == [("en", 5), ("ru", 2), ("uk", 1)]
    assert aggs.terms["topic"] == [("peace_talks", 7)]
    assert aggs.histogram == [] and aggs.stories == []
    narrow = store.aggregate('actor:"vladimir putin" AND NOT lang:ru', terms={"actor": 10})
    assert narrow.total == 3
    assert narrow.terms["actor"] == [("Vladimir Putin", 3), ("Volodymyr Zelensky", 1)]
    confirmed = store.aggregate('"part a2"~1 OR "part b1"~1', terms={"source": 10})
    assert confirmed.total == 2 and confirmed.terms["source"] == [("Wire B", 2)]
    nothing = store.aggregate("gaza", terms={"actor": 5}, histogram="day", stories=5)
    assert nothing.total == 0 and nothing.terms == {"actor": []}
    assert nothing.histogram == [] and nothing.stories == []


def test_aggregate_histogram_buckets_published_in_utc(store: ArticleStore) -> None:
    store.write_articles(story_docs())
    store.refresh()
    day = store.aggregate("*:*", histogram="day").histogram
    assert [(t.isoformat(), n) for t, n in day] == [
        ("2025-05-10T00:00:00+00:00", 2), ("2025-05-11T00:00:00+00:00", 2),
        ("2025-05-12T00:00:00+00:00", 2), ("2025-05-13T00:00:00+00:00", 1),
    ]
    hour = store.aggregate("lang:en", histogram="hour").histogram
    assert [(t.strftime("%d %H"), n) for t, n in hour] == [
        ("10 08", 1), ("10 09", 1), ("11 12", 1), ("12 23", 1),
    ]


def test_aggregate_groups_stories(store: ArticleStore) -> None:
    store.write_articles(story_docs())
    store.refresh()
    by_size = store.aggregate("*:*", stories=10, story_order="size").stories
    assert [(s.story_id, s.articles) for s in by_size] == [("big", 4), ("late", 2), ("solo", 1)]
    big = by_size[0]
    assert big.title == "Talks in Istanbul, part a1"
    assert big.first is not None and big.first.isoformat() == "2025-05-10T08:00:00+00:00"
    assert big.last is not None and big.last.isoformat() == "2025-05-12T23:59:59+00:00"
    assert big.sources == (("Wire A", 2), ("Wire B", 1), ("Wire C", 1))
    assert [(d.isoformat(), n) for d, n in big.per_day] == [
        ("2025-05-10", 2), ("2025-05-11", 1), ("2025-05-12", 1)
    ]
    solo = by_size[2]
    assert solo.first is None and solo.last is None and solo.per_day == ()
    assert solo.title == "Talks in Istanbul, part c1"
    recent = store.aggregate("*:*", stories=2, story_order="recent").stories
    assert [s.story_id for s in recent] == ["late", "big"]
    assert recent[0].first is not None and recent[0].first.hour == 7  # 09:00+02:00
    within = store.aggregate("lang:en", stories=10, story_order="size").stories
    assert [(s.story_id, s.articles) for s in within] == [("big", 3), ("solo", 1)]
    assert within[0].sources == (("Wire A", 1), ("Wire B", 1), ("Wire C", 1))


# -- signal series (spike rules): hits and compare-and-set states -----------------------------


def test_hits_are_create_only_and_read_back_by_time_range_in_order(store: ArticleStore) -> None:
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2025, 5, 12, 10, tzinfo=UTC)
    hits = [{"article_id": f"a{i:04d}", "story_id": f"s{i % 7}", "publisher": "x.org",
             "at": (t0 + timedelta(seconds=i)).isoformat(), "title": f"T {i}"}
            for i in range(1100)]  # more than one page of the Elasticsearch adapter
    assert store.record_hits("rule@1", hits) == 1100
    assert store.record_hits("rule@1", hits[:5] + [{**hits[0], "article_id": "new"}]) == 1
    assert store.record_hits("rule@2", hits[:3]) == 3  # another series: its own hits
    got = store.hits("rule@1", t0 + timedelta(seconds=10), t0 + timedelta(seconds=1050))
    assert [h["article_id"] for h in got] == [f"a{i:04d}" for i in range(10, 1050)]
    assert got[0]["story_id"] == "s3" and got[0]["title"] == "T 10"
    same_time = store.hits("rule@1", t0, t0 + timedelta(seconds=1))
    assert [h["article_id"] for h in same_time] == ["a0000", "new"]  # ties by article_id
    assert store.hits("rule@2", t0, t0 + timedelta(days=1))[-1]["article_id"] == "a0002"
    assert store.hits("nope", t0, t0 + timedelta(days=1)) == []
    assert store.drop_hits("rule@1", t0 + timedelta(seconds=100)) == 101
    assert len(store.hits("rule@1", t0, t0 + timedelta(days=1))) == 1000
    assert len(store.hits("rule@2", t0, t0 + timedelta(days=1))) == 3


def test_states_are_compare_and_set(store: ArticleStore) -> None:
    assert store.get_state("spike:r") is None
    first = store.put_state("spike:r", {"folded": 1, "slots": {"3": [1.5, 0.25, 2]}}, None)
    assert first is not None
    assert store.put_state("spike:r", {"folded": 9}, None) is None  # exists already
    got = store.get_state("spike:r")
    assert got is not None and got.version == first
    assert got.doc == {"folded": 1, "slots": {"3": [1.5, 0.25, 2]}}
    second = store.put_state("spike:r", {"folded": 2}, first)
    assert second is not None and second != first
    assert store.put_state("spike:r", {"folded": 3}, first) is None  # a stale writer loses
    final = store.get_state("spike:r")
    assert final is not None and final.doc == {"folded": 2} and final.version == second
