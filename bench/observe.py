"""Watching the pipeline from outside: when is each article searchable in Elasticsearch?

Two ways, both on the article alias of the run's namespace:

* :meth:`Watcher.wait_count` (throughput run): ``_refresh`` then ``_count`` every ``every``
  seconds until the expected number of documents is there; the end time is the first poll that
  saw them all. Forcing the refresh measures when the pipeline *delivered* the last document,
  not when the 1 s refresh interval happened to expose it.
* :meth:`Watcher.watch_new` (latency run): no forced refresh — exactly what a user's search
  sees with the index's own refresh interval. Every ``every`` seconds it asks for documents
  ingested since a trailing watermark and records the wall time each article id was first
  returned; poll-to-searchable = that time − the article's ``fetched`` (the poll that found it).
  A ``_count`` first: the search runs only when the count grew.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch, helpers

FIELDS = ["article_id", "fetched", "tagged", "ingested"]


def ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


class Watcher:
    def __init__(self, url: str, alias: str) -> None:
        self.es = Elasticsearch(url, request_timeout=30)
        self.alias = alias

    def count(self, refresh: bool = True) -> int:
        try:
            if refresh:
                self.es.indices.refresh(index=self.alias)
            return int(self.es.count(index=self.alias)["count"])
        except Exception:  # the alias appears with the index service's first write
            return 0

    def wait_count(self, expected: int, timeout: float, every: float = 0.25,
                   alive: Callable[[], None] | None = None) -> float:
        """Wall time of the first poll that counted ``expected`` documents."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count() >= expected:
                return time.time()
            if alive is not None:
                alive()
            time.sleep(every)
        raise TimeoutError(f"{self.count()} of {expected} documents after {timeout:.0f}s")

    def watch_new(self, ids: Collection[str], timeout: float, every: float = 0.2,
                  alive: Callable[[], None] | None = None) -> dict[str, float]:
        """First-seen wall time of every id in ``ids`` (natural refresh only)."""
        seen: dict[str, float] = {}
        watermark = 0.0
        deadline = time.monotonic() + timeout
        counted = 0
        while len(seen) < len(ids) and time.monotonic() < deadline:
            now = time.time()
            total = self.count(refresh=False)
            fresh = self._since(watermark) if total > counted else []
            counted = total if fresh else counted
            for hit in fresh:
                src = hit["_source"]
                if src["article_id"] in ids and src["article_id"] not in seen:
                    seen[src["article_id"]] = now
                    watermark = max(watermark, ts(src["ingested"]) - 10.0)
            if alive is not None:
                alive()
            time.sleep(every)
        if len(seen) < len(ids):
            raise TimeoutError(f"{len(seen)} of {len(ids)} articles seen after {timeout:.0f}s")
        return seen

    def _since(self, watermark: float) -> list[dict[str, Any]]:
        query = {"range": {"ingested": {"gte": int(watermark * 1000), "format": "epoch_millis"}}}
        try:
            resp = self.es.search(index=self.alias, query=query, size=10_000,
                                  source_includes=["article_id", "ingested"])
        except Exception:
            return []
        return list(resp["hits"]["hits"])

    def documents(self) -> dict[str, dict[str, float]]:
        """article_id → {fetched, tagged, ingested} as epoch seconds, for every document."""
        out = {}
        for hit in helpers.scan(self.es, index=self.alias, query={"query": {"match_all": {}}},
                                _source=FIELDS, size=2000):
            src = hit["_source"]
            out[src["article_id"]] = {k: ts(src[k]) for k in FIELDS[1:] if k in src}
        return out

    def store_bytes_per_doc(self) -> int | None:
        """Primary store size ÷ documents (segments as they are: not force-merged)."""
        try:
            self.es.indices.flush(index=self.alias)
            stats = self.es.indices.stats(index=self.alias, metric=["store", "docs"])
            prim = stats["_all"]["primaries"]
            return int(prim["store"]["size_in_bytes"] / max(1, prim["docs"]["count"]))
        except Exception:  # noqa: BLE001 - a figure, not a failure
            return None

    def story_store(self, namespace: str, articles: int) -> dict[str, dict[str, float]] | None:
        """Per story index (``news-story-bands``, ``news-story-records``): documents, primary
        store bytes (unmerged) and, per article that went through, documents, write
        operations (creates and overwrites, 409s not counted), documents read by id (mget)
        and searches (the cross-lingual nearest-neighbour query)."""
        out: dict[str, dict[str, float]] = {}
        try:
            for name in ("news-story-bands", "news-story-records"):
                index = namespace + name
                self.es.indices.flush(index=index)
                stats = self.es.indices.stats(
                    index=index, metric=["store", "docs", "indexing", "get", "search"]
                )["_all"]["primaries"]
                docs = int(stats["docs"]["count"])
                size = int(stats["store"]["size_in_bytes"])
                out[name.removeprefix("news-story-")] = {
                    "docs": docs,
                    "store_bytes": size,
                    "bytes_per_doc": round(size / max(1, docs), 1),
                    "docs_per_article": round(docs / max(1, articles), 2),
                    "writes_per_article": round(
                        stats["indexing"]["index_total"] / max(1, articles), 2
                    ),
                    "gets_per_article": round(stats["get"]["total"] / max(1, articles), 2),
                    "searches_per_article": round(
                        stats["search"]["query_total"] / max(1, articles), 3
                    ),
                }
        except Exception:  # noqa: BLE001 - a figure, not a failure
            return None
        return out

    def close(self) -> None:
        self.es.close()


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]
