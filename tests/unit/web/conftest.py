"""A small newsroom for the page's tests: the 40 real tagged articles of the parity set in a
SQLite store, two alert rules that fired on them, a rules file, a feeds file and the poller's
state with one healthy and one broken feed (written by the poller's own state code)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from newsmon.adapters.sqlite_store import SqliteStore
from newsmon.config import Settings
from newsmon.query import compile_query
from web.app import create_app

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
TOKEN = "correct horse battery staple"
RULES = """\
# rules of the test newsroom
- name: putin-ceasefire   # the demo's rule
  query: 'ceasefire AND actor:"Vladimir Putin"'
  channels:
    - {type: log}
- {name: istanbul-talks, query: "Istanbul AND topic:peace_talks", channels: [{type: log}]}
"""
FEEDS = """\
- {url: 'http://127.0.0.1:9/wire.rss', name: 'Demo wire'}
- {url: 'http://127.0.0.1:9/missing.rss', name: 'Broken wire'}
"""


def parity_docs() -> list[dict[str, Any]]:
    lines = (FIXTURES / "parity_docs.jsonl").read_text("utf-8").splitlines()
    docs = [json.loads(line) for line in lines if line.strip()]
    for doc in docs[:10]:  # ten of them arrived through the demo feed
        doc["feed"] = "http://127.0.0.1:9/wire.rss"
    return docs


def fire(store: SqliteStore, rule: str, query: str, docs: list[dict[str, Any]]) -> int:
    """Ledger entries as the alert stage writes them, for the articles the rule matches."""
    matcher, fired = compile_query(query), 0
    for n, doc in enumerate(docs):
        matched = matcher.explain(doc)
        if matched is None:
            continue
        fired += 1
        store.record_alert(
            f"{rule}~{doc['story_id']}~0",
            {
                "kind": "alert",
                "rule": rule,
                "query": query,
                "story_id": doc["story_id"],
                "article_id": doc["article_id"],
                "title": doc["title"],
                "url": doc["url"],
                "source": doc["source"],
                "published": doc["published"],
                "matched": matched,
                "actors": doc.get("actor", []),
                "status": "sent",
                "created": (NOW - timedelta(minutes=n)).isoformat(),
                "size": 1,
            },
        )
    return fired


@dataclass
class Newsroom:
    root: Path
    settings: Settings
    store: SqliteStore
    docs: list[dict[str, Any]]

    def client(self, **settings: Any) -> TestClient:
        chosen = self.settings.model_copy(update=settings) if settings else self.settings
        app = create_app(chosen, clock=lambda: NOW)
        return TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)


@pytest.fixture
def newsroom(tmp_path: Path) -> Iterator[Newsroom]:
    from ingest.state import FeedRecord, FeedState

    data = tmp_path / "data"
    (tmp_path / "rules.yaml").write_text(RULES)
    (tmp_path / "feeds.yaml").write_text(FEEDS)
    store = SqliteStore(data / "newsmon.db")
    docs = parity_docs()
    store.write_articles(docs)
    fire(store, "putin-ceasefire", 'ceasefire AND actor:"Vladimir Putin"', docs)
    fire(store, "istanbul-talks", "Istanbul AND topic:peace_talks", docs)
    state = FeedState(data / "ingest.sqlite3")
    state.save_many(
        [
            FeedRecord(
                "http://127.0.0.1:9/wire.rss",
                last_polled=NOW - timedelta(minutes=3),
                last_success=NOW - timedelta(minutes=3),
                last_status="200",
                items_seen=10,
                last_new=NOW - timedelta(minutes=3),
                next_poll=NOW + timedelta(minutes=2),
            ),
            FeedRecord(
                "http://127.0.0.1:9/missing.rss",
                last_polled=NOW - timedelta(minutes=1),
                last_status="404",
                last_error="HTTP 404",
                error_kind="http_4xx",
                consecutive_failures=3,
                next_poll=NOW + timedelta(minutes=20),
            ),
        ]
    )
    state.close()
    settings = Settings(
        store=f"sqlite://{data / 'newsmon.db'}",
        data_dir=data,
        rules=tmp_path / "rules.yaml",
        feeds=tmp_path / "feeds.yaml",
    )
    yield Newsroom(tmp_path, settings, store, docs)
    store.close()
