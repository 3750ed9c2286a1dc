"""Signal series: what spike rules count, kept in the store beside articles and the ledger.

A spike rule asks "is the count of matching stories in a window far above its usual level?".
Both the counts and the usual level live in the store (Elasticsearch index ``news-signals``,
SQLite tables ``signal_hits`` / ``signal_states``), so a restarted alerter, or a second one,
carries on from the same numbers instead of starting cold:

* **hits** — one per (series, article): ``article_id``, ``at`` (the article's event time, ISO
  8601 with an offset) and whatever the series wants to remember (story, publisher, title...).
  Created once: a redelivered article adds nothing (``record_hits`` returns how many were new).
  Read back by time range, ordered by (``at``, ``article_id``), all of them (no page limit).
* **states** — one document per key with an opaque version: ``put_state`` writes only if the
  stored version is still the one read (compare-and-set), so two alerters folding the same
  window never overwrite each other; the loser re-reads and finds the work done.

:class:`MemorySignals` is the in-memory twin the :class:`~newsmon.store.MemoryStore` uses; the
SQLite and Elasticsearch adapters implement the same five operations on their own storage.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, insort
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SIGNALS_INDEX = "news-signals"


@dataclass(frozen=True)
class Versioned:
    """A state document and the version to hand back to ``put_state``."""

    doc: dict[str, Any]
    version: str


def at_millis(value: Any) -> int:
    """Epoch milliseconds of a hit's ``at`` (ISO 8601 text or an aware datetime); a naive
    time is UTC. ValueError when it is not a time."""
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def millis(when: datetime) -> int:
    return at_millis(when)


def hit_id(series: str, article_id: str) -> str:
    """The id of one hit: unique per (series, article)."""
    return f"{series}~{article_id}"


def check_hits(hits: Sequence[Mapping[str, Any]]) -> list[tuple[str, int, dict[str, Any]]]:
    """``(article_id, at_ms, doc)`` per hit; ValueError naming a hit without either."""
    out = []
    for hit in hits:
        if not hit.get("article_id") or not hit.get("at"):
            raise ValueError(f"a hit needs article_id and at: {dict(hit)!r:.200}")
        out.append((str(hit["article_id"]), at_millis(hit["at"]), dict(hit)))
    return out


class MemorySignals:
    """Hits and states in process (the memory twin's half of the signal operations)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits: dict[str, dict[str, tuple[int, dict[str, Any]]]] = {}
        self._order: dict[str, list[tuple[int, str]]] = {}
        self._states: dict[str, tuple[dict[str, Any], int]] = {}

    def record_hits(self, series: str, hits: Sequence[Mapping[str, Any]]) -> int:
        checked = check_hits(hits)
        created = 0
        with self._lock:
            known = self._hits.setdefault(series, {})
            order = self._order.setdefault(series, [])
            for article_id, at_ms, doc in checked:
                if article_id in known:
                    continue
                known[article_id] = (at_ms, {**doc, "series": series})
                insort(order, (at_ms, article_id))
                created += 1
        return created

    def hits(self, series: str, since: datetime, until: datetime) -> list[dict[str, Any]]:
        low, high = millis(since), millis(until)
        with self._lock:
            order = self._order.get(series, [])
            known = self._hits.get(series, {})
            start = bisect_left(order, (low, ""))
            out = []
            for at_ms, article_id in order[start:]:
                if at_ms >= high:
                    break
                out.append(dict(known[article_id][1]))
        return out

    def drop_hits(self, series: str, before: datetime) -> int:
        cut = millis(before)
        with self._lock:
            order = self._order.get(series, [])
            end = bisect_left(order, (cut, ""))
            known = self._hits.get(series, {})
            for _, article_id in order[:end]:
                del known[article_id]
            del order[:end]
        return end

    def get_state(self, key: str) -> Versioned | None:
        with self._lock:
            found = self._states.get(key)
        return None if found is None else Versioned(dict(found[0]), str(found[1]))

    def put_state(self, key: str, doc: Mapping[str, Any], version: str | None) -> str | None:
        with self._lock:
            found = self._states.get(key)
            if (found is None) != (version is None):
                return None
            if found is not None and str(found[1]) != version:
                return None
            new = 1 if found is None else found[1] + 1
            self._states[key] = (dict(doc), new)
        return str(new)
