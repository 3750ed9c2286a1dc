"""The SQLite store's side of the analyst page: its per-article facts, paging, connections."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from newsmon.adapters.sqlite_store import SqliteStore
from newsmon.store import MemoryStore
from tests.contract.test_store_contract import story_docs


def test_a_store_from_before_article_facts_is_filled_on_open(tmp_path: Path) -> None:
    path = tmp_path / "n.db"
    store = SqliteStore(path)
    store.write_articles(story_docs())
    expected = store.aggregate("*:*", histogram="day", stories=5, story_order="size")
    store.close()
    with sqlite3.connect(path) as db:  # what an older version left: no facts
        db.execute("DROP TABLE article_facts")
        db.execute("DELETE FROM meta WHERE key = 'facts'")
    reopened = SqliteStore(path)
    assert reopened.aggregate("*:*", histogram="day", stories=5, story_order="size") == expected
    reopened.write_articles([{**story_docs()[0], "article_id": "new", "url": "https://x/new"}])
    assert reopened.aggregate("story_id:big", stories=1).stories[0].articles == 5
    reopened.close()


def test_pages_of_dense_and_sparse_matches_equal_the_twins(tmp_path: Path) -> None:
    docs = [
        {
            "article_id": f"a{i:04d}",
            "title": "talks" if i % 40 else "talks rare",
            "published": f"2025-05-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
            "url": f"u{i}",
        }
        for i in range(400)
    ]
    sqlite, memory = SqliteStore(tmp_path / "n.db"), MemoryStore()
    for store in (sqlite, memory):
        store.write_articles(docs)
    for query in ("talks", "rare", "talks AND NOT rare"):  # dense, sparse (2.5 %), dense
        for offset in (0, 7, 390):
            got, want = (s.search(query, limit=9, offset=offset) for s in (sqlite, memory))
            assert got.total == want.total
            assert [h["article_id"] for h in got.hits] == [h["article_id"] for h in want.hits]
    sqlite.close()


def test_connections_of_ended_threads_are_closed(tmp_path: Path) -> None:
    """A server's worker threads come and go; their connections must not pile up."""
    store = SqliteStore(tmp_path / "n.db")
    for _ in range(20):
        worker = threading.Thread(target=store.count)
        worker.start()
        worker.join()
    store.count()
    assert len(store._connections) <= 2  # this thread's, and at most the last worker's
    store.close()
