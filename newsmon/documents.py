"""The searchable document: one flat shape with the field names users type.

The same document is written to the store (Elasticsearch or its twin) and matched by alert
rules, so a query string selects the same articles everywhere. ``actor`` holds the *principal*
actors (salience ≥ 0.5: those who act or speak); every actor found is in ``actors``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from newsmon.schema import TaggedArticle

PRINCIPAL_SALIENCE = 0.5


def search_document(article: TaggedArticle, *, ingested: datetime | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "article_id": article.article_id,
        "url": article.url,
        "title": article.title,
        "text": article.text,
        "source": article.source,
        "feed": article.feed,
        "lang": article.lang,
        "country": article.country,
        "tags": list(article.tags),
        "story_id": article.story_id,
        "published": _iso(article.published),
        "fetched": _iso(article.fetched),
        "tagged": _iso(article.tagged),
        "actor": [a.name for a in article.actors if a.salience >= PRINCIPAL_SALIENCE],
        "topic": [t.name for t in article.topics],
        "place": [p.name for p in article.places],
        "actors": [a.model_dump() for a in article.actors],
        "topics": [{**t.model_dump(), "evidence": list(t.evidence)} for t in article.topics],
        "places": [p.model_dump() for p in article.places],
    }
    if ingested is not None:
        doc["ingested"] = _iso(ingested)
    return {k: v for k, v in doc.items() if v is not None}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
