"""What the store port's ``aggregate`` answers, and its reference computation in Python.

The analyst pages (``newsmon web``) count what a query selects: facet values, a date
histogram, stories. The three stores compute those numbers in their own engines (Elasticsearch
aggregations, SQL over the SQLite store's derived tables, this module for the memory twin), and
``tests/contract/test_store_contract.py`` holds them to the same answers, so a count on a page
is the same number whichever store is configured. The rules, decided here once:

* **terms** ``field -> size``: the values of a facet field among the matching articles, each
  counted once per article, ordered by count (descending) then value (code-point order, which is
  Elasticsearch's byte order of UTF-8); at most ``size``. Values are those of
  :data:`FACET_FIELDS`: as written where the field has a ``raw`` sub-field (``Vladimir Putin``),
  else as its lower-casing normalizer indexes them (``lang``: ``en``).
* **histogram** ``hour | day``: matching articles per UTC bucket of ``published`` (articles
  without a date are not counted; an article counts once per bucket), empty buckets left out,
  ascending. Weeks and months are unions of days: :func:`roll_up` sums day buckets into them,
  so every store gives the same weekly and monthly figures without a calendar of its own.
* **stories**: the matching articles grouped by ``story_id`` (articles without one are not in
  any story). Per story: articles, first and last ``published``, the title of the earliest
  article (ties: the smallest ``article_id``; undated articles come last), its sources with
  counts (at most :data:`STORY_SOURCES`), articles per UTC day. Ordered by size (articles
  descending, then ``story_id``) or by recency (last ``published`` descending, undated last,
  then ``story_id``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from newsmon.query import FIELDS, QueryError
from newsmon.query.document import PreparedDoc

Interval = Literal["hour", "day"]
Period = Literal["hour", "day", "week", "month"]
StoryOrder = Literal["size", "recent"]

#: A facet (user field) -> the field whose values are counted.
FACET_FIELDS: dict[str, str] = {
    "topic": "topic.raw",
    "actor": "actor.raw",
    "source": "source.raw",
    "lang": "lang",
    "place": "place",
    "country": "country",
    "tags": "tags",
    "feed": "feed",
    "author": "author.raw",
}
STORY_SOURCES = 100
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class StorySummary:
    story_id: str
    articles: int
    first: datetime | None
    last: datetime | None
    title: str
    sources: tuple[tuple[str, int], ...]
    per_day: tuple[tuple[date, int], ...]


@dataclass(frozen=True)
class Aggregations:
    total: int
    terms: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    histogram: list[tuple[datetime, int]] = field(default_factory=list)
    stories: list[StorySummary] = field(default_factory=list)


def check_request(terms: Mapping[str, int] | None, histogram: str | None) -> None:
    """Refuse what no store can answer: unknown facets, sizes below 1, other intervals."""
    for name, size in (terms or {}).items():
        if name not in FACET_FIELDS:
            raise QueryError(f"no facet {name!r}; facets: {', '.join(FACET_FIELDS)}")
        if size < 1:
            raise QueryError(f"facet {name!r}: size must be at least 1")
    if histogram not in (None, "hour", "day"):
        raise QueryError(f"histogram interval {histogram!r}: hour or day")


def bucket_start(millis: int, interval: Interval) -> int:
    """The UTC hour or day ``millis`` falls in (floor, also before 1970)."""
    size = HOUR_MS if interval == "hour" else DAY_MS
    return millis - millis % size


def from_millis(millis: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=millis)


def ordered(counts: Mapping[str, int], size: int | None = None) -> list[tuple[str, int]]:
    """Count descending, then value ascending; the first ``size``."""
    pairs = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return pairs if size is None else pairs[:size]


def facet_values(doc: PreparedDoc, name: str) -> set[str]:
    """The distinct values an article contributes to facet ``name``."""
    counted = FACET_FIELDS[name]
    return {v for v, _ in doc.keywords(counted, normalized=FIELDS[counted] == "keyword")}


def aggregate_docs(
    docs: Iterable[Mapping[str, Any]],
    *,
    terms: Mapping[str, int] | None = None,
    histogram: Interval | None = None,
    stories: int = 0,
    story_order: StoryOrder = "recent",
) -> Aggregations:
    """The reference computation over the matching documents (the memory twin's answer)."""
    check_request(terms, histogram)
    total = 0
    counts: dict[str, Counter[str]] = {name: Counter() for name in terms or {}}
    buckets: Counter[int] = Counter()
    groups: dict[str, list[PreparedDoc]] = {}
    for raw in docs:
        total += 1
        doc = PreparedDoc(raw)
        for name in counts:
            counts[name].update(facet_values(doc, name))
        if histogram is not None:
            buckets.update({bucket_start(m, histogram) for m in doc.dates("published")})
        if stories > 0:
            for sid in {s for s, _ in doc.keywords("story_id", normalized=False)}:
                groups.setdefault(sid, []).append(doc)
    return Aggregations(
        total=total,
        terms={name: ordered(c, (terms or {})[name]) for name, c in counts.items()},
        histogram=[(from_millis(k), n) for k, n in sorted(buckets.items())],
        stories=_top_stories(groups, stories, story_order),
    )


def _top_stories(
    groups: Mapping[str, Sequence[PreparedDoc]], n: int, order: StoryOrder
) -> list[StorySummary]:
    summaries = [story_summary(sid, docs) for sid, docs in groups.items()]
    return sorted(summaries, key=story_key(order))[:n]


def story_key(order: StoryOrder) -> Any:
    """The sort key of a story list (see the module docstring)."""
    if order == "size":
        return lambda s: (-s.articles, s.story_id)
    return lambda s: (s.last is None, -(s.last.timestamp() if s.last else 0.0), s.story_id)


def story_summary(story_id: str, docs: Sequence[PreparedDoc]) -> StorySummary:
    dated = [(min(d.dates("published"), default=None), d) for d in docs]
    millis = [m for d in docs for m in d.dates("published")]
    days: Counter[int] = Counter()
    sources: Counter[str] = Counter()
    for d in docs:
        days.update({bucket_start(m, "day") for m in d.dates("published")})
        sources.update({v for v, _ in d.keywords("source.raw", normalized=False)})

    def earliest(pair: tuple[int | None, PreparedDoc]) -> tuple[bool, int, str]:
        when, doc = pair
        return when is None, when or 0, str(doc.doc.get("article_id", ""))

    first_doc = min(dated, key=earliest)[1]
    return StorySummary(
        story_id=story_id,
        articles=len(docs),
        first=from_millis(min(millis)) if millis else None,
        last=from_millis(max(millis)) if millis else None,
        title=title_of(first_doc.doc),
        sources=tuple(ordered(sources, STORY_SOURCES)),
        per_day=tuple((from_millis(k).date(), n) for k, n in sorted(days.items())),
    )


def title_of(doc: Mapping[str, Any]) -> str:
    value = doc.get("title")
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return str(value or "")


def roll_up(buckets: Sequence[tuple[datetime, int]], period: Period) -> list[tuple[datetime, int]]:
    """Hour or day buckets summed into ``period`` buckets (weeks start on Monday, UTC, as
    Elasticsearch's ``calendar_interval: week``); the input's own period passes unchanged."""
    out: Counter[datetime] = Counter()
    for start, n in buckets:
        out[period_start(start, period)] += n
    return sorted(out.items())


def period_start(when: datetime, period: Period) -> datetime:
    when = when.astimezone(UTC)
    if period == "hour":
        return when.replace(minute=0, second=0, microsecond=0)
    day = when.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_period(start: datetime, period: Period) -> datetime:
    """The start of the period after the one beginning at ``start``."""
    if period == "hour":
        return start + timedelta(hours=1)
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(weeks=1)
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return start.replace(year=year, month=month)


def filled(buckets: Sequence[tuple[datetime, int]], period: Period) -> list[tuple[datetime, int]]:
    """Every period from the first bucket to the last, the empty ones as 0 (for charts)."""
    if not buckets:
        return []
    have = dict(buckets)
    out, at, end = [], buckets[0][0], buckets[-1][0]
    while at <= end:
        out.append((at, have.get(at, 0)))
        at = next_period(at, period)
    return out
