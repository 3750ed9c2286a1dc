"""Layout from scratch and idempotently; rollover by the indexer; no second copy after a
rollover; ``newsmon search`` / ``newsmon stats`` / ``newsmon index check`` as subprocesses
return what direct Elasticsearch queries return."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from index.layout import load_layout
from index.stage import IndexStage
from newsmon.adapters.es_store import ElasticsearchStore
from newsmon.bus import TAGGED_TOPIC, Record
from newsmon.schema import encode
from newsmon.store import RolloverPolicy
from tests.integration.test_index_bulk import ACTORS, article, drop, duplicate_ids

pytestmark = pytest.mark.integration


def records(lo: int, hi: int) -> list[Record]:
    return [Record(TAGGED_TOPIC, 0, i, None, encode(article(i))) for i in range(lo, hi)]


def newsmon(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "newsmon", *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.fixture
def ns(unique: str) -> str:
    return f"t{unique}-"


@pytest.fixture
def es_store(services: Any, ns: str) -> Iterator[ElasticsearchStore]:
    store = ElasticsearchStore(services.store, load_layout(ns))
    yield store
    drop(store, ns)


@pytest.fixture
def env(services: Any, ns: str) -> dict[str, str]:
    return {**os.environ, "NEWSMON_STORE": services.store, "NEWSMON_NAMESPACE": ns,
            "NEWSMON_LOG_FORMAT": "text"}


def test_layout_from_scratch_idempotent_and_checked(
    es_store: ElasticsearchStore, env: dict[str, str], ns: str
) -> None:
    missing = newsmon(env, "index", "check")
    assert missing.returncode == 1 and "is missing" in missing.stdout
    for _ in range(2):
        created = newsmon(env, "index", "create")
        assert created.returncode == 0, created.stdout + created.stderr
        assert "check: OK" in created.stdout
    es = es_store.client
    assert list(es.indices.get_alias(name=f"{ns}news-articles")) == [f"{ns}news-articles-000001"]
    assert es.indices.exists(index=f"{ns}news-alerts")
    es.indices.put_mapping(index=f"{ns}news-articles-000001",
                           properties={"extra": {"type": "keyword"}})
    changed = newsmon(env, "index", "check")
    assert changed.returncode == 1 and "field extra is not in the shipped mapping" in changed.stdout


def test_rollover_dedup_search_and_stats(
    es_store: ElasticsearchStore, env: dict[str, str], ns: str
) -> None:
    es_store.ensure_schema()
    stage = IndexStage(es_store, policy=RolloverPolicy(max_docs=100, check_every=0))
    stage.handle(records(0, 150))
    es_store.refresh()  # max_docs counts searchable documents
    stage.handle(records(150, 200))  # the check after this batch rolls over
    assert stage.rollovers == [f"{ns}news-articles-000002"]
    stage.handle(records(200, 300))
    es_store.refresh()
    es = es_store.client
    per_index = {i: es.count(index=i)["count"] for i in stage.rollovers + [
        f"{ns}news-articles-000001"]}
    assert per_index == {f"{ns}news-articles-000001": 200, f"{ns}news-articles-000002": 100}
    assert es_store.count() == 300 and es_store.count("Istanbul") == 300

    replay = IndexStage(es_store, policy=RolloverPolicy(max_docs=None, max_size=None,
                                                        max_age=None))
    replay.handle(records(0, 300))
    es_store.refresh()
    assert replay.written == 0 and replay.duplicates == 300
    assert es_store.count() == 300 and not duplicate_ids(es_store)

    cli_matches_direct_queries(es_store, env)


def cli_matches_direct_queries(store: ElasticsearchStore, env: dict[str, str]) -> None:
    es = store.client
    query = ('(ceasefire) AND topic:"peace_talks" AND actor:"Volodymyr Zelensky"'
             " AND published:[2025-05-05T00:00:00.000Z TO *]")
    direct = es.search(index=store.alias, size=500, track_total_hits=True,
                       query={"query_string": {"query": query}},
                       sort=[{"published": "desc"}, {"article_id": "asc"}])
    want = {h["_id"] for h in direct["hits"]["hits"]}
    assert want, "the query should select something"
    found = newsmon(env, "search", "ceasefire", "--topic", "peace_talks", "--actor",
                    "Volodymyr Zelensky", "--since", "2025-05-05", "--json", "--limit", "500")
    assert found.returncode == 0, found.stderr
    hits = [json.loads(line) for line in found.stdout.splitlines()]
    assert {h["article_id"] for h in hits} == want
    assert all("<em>ceasefire</em>" in h["highlight"]["text"][0] for h in hits)
    text = newsmon(env, "search", "ceasefire", "--topic", "peace_talks", "--actor",
                   "Volodymyr Zelensky", "--since", "2025-05-05")
    assert f"{direct['hits']['total']['value']} articles match" in text.stdout

    stats = newsmon(env, "stats", "--since", "2025-05-03", "--json", "--top", "3")
    assert stats.returncode == 0, stats.stderr
    got = json.loads(stats.stdout)
    aggs = es.search(index=store.alias, size=0, track_total_hits=True,
                     query={"range": {"published": {"gte": "2025-05-03T00:00:00.000Z"}}},
                     aggs={"days": {"date_histogram": {"field": "published",
                                                       "calendar_interval": "day",
                                                       "min_doc_count": 1},
                                    "aggs": {"t": {"terms": {"field": "topic.raw"}}}},
                           "actors": {"terms": {"field": "actor.raw", "size": 3}},
                           "sources": {"terms": {"field": "source.raw", "size": 3}}})
    a = aggs["aggregations"]
    assert got["total"] == aggs["hits"]["total"]["value"]
    assert [(d["day"], d["total"], d["topics"]) for d in got["per_day"]] == [
        (b["key_as_string"][:10], b["doc_count"],
         {t["key"]: t["doc_count"] for t in b["t"]["buckets"]}) for b in a["days"]["buckets"]]
    assert [(x["name"], x["count"]) for x in got["top_actors"]] == [
        (b["key"], b["doc_count"]) for b in a["actors"]["buckets"]]
    assert [(x["name"], x["count"]) for x in got["top_sources"]] == [
        (b["key"], b["doc_count"]) for b in a["sources"]["buckets"]]
    assert {x["name"] for x in got["top_actors"]} <= set(ACTORS)  # "Vladimir Putin", as written
    assert all(x["name"].startswith("Wire ") for x in got["top_sources"])


def test_ilm_install_on_a_cluster_without_ilm_fails_clearly_and_changes_nothing(
    es_store: ElasticsearchStore, env: dict[str, str], ns: str
) -> None:
    es_store.ensure_schema()
    es = es_store.client
    before = es.cluster.get_component_template(name=f"{ns}news-articles-settings").body
    settings_before = es.indices.get_settings(index=f"{ns}news-articles-*").body
    got = newsmon(env, "ilm", "install")
    assert got.returncode == 2, got.stdout + got.stderr
    assert "no index lifecycle management (ILM" in got.stderr and "nothing was changed" in (
        got.stderr)
    assert got.stdout == ""
    assert es.cluster.get_component_template(name=f"{ns}news-articles-settings").body == before
    assert es.indices.get_settings(index=f"{ns}news-articles-*").body == settings_before
    assert newsmon(env, "index", "check").returncode == 0
