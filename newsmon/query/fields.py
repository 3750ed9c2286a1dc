"""The searchable fields and how each is indexed, mirroring the ``news-articles`` mapping.

Kinds: ``text`` (standard analyzer), ``keyword`` (keyword with the lowercase normalizer),
``exact`` (keyword without normalizer: case-sensitive), ``date``, ``number``, ``boolean``.
:func:`fields_from_mapping` derives the same table from an Elasticsearch mapping, so a test can
hold :data:`FIELDS` to the shipped index template.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FIELDS: dict[str, str] = {
    "title": "text",
    "text": "text",
    "title.raw": "exact",
    "article_id": "exact",
    "url": "exact",
    "story_id": "exact",
    "source": "keyword",
    "source.raw": "exact",
    "author": "keyword",
    "author.raw": "exact",
    "feed": "keyword",
    "lang": "keyword",
    "country": "keyword",
    "tags": "keyword",
    "actor": "keyword",
    "actor.raw": "exact",
    "topic": "keyword",
    "topic.raw": "exact",
    "place": "keyword",
    "published": "date",
    "fetched": "date",
    "ingested": "date",
    "tagged": "date",
    "actors.name": "keyword",
    "actors.type": "exact",
    "actors.country": "exact",
    "actors.mentions": "number",
    "actors.in_title": "boolean",
    "actors.salience": "number",
    "topics.name": "exact",
    "topics.score": "number",
    "topics.evidence": "exact",
    "places.name": "keyword",
    "places.country": "exact",
}

#: ``index.query.default_field`` of the articles index: what unqualified terms search.
DEFAULT_FIELDS: tuple[str, ...] = ("title", "text")

KINDS = frozenset({"text", "keyword", "exact", "date", "number", "boolean"})
_NUMERIC = {
    "long",
    "integer",
    "short",
    "byte",
    "double",
    "float",
    "half_float",
    "scaled_float",
    "unsigned_long",
}


def _kind(spec: Mapping[str, Any]) -> str | None:
    es_type = spec.get("type", "object")
    if es_type == "text":
        return "text"
    if es_type == "keyword":
        return "keyword" if spec.get("normalizer") else "exact"
    if es_type in ("date", "date_nanos"):
        return "date"
    if es_type in _NUMERIC:
        return "number"
    return "boolean" if es_type == "boolean" else None


def fields_from_mapping(properties: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Field name → kind for an Elasticsearch mapping's ``properties`` (objects flattened,
    multi-fields as ``name.sub``). Any keyword normalizer is assumed to be lowercase."""
    out: dict[str, str] = {}
    for name, spec in properties.items():
        path = prefix + name
        if "properties" in spec:
            out.update(fields_from_mapping(spec["properties"], path + "."))
            continue
        kind = _kind(spec)
        if kind is not None:
            out[path] = kind
        out.update(fields_from_mapping(spec.get("fields", {}), path + "."))
    return out
