"""The article store port and its in-memory twin.

Documents are flat mappings with the field names users type (``title``, ``text``, ``actor``,
``topic``, ``source``, ``lang``, ``published``, ...) plus ``article_id``, which is the store's
document id. Writes are create-only: writing an id that exists is a *duplicate*, not an error, so
redelivery and replays are idempotent. The alert ledger lives beside the articles.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, runtime_checkable

from newsmon.aggregations import Aggregations, Interval, StoryOrder, aggregate_docs
from newsmon.query import FIELDS, compile_query
from newsmon.query.analysis import lowercase
from newsmon.signals import SIGNALS_INDEX, MemorySignals, Versioned

ARTICLES_ALIAS = "news-articles"
ALERTS_INDEX = "news-alerts"

Sort = Literal["published", "relevance"]


@dataclass(frozen=True)
class IndexLayout:
    """Templates and names the store creates (owned by the ``index`` stage, applied here)."""

    component_templates: Mapping[str, Mapping[str, Any]]
    index_templates: Mapping[str, Mapping[str, Any]]
    alias: str = ARTICLES_ALIAS
    first_index: str = f"{ARTICLES_ALIAS}-000001"
    alerts_index: str = ALERTS_INDEX
    signals_index: str = SIGNALS_INDEX


@dataclass
class WriteResult:
    written: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (article_id, reason): permanent


@dataclass(frozen=True)
class SearchResult:
    total: int
    hits: list[dict[str, Any]]
    # with ``search(..., highlight=True)``: per hit, field -> fragments with <em>matches</em>
    highlights: list[dict[str, list[str]]] = field(default_factory=list)


#: How many values ``stats`` returns per list, and topics per day.
STATS_TOP = 10
STATS_DAY_TOPICS = 50


@dataclass(frozen=True)
class Stats:
    """Aggregations over the articles a query selects (``newsmon stats``). Values are as
    written ("Vladimir Putin": Elasticsearch aggregates the ``raw`` sub-fields, which have no
    normalizer, while queries use the lower-cased fields); lists are ordered by count, then
    value; days (UTC, of ``published``) ascending."""

    total: int
    per_day: list[dict[str, Any]]  # {"day": "2025-05-10", "total": n, "topics": {name: n}}
    top_actors: list[tuple[str, int]]
    top_sources: list[tuple[str, int]]
    top_topics: list[tuple[str, int]]


@dataclass(frozen=True)
class RolloverPolicy:
    """When the indexer rolls the write alias over to a new backing index (any condition)."""

    max_docs: int | None = None
    max_size: str | None = "50gb"  # primary shard size
    max_age: str | None = "30d"
    check_every: float = 300.0  # seconds between checks

    def conditions(self) -> dict[str, Any]:
        found = {"max_docs": self.max_docs, "max_primary_shard_size": self.max_size,
                 "max_age": self.max_age}
        return {k: v for k, v in found.items() if v is not None}


@runtime_checkable
class RollingStore(Protocol):
    """A store with rollover-ready backing indices (Elasticsearch)."""

    def rollover(self, policy: RolloverPolicy) -> str | None:
        """Roll over if a condition is met: the new write index, else None."""


class ArticleStore(Protocol):
    def ensure_schema(self) -> None:
        """Create templates, indices and aliases if missing (idempotent)."""

    def write_articles(self, docs: Sequence[Mapping[str, Any]]) -> WriteResult:
        """Create each document under its ``article_id``; TransientError if the store is down."""

    def search(
        self,
        query: str,
        *,
        limit: int = 20,
        sort: Sort = "published",
        highlight: bool = False,
        offset: int = 0,
    ) -> SearchResult:
        """The ``limit`` hits after the first ``offset`` (pages) and the total."""

    def aggregate(
        self,
        query: str,
        *,
        terms: Mapping[str, int] | None = None,
        histogram: Interval | None = None,
        stories: int = 0,
        story_order: StoryOrder = "recent",
    ) -> Aggregations:
        """Facet counts, a date histogram and the top stories of the matching articles, as
        :mod:`newsmon.aggregations` defines them (the same numbers on every store)."""

    def get(self, article_id: str) -> dict[str, Any] | None: ...

    def count(self, query: str = "*") -> int: ...

    def stats(self, query: str = "*:*", *, top: int = STATS_TOP) -> Stats:
        """Articles per day per topic, top actors, sources and topics of the matching articles."""

    def record_alert(self, alert_id: str, doc: Mapping[str, Any]) -> bool:
        """Create the ledger entry; False if ``alert_id`` was already recorded."""

    def update_alert(self, alert_id: str, fields: Mapping[str, Any]) -> None: ...

    def get_alert(self, alert_id: str) -> dict[str, Any] | None: ...

    def alerts(self, where: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Ledger entries whose fields equal every ``where`` value (keyword fields such as
        ``kind``, ``rule``, ``status``, ``period``), in no particular order; for the CLI and
        digests, not for the hot path. Sees every acknowledged ledger write."""

    def record_hits(self, series: str, hits: Sequence[Mapping[str, Any]]) -> int:
        """Create one hit per (``series``, ``hit["article_id"]``) unless it exists (replays add
        nothing); each hit carries ``at`` (ISO 8601). How many were new
        (:mod:`newsmon.signals`)."""

    def hits(self, series: str, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """Every hit of ``series`` with ``since <= at < until``, by (``at``, ``article_id``);
        all of them, no page limit; sees every acknowledged ``record_hits``."""

    def drop_hits(self, series: str, before: datetime) -> int:
        """Delete the hits of ``series`` older than ``before`` (retention)."""

    def get_state(self, key: str) -> Versioned | None:
        """A state document and its version, or None."""

    def put_state(self, key: str, doc: Mapping[str, Any], version: str | None) -> str | None:
        """Write ``doc`` if the stored version is still ``version`` (None: only if there is
        none yet): the new version, or None when another writer came first."""

    def refresh(self) -> None:
        """Make every acknowledged write visible to search (tests, CLI after a backfill)."""

    def check(self) -> None:
        """Raise TransientError unless the store is reachable (health check)."""

    def close(self) -> None: ...


def ledger_matches(doc: Mapping[str, Any], where: Mapping[str, str] | None) -> bool:
    """Does a ledger entry carry every ``where`` value (a list field: among its values)?"""
    for key, want in (where or {}).items():
        have = doc.get(key)
        values = have if isinstance(have, list | tuple) else [have]
        if want not in [str(v) for v in values if v is not None]:
            return False
    return True


def _published_key(doc: Mapping[str, Any]) -> str:
    value = doc.get("published")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value or "")


