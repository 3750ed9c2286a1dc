"""The ingest stage's Prometheus metrics (default registry, served by
:func:`newsmon.observe.serve_health` on the service's metrics port)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Protocol

from prometheus_client import Counter, Gauge, Histogram

POLLS = Counter(
    "newsmon_ingest_polls_total",
    "Feed polls by outcome: ok, not_modified, or the error kind (timeout, gone, blocked...)",
    ["status"],
)
ITEMS = Counter("newsmon_ingest_items_published_total", "Articles published to the raw topic")
BYTES = Counter(
    "newsmon_ingest_bytes_total",
    "Response body bytes read",
    ["kind"],  # kind: feed | article
)
FETCH_SECONDS = Histogram(
    "newsmon_ingest_fetch_seconds",
    "Wall-clock time of one fetch (all redirect hops)",
    ["kind"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60),
)
FULL_TEXT = Counter(
    "newsmon_ingest_full_text_total", "Article page fetches for full text by outcome", ["status"]
)
STALE = Gauge("newsmon_ingest_stale_feeds", "Feeds with no new item for N times their interval")
GONE = Gauge("newsmon_ingest_gone_feeds", "Feeds that answered 410 Gone and are not polled")
FAILING = Gauge("newsmon_ingest_failing_feeds", "Feeds whose last poll failed")
FEED_HEALTH = Gauge(
    "newsmon_ingest_feed_health",
    "Feeds with a health signal (silent, blocked, challenge, html, same_link, gone)",
    ["signal"],
)
HEALTH_CHANGES = Counter(
    "newsmon_ingest_health_changes_total", "Feed health signals begun or ended", ["signal", "state"]
)


class _HasHealth(Protocol):
    @property
    def health(self) -> str | None: ...


def set_health(records: Iterable[_HasHealth]) -> None:
    """The feed-health gauge from the records' active signals (every signal, zeros included)."""
    from ingest.health import SIGNALS

    counts = dict.fromkeys(SIGNALS, 0)
    for record in records:
        for name in json.loads(record.health) if record.health else {}:
            counts[name] = counts.get(name, 0) + 1
    for name, count in counts.items():
        FEED_HEALTH.labels(name).set(count)
