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
