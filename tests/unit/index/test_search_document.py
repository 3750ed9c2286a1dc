"""SearchDocument: its JSON and its mapping view are the search document, value for value."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from newsmon.documents import SearchDocument, search_document
from newsmon.schema import Actor, Place, TaggedArticle, Topic, article_id

T0 = datetime(2025, 5, 20, 12, 0, tzinfo=UTC)
KYIV = timezone(timedelta(hours=3))


def article(**extra: Any) -> TaggedArticle:
    url = "https://example.com/ä?x=1"
    base: dict[str, Any] = {
        "article_id": article_id(url),
        "url": url,
        "title": 'Talks "in" Istanbul \u2028 ü',
        "text": "Ceasefire\nnow",
        "source": "Wire",
        "fetched": T0,
        "story_id": "s1",
        "tagged": T0,
        "published": datetime(2025, 5, 20, 9, 30, tzinfo=KYIV),
        "tags": ("world",),
        "topics": (Topic(name="peace_talks", score=0.75, evidence=("ceasefire",)),),
        "actors": (
            Actor(name="Vladimir Putin", type="person", salience=0.9, country="RU"),
            Actor(name="NATO", type="organization", salience=0.2),
        ),
        "places": (Place(name="Istanbul", country="TR"), Place(name="Geneva")),
    }
    return TaggedArticle(**{**base, **extra})


def normalised(value: Any) -> Any:
    """Datetimes as instants, nested nulls dropped: what Elasticsearch indexes alike."""
    if isinstance(value, dict):
        return {k: normalised(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [normalised(v) for v in value]
    if isinstance(value, str) and len(value) >= 20 and value[4] == "-" and value[10] == "T":
        return datetime.fromisoformat(value).astimezone(UTC)
    return value


@pytest.mark.parametrize("ingested", [T0, None])
@pytest.mark.parametrize("extra", [{}, {"published": None, "lang": "en", "actors": ()}])
def test_json_and_mapping_are_the_search_document(
    ingested: datetime | None, extra: dict[str, Any]
) -> None:
    a = article(**extra)
    want = search_document(a, ingested=ingested)
    doc = SearchDocument(a, ingested=ingested)
    assert dict(doc) == want and doc["article_id"] == a.article_id and len(doc) == len(want)
    encoded = json.loads(doc.encoded())
    assert normalised(encoded) == normalised(json.loads(json.dumps(want)))


def test_every_article_field_is_in_the_document_or_deliberately_left_out() -> None:
    """A field added to TaggedArticle shows up in encoded(): search_document must carry it too."""
    doc = json.loads(SearchDocument(article(lang="en", country="ua"), ingested=T0).encoded())
    assert set(doc) == set(search_document(article(lang="en", country="ua"), ingested=T0))
