"""Elasticsearch's side of :mod:`newsmon.aggregations`: the ``aggs`` body and its answer (pure).

* facets: ``terms`` on the counted field, ordered ``_count`` desc then ``_key`` asc — the rule
  the other stores follow;
* histogram: ``date_histogram`` on ``published``, ``calendar_interval`` hour or day in UTC,
  ``min_doc_count: 1``;
* stories: ``terms`` on ``story_id`` ordered by size or by ``max(published)``, then ``_key``;
  per story ``min``/``max`` of ``published``, the earliest article's title (``top_hits`` sorted
  by ``published`` then ``article_id``), ``terms`` on ``source.raw`` and a day histogram.

A term aggregation is exact on one shard; the articles' backing indices have one shard each,
so after a rollover ``shard_size`` (:data:`SHARD_SIZE` at least) keeps the top lists exact for
any realistic spread of a value across indices.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from newsmon.aggregations import (
    FACET_FIELDS,
    STORY_SOURCES,
    Aggregations,
    Interval,
    StoryOrder,
    StorySummary,
)

SHARD_SIZE = 10_000
_BY_COUNT = [{"_count": "desc"}, {"_key": "asc"}]
_EARLIEST = [{"published": {"order": "asc", "missing": "_last"}}, {"article_id": {"order": "asc"}}]


def _histogram(interval: Interval) -> dict[str, Any]:
    return {
        "date_histogram": {
            "field": "published",
            "calendar_interval": interval,
            "min_doc_count": 1,
            "time_zone": "UTC",
        }
    }


def _terms(field: str, size: int, order: Any = None) -> dict[str, Any]:
    return {
        "terms": {
            "field": field,
            "size": size,
            "shard_size": max(SHARD_SIZE, size * 2),
            "order": order or _BY_COUNT,
        }
    }


def aggregation_body(
    terms: Mapping[str, int], histogram: Interval | None, stories: int, order: StoryOrder
) -> dict[str, Any]:
    aggs: dict[str, Any] = {
        f"facet_{name}": _terms(FACET_FIELDS[name], size) for name, size in terms.items()
    }
    if histogram is not None:
        aggs["histogram"] = _histogram(histogram)
    if stories > 0:
        by = _BY_COUNT if order == "size" else [{"last": "desc"}, {"_key": "asc"}]
        story = _terms("story_id", stories, by)
        story["aggs"] = {
            "first": {"min": {"field": "published"}},
            "last": {"max": {"field": "published"}},
            "title": {
                "top_hits": {
                    "size": 1,
                    "sort": _EARLIEST,
                    "_source": {"includes": ["title", "article_id"]},
                }
            },
            "sources": _terms("source.raw", STORY_SOURCES),
            "per_day": _histogram("day"),
        }
        aggs["stories"] = story
    return aggs


def _when(agg: Mapping[str, Any]) -> datetime | None:
    value = agg.get("value")
    return None if value is None else datetime.fromtimestamp(value / 1000, UTC)


def _bucket_time(bucket: Mapping[str, Any]) -> datetime:
    return datetime.fromtimestamp(int(bucket["key"]) / 1000, UTC)


def _pairs(agg: Mapping[str, Any]) -> list[tuple[str, int]]:
    return [(str(b["key"]), int(b["doc_count"])) for b in agg["buckets"]]


def _story(bucket: Mapping[str, Any]) -> StorySummary:
    hits = bucket["title"]["hits"]["hits"]
    title = hits[0]["_source"].get("title", "") if hits else ""
    if isinstance(title, list):
        title = title[0] if title else ""
    return StorySummary(
        story_id=str(bucket["key"]),
        articles=int(bucket["doc_count"]),
        first=_when(bucket["first"]),
        last=_when(bucket["last"]),
        title=str(title or ""),
        sources=tuple(_pairs(bucket["sources"])),
        per_day=tuple(
            (_bucket_time(b).date(), int(b["doc_count"])) for b in bucket["per_day"]["buckets"]
        ),
    )


def aggregations_of(
    body: Mapping[str, Any], terms: Mapping[str, int], stories: int
) -> Aggregations:
    aggs = body.get("aggregations", {})
    histogram = aggs.get("histogram", {}).get("buckets", [])
    return Aggregations(
        total=int(body["hits"]["total"]["value"]),
        terms={name: _pairs(aggs[f"facet_{name}"]) for name in terms},
        histogram=[(_bucket_time(b), int(b["doc_count"])) for b in histogram],
        stories=[_story(b) for b in aggs.get("stories", {}).get("buckets", [])] if stories else [],
    )
