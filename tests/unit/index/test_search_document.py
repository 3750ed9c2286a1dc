"""SearchDocument: its JSON and its mapping view are the search document, value for value."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from newsmon.documents import ExactTaggedArticle, SearchDocument, decode_exact, search_document
from newsmon.schema import Actor, Place, TaggedArticle, Topic, article_id, decode, encode

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


# ---- verbatim documents: the message's own bytes, when it is exactly a tagged article ----


def exact_payloads() -> list[bytes]:
    return [
        encode(article()),
        encode(article(published=None, lang="uk", actors=(), places=())),
        encode(article(title="Перемир'я \\ \"quoted\" \t tab", author="Олена")),
    ]


@pytest.mark.parametrize("payload", exact_payloads(), ids=["full", "sparse", "escapes"])
def test_a_verbatim_document_is_the_canonical_document(payload: bytes) -> None:
    exact = decode_exact(payload)
    assert exact is not None and exact.model_dump() == decode(TaggedArticle, payload).model_dump()
    verbatim = SearchDocument.verbatim(exact, payload, ingested=T0)
    canonical = SearchDocument(decode(TaggedArticle, payload), ingested=T0)
    assert verbatim.is_verbatim and not canonical.is_verbatim
    assert json.loads(verbatim.encoded()) == json.loads(canonical.encoded())
    assert payload[len(b'{"schema_version":1,') : -1] in verbatim.encoded()  # its own bytes
    assert b"schema_version" not in verbatim.encoded()


def _with(payload: bytes, old: bytes, new: bytes) -> bytes:
    assert old in payload
    return payload.replace(old, new, 1)


PLAIN = encode(article())


@pytest.mark.parametrize(
    "payload",
    [
        _with(PLAIN, b'"story_id":', b'"newer_field":1,"story_id":'),  # unknown top-level field
        _with(PLAIN, b'"country":"RU"', b'"country":"RU","wikidata":"Q7747"'),  # nested
        _with(PLAIN, b'"salience":0.9', b'"salience":"0.9"'),  # a number as a string: coerced
        _with(PLAIN, b'"fetched":"2025-05-20T12:00:00Z"', b'"fetched":1747742400'),  # epoch
    ],
    ids=["unknown-field", "unknown-nested-field", "string-number", "epoch-date"],
)
def test_anything_but_an_exact_message_is_decoded_and_encoded_canonically(payload: bytes) -> None:
    assert decode_exact(payload) is None
    lax = decode(TaggedArticle, payload)  # still a valid message: it is indexed, canonically
    encoded = json.loads(SearchDocument(lax, ingested=T0).encoded())
    assert "newer_field" not in encoded and "wikidata" not in json.dumps(encoded)
    assert isinstance(encoded["actors"][0]["salience"], float)
    assert encoded["fetched"] == "2025-05-20T12:00:00Z"


def test_a_payload_laid_out_differently_is_encoded_canonically() -> None:
    reordered = json.dumps({**json.loads(PLAIN), "schema_version": 1}).encode()  # version last
    exact = decode_exact(reordered)
    assert exact is not None
    doc = SearchDocument.verbatim(exact, reordered, ingested=T0)
    assert not doc.is_verbatim and b"schema_version" not in doc.encoded()
    assert json.loads(doc.encoded()) == json.loads(SearchDocument(exact, ingested=T0).encoded())


def test_every_nested_model_of_the_exact_article_forbids_unknown_fields() -> None:
    """A nested model added to TaggedArticle needs its exact twin, or unknown keys would slip
    into _source through the verbatim path."""
    seen = []
    for name, info in ExactTaggedArticle.model_fields.items():
        for arg in (*get_args(info.annotation), info.annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                assert arg.model_config.get("extra") == "forbid", name
                seen.append(arg.__name__)
    assert sorted(seen) == ["_ExactActor", "_ExactPlace", "_ExactTopic"]
    assert ExactTaggedArticle.model_config.get("extra") == "forbid"