def _values(doc: Mapping[str, Any], name: str) -> set[str]:
    """A keyword field's distinct values as written (its ``raw`` sub-field in Elasticsearch)."""
    value = doc.get(name)
    values = value if isinstance(value, list | tuple) else [value]
    return {str(v) for v in values if v is not None and v != ""}


def _utc_day(value: Any) -> str | None:
    try:
        when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).date().isoformat()


def _top(counter: Counter[str], n: int) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def stats_of(docs: Iterable[Mapping[str, Any]], *, top: int = STATS_TOP) -> Stats:
    """:class:`Stats` computed in Python, as Elasticsearch's aggregations compute them."""
    total, actors, sources, topics = 0, Counter[str](), Counter[str](), Counter[str]()
    days: dict[str, Counter[str]] = {}
    day_totals: Counter[str] = Counter()
    for doc in docs:
        total += 1
        doc_topics = _values(doc, "topic")
        actors.update(_values(doc, "actor"))
        sources.update(_values(doc, "source"))
        topics.update(doc_topics)
        day = _utc_day(doc.get("published")) if doc.get("published") else None
        if day is not None:
            day_totals[day] += 1
            days.setdefault(day, Counter()).update(doc_topics)
    per_day = [{"day": d, "total": day_totals[d], "topics": dict(_top(days[d], STATS_DAY_TOPICS))}
               for d in sorted(days)]
    return Stats(total, per_day, _top(actors, top), _top(sources, top), _top(topics, top))


_WORD = re.compile(r"\w+(?:['’.:]\w+)*")
HIGHLIGHT_FIELDS = ("title", "text")


def mark_terms(
    doc: Mapping[str, Any], matched: Sequence[str], *, fragment_chars: int = 150,
    fragments: int = 3,
) -> dict[str, list[str]]:
    """Highlights from the matcher's ``explain``: the matched words of ``title`` (whole field)
    and ``text`` (up to ``fragments`` snippets) wrapped in ``<em>``, like Elasticsearch's."""
    words: dict[str, set[str]] = {f: set() for f in HIGHLIGHT_FIELDS}
    for entry in matched:
        name, sep, value = entry.partition(":")
        if sep and name in FIELDS:
            if name in words:
                words[name].update(value.split())
        else:
            for f in HIGHLIGHT_FIELDS:
                words[f].update(entry.split())
    out: dict[str, list[str]] = {}
    for name, wanted in words.items():
        text = doc.get(name)
        if not wanted or not isinstance(text, str):
            continue
        spans = [m.span() for m in _WORD.finditer(text) if lowercase(m.group()) in wanted]
        if spans:
            out[name] = ([_marked(text, spans, 0, len(text))] if name == "title"
                         else _fragments(text, spans, fragment_chars, fragments))
    return out


