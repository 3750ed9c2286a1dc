"""Spike rules, the pure part: time grid, running baseline, and the decision (no I/O).

A spike rule (``kind: spike``) asks whether the number of matching *stories* (or articles) in
a sliding ``window`` is far above its usual level, and whether the rise comes from several
independent publishers rather than one busy newsroom or one wire story copied everywhere.

**Time** is the article's event time (when it was first fetched); an article published long
before it was fetched does not count (:func:`timely`).

**Grid.** Time is cut into steps of ``window / 4`` from Monday 00:00 UTC; window ``j`` is the
four steps ending with step ``j``, so windows slide by a step and a burst that straddles an
hour is still seen whole. A window's count is final once the stream (event time: the
article's ``fetched``) is two steps past it; it is then *folded* into the baseline.

**Baseline.** Exponentially weighted mean and mean absolute deviation of the window counts:
one overall (``level``) and one per step of the week (``slots``: hour-of-week for 1 h
windows), the slot's estimate shrunk towards the level while it has few observations
(:data:`PRIOR`). Weights halve every ``half_life``. A count is folded as at most the expected
mean plus :data:`CLIP` deviations, so a spike does not teach the baseline that spikes are
normal (a lasting rise is still learned, step by step).

**Threshold** of window ``j``: ``max(min_count, k × (mean + deviation))`` for its slot, from the
baseline as it stood when window ``j − 4`` was folded (the last one that does not overlap ``j``),
so every evaluation of ``j`` compares with the same number. None while fewer than ``warmup``
of history were folded: no alert without a baseline.

**Independent publishers.** Syndicated copies of one wire story share a ``story_id``: a story
counts once, for the publisher of its earliest article in the window. A publisher is the
article URL's site (``news.bbc.co.uk`` and ``www.bbc.co.uk`` are ``bbc.co.uk``), else its
``source``. The window fires when its count exceeds the threshold, it holds stories of at
least ``N = min_publishers`` publishers, and — the diversity gate — the stories of all but its
``N − 1`` largest publishers alone still exceed the story threshold's margin over the usual
level (``threshold − usual``, twice the usual level at ``k = 3``): remove any ``N − 1``
newsrooms and a rise remains. However busy one newsroom is, and however many sites copy one
wire story (copies add nothing), it cannot fire alone. (The story baseline is kept for every
rule; a rule counting articles keeps an article baseline beside it for its threshold.)
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

WEEK = 7 * 86400
EPOCH = datetime(1970, 1, 5, tzinfo=UTC)  # a Monday: step 0 of every week starts 00:00 UTC
STEPS = 4  # steps per window
PRIOR = 2.0  # a slot's estimate leans on the overall level until it has a few observations
CLIP = 2.0  # a count is folded as at most mean + CLIP deviations (a spike is not the norm)

Unit = Literal["stories", "articles"]


@dataclass(frozen=True)
class SpikeSpec:
    """A spike rule's parameters (``RuleConfig`` fields left empty take these defaults)."""

    window: timedelta = timedelta(hours=1)
    k: float = 3.0
    min_publishers: int = 3
    min_count: int = 5
    count: Unit = "stories"
    half_life: timedelta = timedelta(days=14)
    warmup: timedelta = timedelta(days=1)
    backfill: timedelta = timedelta(days=28)
    top: int = 5

    @property
    def step(self) -> float:
        return self.window.total_seconds() / STEPS

    @property
    def slots(self) -> int:
        return round(WEEK / self.step)

    def tick(self, when: datetime) -> int:
        """The step ``when`` falls in (window ``tick`` ends with it)."""
        return math.floor((when - EPOCH).total_seconds() / self.step)

    def start(self, tick: int) -> datetime:
        """When step ``tick`` begins."""
        return EPOCH + timedelta(seconds=tick * self.step)

    def bounds(self, tick: int) -> tuple[datetime, datetime]:
        """Window ``tick``: from the start of step ``tick - 3`` to the end of step ``tick``."""
        return self.start(tick - STEPS + 1), self.start(tick + 1)

    def slot(self, tick: int) -> int:
        return tick % self.slots

    @property
    def alpha_level(self) -> float:
        return float(1.0 - 0.5 ** (self.step / self.half_life.total_seconds()))

    @property
    def alpha_slot(self) -> float:
        return float(1.0 - 0.5 ** (WEEK / self.half_life.total_seconds()))

    @property
    def warmup_ticks(self) -> int:
        return max(STEPS, math.ceil(self.warmup.total_seconds() / self.step))


