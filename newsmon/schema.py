"""The one message schema: every record that crosses a stage boundary is defined here.

Messages are frozen pydantic models carrying a ``schema_version``. Consumers ignore unknown
fields so producers can evolve. ``article_id`` is a hash of the canonical URL: it is the Kafka
key and the Elasticsearch ``_id``, which makes redelivery and re-indexing idempotent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Literal, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from newsmon.errors import PermanentError

SCHEMA_VERSION = 1

ActorType = Literal["person", "state", "organization", "group"]

#: Query parameters that only track the reader and never select content.
TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid", "_ga", "ref_src"}
)
TRACKING_PREFIXES = ("utm_",)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class SchemaError(PermanentError):
    """A payload that is not a valid message of the expected kind."""


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: int = SCHEMA_VERSION


M = TypeVar("M", bound=_Message)


class RawArticle(_Message):
    """An article as the poller found it (topic ``news.articles.raw.v1``)."""

    article_id: str
    url: str
    title: str = ""
    text: str = ""
    source: str = ""
    feed: str = ""
    lang: str | None = None
    country: str | None = None
    tags: tuple[str, ...] = ()
    published: AwareDatetime | None = None
    fetched: AwareDatetime
    author: str | None = None  # byline (feed's author / dc:creator, else the page's); additive


class Topic(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    score: float = Field(ge=0.0, le=1.0)
    evidence: tuple[str, ...] = ()


class Actor(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    type: ActorType
    country: str | None = None
    mentions: int = 1
    in_title: bool = False
    salience: float = Field(ge=0.0, le=1.0)


class Place(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    country: str | None = None


class Tags(BaseModel):
    """What the tagger says about one text: the part of a tagged article the tagger owns."""

    model_config = ConfigDict(frozen=True)

    topics: tuple[Topic, ...] = ()
    actors: tuple[Actor, ...] = ()
    places: tuple[Place, ...] = ()
    lang: str | None = None
    tagged_by: str = "en"


class TaggedArticle(RawArticle):
    """A raw article plus tags (topic ``news.articles.tagged.v1``)."""

    topics: tuple[Topic, ...] = ()
    actors: tuple[Actor, ...] = ()
    places: tuple[Place, ...] = ()
    story_id: str
    tagged: AwareDatetime

    @classmethod
    def from_raw(
        cls, raw: RawArticle, tags: Tags, story_id: str, tagged: datetime
    ) -> TaggedArticle:
        return cls(
            **raw.model_dump(exclude={"schema_version", "lang"}),
            lang=raw.lang or tags.lang,
            topics=tags.topics,
            actors=tags.actors,
            places=tags.places,
            story_id=story_id,
            tagged=tagged,
        )


class FeedHealth(_Message):
    """A change in one feed's health as the poller saw it (topic ``news.health.v1``, key = the
    feed's URL): a signal began (``state: problem``) or ended (``state: resolved``). Signals:
    ``silent`` (no new item for far longer than the feed's own gaps), ``blocked`` (a storm of
    403/429 answers), ``challenge`` (an anti-bot interstitial instead of the feed), ``html`` (a
    web page instead of the feed), ``same_link`` (every item links to one page), ``gone``
    (HTTP 410). ``since`` is when the signal began, ``at`` when this change was seen."""

    feed: str
    name: str = ""
    signal: str
    state: Literal["problem", "resolved"]
    since: AwareDatetime
    at: AwareDatetime
    detail: str = ""
    http_status: int | None = None


def decode(model: type[M], payload: bytes) -> M:
    """Parse a message payload or raise :class:`SchemaError` naming what is wrong."""
    try:
        return model.model_validate_json(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        raise SchemaError(f"not a valid {model.__name__}: {where}: {first['msg']}") from exc


def encode(message: BaseModel) -> bytes:
    return message.model_dump_json(exclude_none=True).encode()


class Tracking(BaseModel):
    """Which query parameters only track the reader: exact names and name prefixes, matched
    case-insensitively (``IngestSettings.tracking()`` builds one from the settings)."""

    model_config = ConfigDict(frozen=True)

    names: frozenset[str] = TRACKING_PARAMS
    prefixes: tuple[str, ...] = TRACKING_PREFIXES

    @classmethod
    def from_patterns(cls, patterns: Iterable[str]) -> Tracking:
        """``fbclid`` is a name, ``utm_*`` a prefix."""
        cleaned = [p.strip().lower() for p in patterns if p.strip()]
        return cls(
            names=frozenset(p for p in cleaned if not p.endswith("*")),
            prefixes=tuple(sorted({p[:-1] for p in cleaned if p.endswith("*") and p[:-1]})),
        )

    def drops(self, name: str) -> bool:
        key = name.lower()
        return key in self.names or key.startswith(self.prefixes)


DEFAULT_TRACKING = Tracking()


def canonical_url(url: str, tracking: Tracking = DEFAULT_TRACKING) -> str:
    """The URL that identifies an article: lower-case scheme and host, no default port, no
    fragment, no tracking parameters; remaining query parameters keep their order."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if parts.port and _DEFAULT_PORTS.get(scheme) != parts.port:
        host = f"{host}:{parts.port}"
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not tracking.drops(k)]
    )
    return urlunsplit((scheme, host, parts.path or "/", query, ""))


def article_id(url: str, tracking: Tracking = DEFAULT_TRACKING) -> str:
    """Stable id of an article: 32 hex digits of the SHA-256 of its canonical URL."""
    return hashlib.sha256(canonical_url(url, tracking).encode()).hexdigest()[:32]
