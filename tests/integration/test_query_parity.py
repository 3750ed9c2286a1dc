"""One query language everywhere: the same Lucene string selects the same articles in
Elasticsearch (``query_string``, what Kibana's Lucene bar sends), in the stream matcher used by
alert rules (and the in-memory store), and in the embedded SQLite store.

The documents are 40 real articles (the seed and the dev set) tagged once and frozen in
``tests/fixtures/parity_docs.jsonl`` so this test does not move with the tagger.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from newsmon.query import compile_query
from newsmon.store import ArticleStore

pytestmark = pytest.mark.integration

DOCS = [
    json.loads(line)
    for line in (Path(__file__).parents[1] / "fixtures" / "parity_docs.jsonl").open(
        encoding="utf-8"
    )
]

QUERIES = [
    "ceasefire",
    "Istanbul",
    "ISTANBUL",
    'ceasefire AND actor:"Vladimir Putin"',
    'actor:"vladimir putin"',
    "actor:Putin",
    "topic:peace_talks",
    "NOT topic:peace_talks",
    "-topic:peace_talks",
    "ceasefire OR truce",
    "ceasefire truce",
    "ceasefire AND NOT Gaza",
    "ceasefire -Gaza",
    "+ceasefire +Istanbul",
    '"peace talks"',
    '"peace talks" AND Istanbul',
    'title:"peace talks"',
    "title:ceasefire",
    "text:negotiations",
    "negotiat*",
    "title:negotiat*",
    "cease*",
    "Zelensk?",
    "actor:Vladimir*",
    "actor:*Zelensky",
    "source:Reuters",
    'source:"ABC News"',
    "lang:de",
    "lang:en AND topic:peace_talks",
    "published:[2025-01-01 TO 2025-12-31]",
    "published:[2022-03-01 TO 2022-03-31]",
    "published:>=2024-01-01",
    "published:<2022-06-01",
    "published:{2022-03-03 TO 2022-03-29}",
    "(ceasefire OR armistice) AND (Russia OR Ukraine)",
    "ceasefire OR Istanbul AND Erdogan",
    "Erdogan AND Istanbul OR Geneva",
    "actor:* AND Gaza",
    "_exists_:published",
    "place:Istanbul",
    "Waffenstillstand",
    "Zelensky~1",
    "Kyiv^2 Moscow",
    "story_id:* AND ceasefire",
    "prisoner AND (exchange OR swap)",
    "Ukraine AND Russia AND NOT (ceasefire OR talks)",
    "*",
]


def ids(hits: list[dict[str, Any]]) -> set[str]:
    return {h["article_id"] for h in hits}


@pytest.fixture(scope="module")
def elasticsearch(services: Any) -> Iterator[ArticleStore]:
    import uuid

    from index.layout import load_layout
    from newsmon.adapters.es_store import ElasticsearchStore

    ns = f"p{uuid.uuid4().hex[:8]}-"
    store = ElasticsearchStore(services.store, load_layout(ns))
    store.ensure_schema()
    result = store.write_articles(DOCS)
    assert len(result.written) == len(DOCS) and not result.failed
    store.refresh()
    yield store
    store.client.indices.delete(index=f"{ns}*", ignore_unavailable=True)
    store.close()


@pytest.fixture(scope="module")
def sqlite(tmp_path_factory: pytest.TempPathFactory) -> ArticleStore:
    from newsmon.adapters.sqlite_store import SqliteStore

    store = SqliteStore(tmp_path_factory.mktemp("parity") / "parity.db")
    store.write_articles(DOCS)
    return store


def test_fixture_covers_the_cases() -> None:
    assert len(DOCS) >= 40 and len(QUERIES) >= 30


@pytest.mark.parametrize("query", QUERIES)
def test_same_articles_everywhere(
    query: str, elasticsearch: ArticleStore, sqlite: ArticleStore
) -> None:
    es = ids(elasticsearch.search(query, limit=1000).hits)
    matcher = compile_query(query)
    stream = {d["article_id"] for d in DOCS if matcher.matches(d)}
    embedded = ids(sqlite.search(query, limit=1000).hits)
    assert stream == es, f"matcher differs from Elasticsearch: +{stream - es} -{es - stream}"
    assert embedded == es, f"SQLite differs from Elasticsearch: +{embedded - es} -{es - embedded}"