MAX_AGE = timedelta(hours=3)


def timely(doc: Mapping[str, Any], when: datetime, spec: SpikeSpec) -> bool:
    """Does an article seen at ``when`` count? Not when it was published long before (more
    than two windows, at least :data:`MAX_AGE`): an old item found late — a new feed's back
    catalogue, an archive loaded with ``newsmon backfill`` — is not a rise in the news."""
    value = doc.get("published")
    if not value:
        return True
    try:
        published = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return True
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    return when - published <= max(2 * spec.window, MAX_AGE)


def spec_of(fields: Mapping[str, Any]) -> SpikeSpec:
    """A spec from a rule's spike fields (None: the default)."""
    given = {k: v for k, v in fields.items() if v is not None and k in SpikeSpec.__annotations__}
    return replace(SpikeSpec(), **given)


@dataclass(frozen=True)
class Moments:
    """An exponentially weighted mean and mean absolute deviation over ``n`` observations;
    the first observations weigh ``1/n`` so an early estimate is a plain average (and the
    first one has no deviation: there is nothing to deviate from)."""

    mean: float = 0.0
    dev: float = 0.0
    n: int = 0

    def add(self, x: float, alpha: float) -> Moments:
        if self.n == 0:  # nothing to deviate from yet
            return Moments(x, 0.0, 1)
        n = self.n + 1
        a = max(alpha, 1.0 / n)
        return Moments(
            self.mean + a * (x - self.mean), self.dev + a * (abs(x - self.mean) - self.dev), n
        )

    def as_list(self) -> list[float]:
        return [self.mean, self.dev, self.n]  # exact: a restart must read the same numbers

    @classmethod
    def of(cls, value: Sequence[float] | None) -> Moments:
        return cls(float(value[0]), float(value[1]), int(value[2])) if value else cls()


@dataclass(frozen=True)
class Baseline:
    level: Moments = Moments()
    slots: Mapping[int, Moments] = field(default_factory=dict)

    def expected(self, slot: int) -> tuple[float, float]:
        """(mean, deviation) expected for a window in ``slot``."""
        own = self.slots.get(slot, Moments())
        w = own.n / (own.n + PRIOR)
        return (
            w * own.mean + (1 - w) * self.level.mean,
            w * own.dev + (1 - w) * self.level.dev,
        )

    def fold(self, slot: int, x: float, spec: SpikeSpec) -> Baseline:
        slots = dict(self.slots)
        slots[slot] = slots.get(slot, Moments()).add(x, spec.alpha_slot)
        return Baseline(self.level.add(x, spec.alpha_level), slots)

    def threshold(self, slot: int, spec: SpikeSpec) -> tuple[float, float] | None:
        """(threshold, usual level = mean + deviation) for a window in ``slot``; None while
        warming up."""
        if self.level.n < spec.warmup_ticks:
            return None
        mean, dev = self.expected(slot)
        usual = mean + dev
        return max(float(spec.min_count), spec.k * usual), usual


def publisher(hit: Mapping[str, Any]) -> str:
    """The article's publisher: its URL's site (``www.``/``m.`` and sub-domains dropped, two
    labels kept, three under a two-letter country code with a short second level such as
    ``co.uk`` or ``com.ua``), else its ``source``."""
    host = (urlsplit(str(hit.get("url") or "")).hostname or "").lower().rstrip(".")
    labels = [p for p in host.split(".") if p]
    if len(labels) >= 2 and not host.replace(".", "").isdigit():
        keep = 3 if len(labels[-1]) == 2 and len(labels[-2]) <= 3 and len(labels) >= 3 else 2
        return ".".join(labels[-keep:])
    return str(hit.get("source") or host or "?")


@dataclass(frozen=True)
class StoryLine:
    """One story of a window, for the alert: its first article and its spread."""

    story_id: str
    first: Mapping[str, Any]
    articles: int
    sources: tuple[str, ...]
    publisher: str

    def as_dict(self) -> dict[str, Any]:
        f = self.first
        return {
            "story_id": self.story_id,
            "article_id": f.get("article_id"),
            "title": f.get("title", ""),
            "url": f.get("url", ""),
            "source": f.get("source", ""),
            "published": f.get("published"),
            "matched": list(f.get("matched") or []),
            "fragments": f.get("fragments") or {},
            "articles": self.articles,
            "sources": list(self.sources),
        }


