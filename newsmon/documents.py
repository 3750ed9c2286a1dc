"""The searchable document: one flat shape with the field names users type.

The same document is written to the store (Elasticsearch or its twin) and matched by alert
rules, so a query string selects the same articles everywhere. ``actor`` holds the *principal*
actors (salience ≥ 0.5: those who act or speak); every actor found is in ``actors``.

:class:`SearchDocument` is the same document as a lazy view: a mapping for stores that keep
Python values, or its JSON (``encoded()``) for stores that send JSON — serialised by pydantic in
one pass from the decoded article, without building the dict (the indexer's hot path).

A tagged-article message that :func:`decode_exact` accepts already *is* that JSON, but for its
``schema_version`` and the derived fields: exact means validated strictly (no coercion: every
value has the JSON type the schema's own encoder writes) with no field the schema does not
know, at any depth. :meth:`SearchDocument.verbatim` then sends the message's own bytes, with the
version cut off the front and the derived fields appended, instead of serialising the article
again (about half the indexer's own CPU per document). Anything else — a message from another
encoder, an unknown field, a coerced value — takes the canonical path; so does a verbatim
document Elasticsearch rejects, once (:meth:`SearchDocument.canonical`), before it is a dead
letter.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from pydantic import ConfigDict, ValidationError
from pydantic_core import to_json

from newsmon.schema import SCHEMA_VERSION, Actor, Place, TaggedArticle, Topic

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

    __slots__ = ("article", "ingested", "_doc", "_json", "_payload")

    def __init__(self, article: TaggedArticle, *, ingested: datetime | None = None) -> None:
        self.article, self.ingested = article, ingested
        self._doc: dict[str, Any] | None = None
        self._json: bytes | None = None
        self._payload: bytes | None = None

    @classmethod
    def verbatim(
        cls, article: TaggedArticle, payload: bytes, *, ingested: datetime | None = None
    ) -> SearchDocument:
        """The document of ``article``, encoded from ``payload``, the message it was decoded
        from by :func:`decode_exact`; a payload not laid out as :func:`newsmon.schema.encode`
        writes it (version first, no trailing bytes) is encoded canonically instead."""
        doc = cls(article, ingested=ingested)
        if payload.startswith(_VERSION_PREFIX) and payload.endswith(b"}"):
            doc._payload = payload
        return doc

    @property
    def is_verbatim(self) -> bool:
        return self._payload is not None

    def canonical(self) -> SearchDocument:
        """The same document, serialised from the article (what a verbatim one retries as)."""
        return SearchDocument(self.article, ingested=self.ingested)

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
        derived: dict[str, Any] = derived_fields(a)
        if self.ingested is not None:
            derived["ingested"] = _stamp(self.ingested)
        tail = b"," + to_json(derived)[1:]
        if self._payload is not None:  # '{"schema_version":1,' + fields + '}'
            return b"{" + self._payload[len(_VERSION_PREFIX) : -1] + tail
        return to_json(a, exclude=set(NOT_SEARCHED), exclude_none=True)[:-1] + tail

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


@lru_cache(maxsize=4)
def _stamp(when: datetime) -> str:
    """ISO 8601 of ``when``: a batch's documents share one ``ingested`` time."""
    return when.isoformat()


_VERSION_PREFIX = b'{"schema_version":' + str(SCHEMA_VERSION).encode() + b","
_EXACT = ConfigDict(frozen=True, extra="forbid")


class _ExactTopic(Topic):
    model_config = _EXACT


class _ExactActor(Actor):
    model_config = _EXACT


class _ExactPlace(Place):
    model_config = _EXACT


class ExactTaggedArticle(TaggedArticle):
    """TaggedArticle with no unknown field allowed, at any depth (see :func:`decode_exact`)."""

    model_config = _EXACT

    topics: tuple[_ExactTopic, ...] = ()
    actors: tuple[_ExactActor, ...] = ()
    places: tuple[_ExactPlace, ...] = ()


def decode_exact(payload: bytes) -> TaggedArticle | None:
    """The tagged article of ``payload`` if the payload is exactly one — strictly typed, no
    unknown field — else None (decode it with :func:`newsmon.schema.decode`, which coerces,
    ignores unknown fields and names what is wrong)."""
    try:
        return ExactTaggedArticle.model_validate_json(payload, strict=True)
    except ValidationError:
        return None