def _marked(text: str, spans: Sequence[tuple[int, int]], start: int, end: int) -> str:
    parts, pos = [], start
    for a, b in spans:
        if a >= start and b <= end:
            parts += [text[pos:a], "<em>", text[a:b], "</em>"]
            pos = b
    return "".join(parts) + text[pos:end]


def _fragments(text: str, spans: Sequence[tuple[int, int]], size: int, n: int) -> list[str]:
    out: list[str] = []
    covered = -1
    for a, _ in spans:
        if a < covered:
            continue
        start = max(0, text.rfind(" ", 0, max(0, a - size // 3)) + 1)
        end = text.find(" ", min(len(text), start + size))
        end = len(text) if end < 0 else end
        out.append(_marked(text, spans, start, end).strip())
        covered = end
        if len(out) == n:
            break
    return out


class MemoryStore:
    """In-process twin of the Elasticsearch store; search uses the stream matcher."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._articles: dict[str, dict[str, Any]] = {}
        self._alerts: dict[str, dict[str, Any]] = {}
        self._signals = MemorySignals()

    def ensure_schema(self) -> None:
        return None

    def write_articles(self, docs: Sequence[Mapping[str, Any]]) -> WriteResult:
        result = WriteResult()
        with self._lock:
            for doc in docs:
                doc_id = str(doc["article_id"])
                if doc_id in self._articles:
                    result.duplicates.append(doc_id)
                else:
                    self._articles[doc_id] = dict(doc)
                    result.written.append(doc_id)
        return result

    def search(
        self,
        query: str,
        *,
        limit: int = 20,
        sort: Sort = "published",
        highlight: bool = False,
        offset: int = 0,
    ) -> SearchResult:
        matcher = compile_query(query)
        with self._lock:
            hits = [dict(d) for d in self._articles.values() if matcher.matches(d)]
        hits.sort(key=_published_key, reverse=True)
        start = max(offset, 0)
        total, hits = len(hits), hits[start : start + max(limit, 0)]
        marks = [mark_terms(h, matcher.explain(h) or []) for h in hits] if highlight else []
        return SearchResult(total=total, hits=hits, highlights=marks)

    def stats(self, query: str = "*:*", *, top: int = STATS_TOP) -> Stats:
        return stats_of(self._matching(query), top=top)

    def aggregate(
        self,
        query: str,
        *,
        terms: Mapping[str, int] | None = None,
        histogram: Interval | None = None,
        stories: int = 0,
        story_order: StoryOrder = "recent",
    ) -> Aggregations:
        return aggregate_docs(self._matching(query), terms=terms, histogram=histogram,
                              stories=stories, story_order=story_order)

    def _matching(self, query: str) -> list[dict[str, Any]]:
        matcher = compile_query(query)
        with self._lock:
            return [dict(d) for d in self._articles.values() if matcher.matches(d)]

    def get(self, article_id: str) -> dict[str, Any] | None:
        with self._lock:
            doc = self._articles.get(article_id)
            return dict(doc) if doc is not None else None

    def count(self, query: str = "*") -> int:
        if query.strip() in ("", "*", "*:*"):
            with self._lock:
                return len(self._articles)
        return self.search(query, limit=0).total

    def record_alert(self, alert_id: str, doc: Mapping[str, Any]) -> bool:
        with self._lock:
            if alert_id in self._alerts:
                return False
            self._alerts[alert_id] = {**doc, "alert_id": alert_id}
            return True

    def update_alert(self, alert_id: str, fields: Mapping[str, Any]) -> None:
        with self._lock:
            self._alerts[alert_id].update(fields)

    def get_alert(self, alert_id: str) -> dict[str, Any] | None:
        with self._lock:
            doc = self._alerts.get(alert_id)
            return dict(doc) if doc is not None else None

    def alerts(self, where: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        with self._lock:
            docs = [dict(d) for d in self._alerts.values()]
        return [d for d in docs if ledger_matches(d, where)]

    def record_hits(self, series: str, hits: Sequence[Mapping[str, Any]]) -> int:
        return self._signals.record_hits(series, hits)

    def hits(self, series: str, since: datetime, until: datetime) -> list[dict[str, Any]]:
        return self._signals.hits(series, since, until)

    def drop_hits(self, series: str, before: datetime) -> int:
        return self._signals.drop_hits(series, before)

    def get_state(self, key: str) -> Versioned | None:
        return self._signals.get_state(key)

    def put_state(self, key: str, doc: Mapping[str, Any], version: str | None) -> str | None:
        return self._signals.put_state(key, doc, version)

    def refresh(self) -> None:
        return None

    def check(self) -> None:
        return None

    def close(self) -> None:
        return None
