"""The article store port and its in-memory twin.

Documents are flat mappings with the field names users type (``title``, ``text``, ``actor``,
``topic``, ``source``, ``lang``, ``published``, ...) plus ``article_id``, which is the store's
document id. Writes are create-only: writing an id that exists is a *duplicate*, not an error, so
redelivery and replays are idempotent. The alert ledger lives beside the articles.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from newsmon.query import compile_query

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


@dataclass
class WriteResult:
    written: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (article_id, reason): permanent


@dataclass(frozen=True)
class SearchResult:
    total: int
    hits: list[dict[str, Any]]


class ArticleStore(Protocol):
    def ensure_schema(self) -> None:
        """Create templates, indices and aliases if missing (idempotent)."""

    def write_articles(self, docs: Sequence[Mapping[str, Any]]) -> WriteResult:
        """Create each document under its ``article_id``; TransientError if the store is down."""

    def search(self, query: str, *, limit: int = 20, sort: Sort = "published") -> SearchResult: ...

    def get(self, article_id: str) -> dict[str, Any] | None: ...

    def count(self, query: str = "*") -> int: ...

    def record_alert(self, alert_id: str, doc: Mapping[str, Any]) -> bool:
        """Create the ledger entry; False if ``alert_id`` was already recorded."""

    def update_alert(self, alert_id: str, fields: Mapping[str, Any]) -> None: ...

    def get_alert(self, alert_id: str) -> dict[str, Any] | None: ...

    def alerts(self) -> list[dict[str, Any]]: ...

    def refresh(self) -> None:
        """Make every acknowledged write visible to search (tests, CLI after a backfill)."""

    def check(self) -> None:
        """Raise TransientError unless the store is reachable (health check)."""

    def close(self) -> None: ...


def _published_key(doc: Mapping[str, Any]) -> str:
    value = doc.get("published")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value or "")


class MemoryStore:
    """In-process twin of the Elasticsearch store; search uses the stream matcher."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._articles: dict[str, dict[str, Any]] = {}
        self._alerts: dict[str, dict[str, Any]] = {}

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

    def search(self, query: str, *, limit: int = 20, sort: Sort = "published") -> SearchResult:
        matcher = compile_query(query)
        with self._lock:
            hits = [dict(d) for d in self._articles.values() if matcher.matches(d)]
        hits.sort(key=_published_key, reverse=True)
        return SearchResult(total=len(hits), hits=hits[:limit])

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

    def alerts(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(d) for d in self._alerts.values()]

    def refresh(self) -> None:
        return None

    def check(self) -> None:
        return None

    def close(self) -> None:
        return None
