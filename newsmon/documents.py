"""The searchable document: one flat shape with the field names users type.

The same document is written to the store (Elasticsearch or its twin) and matched by alert
rules, so a query string selects the same articles everywhere. ``actor`` holds the *principal*
actors (salience ≥ 0.5: those who act or speak); every actor found is in ``actors``.

:class:`SearchDocument` is the same document as a lazy view: a mapping for stores that keep
Python values, or its JSON (``encoded()``) for stores that send JSON — serialised by pydantic in
one pass from the decoded article, without building the dict (the indexer's hot path).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from pydantic_core import to_json

from newsmon.schema import TaggedArticle

PRINCIPAL_SALIENCE = 0.5


def search_document(article: TaggedArticle, *, ingested: datetime | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "article_id": article.article_id,
        "url": article.url,
        "title": article.title,
        "text": article.text,
        "source": article.source,
        "author": article.author,
        "feed": article.feed,
        "lang": article.lang,
        "country": article.country,
        "tags": list(article.tags),
        "story_id": article.story_id,
        "published": _iso(article.published),
        "fetched": _iso(article.fetched),
        "tagged": _iso(article.tagged),
        **derived_fields(article),
        "actors": [a.model_dump() for a in article.actors],
        "topics": [{**t.model_dump(), "evidence": list(t.evidence)} for t in article.topics],
        "places": [p.model_dump() for p in article.places],
    }
    if ingested is not None:
        doc["ingested"] = _iso(ingested)
    return {k: v for k, v in doc.items() if v is not None}


def derived_fields(article: TaggedArticle) -> dict[str, list[str]]:
    """The flat fields users type (``actor``: principal actors only, ``topic``, ``place``)."""
    return {
        "actor": [a.name for a in article.actors if a.salience >= PRINCIPAL_SALIENCE],
        "topic": [t.name for t in article.topics],
        "place": [p.name for p in article.places],
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


#: Fields of a tagged article that are not part of its search document.
NOT_SEARCHED = frozenset({"schema_version"})


class SearchDocument(Mapping[str, Any]):
    """``search_document(article, ingested=...)`` computed on demand: ``doc["article_id"]``
    costs nothing, the first other key builds the dict, ``encoded()`` the JSON bytes. Both
    renderings hold the same values (the JSON writes datetimes as pydantic does, ``Z`` for UTC,
    and leaves out nested nulls)."""

    __slots__ = ("article", "ingested", "_doc", "_json")

    def __init__(self, article: TaggedArticle, *, ingested: datetime | None = None) -> None:
        self.article, self.ingested = article, ingested
        self._doc: dict[str, Any] | None = None
        self._json: bytes | None = None

    @property
    def article_id(self) -> str:
        return self.article.article_id

    def encoded(self) -> bytes:
        """The document as compact UTF-8 JSON (computed once)."""
        if self._json is None:
            self._json = self._encode()
        return self._json

    def _encode(self) -> bytes:
        a = self.article
        body = to_json(a, exclude=set(NOT_SEARCHED), exclude_none=True)
        derived: dict[str, Any] = derived_fields(a)
        if self.ingested is not None:
            derived["ingested"] = self.ingested.isoformat()
        return body[:-1] + b"," + to_json(derived)[1:]

    def _dict(self) -> dict[str, Any]:
        if self._doc is None:
            self._doc = search_document(self.article, ingested=self.ingested)
        return self._doc

    def __getitem__(self, key: str) -> Any:
        if key == "article_id":
            return self.article.article_id
        return self._dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict())

    def __len__(self) -> int:
        return len(self._dict())