@dataclass(frozen=True)
class Summary:
    """What a window holds: its count in the rule's unit and who it comes from."""

    count: int
    stories: int
    articles: int
    publishers: Mapping[str, int]  # publisher -> stories it published first
    lines: tuple[StoryLine, ...]
    sources: tuple[tuple[str, int], ...]


def _key(hit: Mapping[str, Any]) -> tuple[str, str]:
    return str(hit.get("at", "")), str(hit.get("article_id", ""))


def summarize(hits: Iterable[Mapping[str, Any]], unit: Unit) -> Summary:
    """The window of these hits (each: article_id, story_id, at, url, source...)."""
    by_story: dict[str, list[Mapping[str, Any]]] = {}
    ordered = sorted(hits, key=lambda h: (_when(h), str(h.get("article_id", ""))))
    for hit in ordered:
        by_story.setdefault(str(hit.get("story_id") or hit.get("article_id")), []).append(hit)
    lines = []
    publishers: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    for story, members in by_story.items():
        origin = publisher(members[0])
        names = tuple(dict.fromkeys(str(m.get("source") or publisher(m)) for m in members))
        lines.append(StoryLine(story, members[0], len(members), names, origin))
        publishers[origin] += 1
        sources.update(str(m.get("source") or publisher(m)) for m in members)
    lines.sort(key=lambda s: (-len(s.sources), -s.articles, _key(s.first)))
    count = len(by_story) if unit == "stories" else len(ordered)
    top_sources = tuple(sorted(sources.items(), key=lambda kv: (-kv[1], kv[0])))
    return Summary(count, len(by_story), len(ordered), dict(publishers), tuple(lines), top_sources)


def _when(hit: Mapping[str, Any]) -> datetime:
    try:
        when = datetime.fromisoformat(str(hit.get("at")))
    except ValueError:
        return EPOCH
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Decision:
    fire: bool
    count: int
    threshold: float | None
    usual: float | None
    publishers: int
    rest: float  # stories without the min_publishers - 1 largest publishers
    reason: str


def decide(summary: Summary, limit: Limit | None, spec: SpikeSpec) -> Decision:
    """Does this window fire? See the module docstring for the rule."""
    n = len(summary.publishers)
    if limit is None:
        return Decision(False, summary.count, None, None, n, 0.0, "no baseline yet (warming up)")
    threshold, usual = limit.of(spec.count)
    story_threshold, story_usual = limit.stories
    largest = sorted(summary.publishers.values(), reverse=True)
    rest = float(sum(largest[spec.min_publishers - 1 :]))
    if summary.count <= threshold:
        reason = f"{summary.count} {spec.count} is not above the threshold {threshold:.1f}"
    elif n < spec.min_publishers:
        reason = f"{n} independent publishers, fewer than {spec.min_publishers}"
    elif rest <= story_threshold - story_usual:
        reason = (
            f"the rise comes from too few publishers: without the {spec.min_publishers - 1} "
            f"largest, {rest:.0f} stories (not above {story_threshold - story_usual:.1f})"
        )
    else:
        return Decision(True, summary.count, threshold, usual, n, rest, "spike")
    return Decision(False, summary.count, threshold, usual, n, rest, reason)


def window_counts(
    hits: Iterable[Mapping[str, Any]], first: int, last: int, spec: SpikeSpec
) -> dict[int, tuple[int, int]]:
    """(stories, articles) of every window ``first..last`` from the hits covering them."""
    by_tick: dict[int, list[Mapping[str, Any]]] = {}
    for hit in hits:
        by_tick.setdefault(spec.tick(_when(hit)), []).append(hit)
    out = {}
    for j in range(first, last + 1):
        members = [h for t in range(j - STEPS + 1, j + 1) for h in by_tick.get(t, ())]
        stories = {str(h.get("story_id") or h.get("article_id")) for h in members}
        out[j] = (len(stories), len({str(h.get("article_id")) for h in members}))
    return out


@dataclass(frozen=True)
class Limit:
    """The numbers fixed for one window in advance: (threshold, usual) in stories, and in
    articles for a rule that counts articles."""

    stories: tuple[float, float]
    articles: tuple[float, float] | None = None

    def of(self, unit: Unit) -> tuple[float, float]:
        return self.articles if unit == "articles" and self.articles else self.stories

    def as_list(self) -> list[float]:
        return [*self.stories, *(self.articles or ())]

    @classmethod
    def from_list(cls, v: Sequence[float]) -> Limit:
        articles = (float(v[2]), float(v[3])) if len(v) >= 4 else None
        return cls((float(v[0]), float(v[1])), articles)


@dataclass(frozen=True)
class SpikeState:
    """What a spike rule remembers in the store (``put_state``), as JSON-ready fields.

    ``folded``: the last window folded into the baselines (stories; ``articles`` too for a
    rule counting articles); ``watermark``: the newest step seen; ``limits``: window → its
    :class:`Limit`, fixed in advance; ``episode``: the spike being alerted (its ledger id,
    its first and last firing windows, its peak count)."""

    folded: int | None = None
    watermark: int | None = None
    baseline: Baseline = Baseline()
    articles: Baseline | None = None
    limits: Mapping[int, Limit] = field(default_factory=dict)
    episode: Mapping[str, Any] | None = None

    def to_doc(self) -> dict[str, Any]:
        doc = {
            "folded": self.folded,
            "watermark": self.watermark,
            "level": self.baseline.level.as_list(),
            "slots": _slots_doc(self.baseline),
            "limits": {str(t): v.as_list() for t, v in self.limits.items()},
            "episode": dict(self.episode) if self.episode else None,
        }
        if self.articles is not None:
            doc["articles_level"] = self.articles.level.as_list()
            doc["articles_slots"] = _slots_doc(self.articles)
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> SpikeState:
        articles = None
        if doc.get("articles_level") is not None:
            articles = _baseline_of(doc.get("articles_level"), doc.get("articles_slots"))
        return cls(
            folded=doc.get("folded"),
            watermark=doc.get("watermark"),
            baseline=_baseline_of(doc.get("level"), doc.get("slots")),
            articles=articles,
            limits={int(t): Limit.from_list(v) for t, v in (doc.get("limits") or {}).items()},
            episode=doc.get("episode"),
        )


def _slots_doc(baseline: Baseline) -> dict[str, list[float]]:
    return {str(s): m.as_list() for s, m in baseline.slots.items()}


def _baseline_of(level: Any, slots: Any) -> Baseline:
    return Baseline(Moments.of(level), {int(s): Moments.of(m) for s, m in (slots or {}).items()})


class _Folding:
    """One baseline being folded window by window (mutable, for speed)."""

    def __init__(self, baseline: Baseline) -> None:
        self.level, self.slots = baseline.level, dict(baseline.slots)

    def add(self, slot: int, x: float, spec: SpikeSpec) -> None:
        if self.level.n >= spec.warmup_ticks:  # robust: an outlier moves the baseline a little
            mean, dev = Baseline(self.level, self.slots).expected(slot)
            x = min(x, mean + CLIP * max(dev, 1.0))
        self.slots[slot] = self.slots.get(slot, Moments()).add(x, spec.alpha_slot)
        self.level = self.level.add(x, spec.alpha_level)

    def baseline(self) -> Baseline:
        return Baseline(self.level, self.slots)


def fold(
    state: SpikeState, counts: Mapping[int, tuple[int, int]], upto: int, spec: SpikeSpec
) -> SpikeState:
    """``state`` with windows ``folded + 1 .. upto`` folded (``counts``: (stories, articles)
    of each; a missing window counts 0) and the limits of the windows they make final."""
    start = upto + 1 if state.folded is None else state.folded + 1
    stories = _Folding(state.baseline)
    wants_articles = spec.count == "articles"
    articles = _Folding(state.articles or Baseline()) if wants_articles else None
    limits = dict(state.limits)
    for j in range(start, upto + 1):
        n_stories, n_articles = counts.get(j, (0, 0))
        slot = spec.slot(j)
        stories.add(slot, n_stories, spec)
        if articles is not None:
            articles.add(slot, n_articles, spec)
        ahead = spec.slot(j + STEPS)
        story_limit = stories.baseline().threshold(ahead, spec)
        if story_limit is None:
            continue
        article_limit = articles.baseline().threshold(ahead, spec) if articles else None
        if articles is None or article_limit is not None:
            limits[j + STEPS] = Limit(story_limit, article_limit)
    limits = {t: v for t, v in limits.items() if t > upto}  # only live windows need one
    return replace(
        state,
        folded=upto,
        baseline=stories.baseline(),
        articles=articles.baseline() if articles else None,
        limits=limits,
    )
