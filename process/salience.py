"""Salience of an actor in one article, from plain counts.

>= 0.5 means a principal actor: one that acts or speaks in the story (subject of a verb,
speaker, party to a meeting, or a state acting through its forces/officials). Actors that are
only mentioned stay below 0.5, whatever their mention count.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from newsmon.errors import ConfigError

from .mentions import ActorMention
from .roles import ACTING


@dataclass(frozen=True)
class Features:
    mentions: int
    acting: int
    in_title: bool
    first: float  # position of the first mention, 0 = start, 1 = end
    parsed: bool = True  # False: no dependency parse to read (non-English text)
    person: bool = True  # states and organisations must be named at least twice ...
    short: bool = False  # ... unless the text is a short summary
    known: bool = True  # in the gazetteer
    long: bool = False  # in a long article, one mention (a passing quote) is not enough
    # What the learned model (:class:`SalienceModel`) reads besides the above:
    roles: dict[str, int] = field(default_factory=dict)  # mentions per role
    type: str = "person"
    share: float = 1.0  # this actor's share of all actor mentions in the article
    rank: float = 0.0  # 0 = the most mentioned actor, 1 = the least
    actors: int = 1  # distinct actors in the article
    length: int = 0  # characters
    conflict: bool = False  # an actor of Russia or Ukraine
    lead: int = 0  # mentions in the first ~50 words after the title
    lead_acting: int = 0  # ... of them acting
    title_head: bool = False  # named at the start of the headline (its usual subject)
    # Beside the article's other actors (who acts most is who the story is about). Left out,
    # they are an actor's alone in its article (see __post_init__; never None after it, and
    # ``dataclasses.replace`` keeps them: give them anew when ``acting`` changes).
    acting_rank: float | None = None  # share of the acting actors that act more; 1: not acting
    acting_actors: int | None = None  # distinct actors acting in the article

    def __post_init__(self) -> None:
        if self.acting_rank is None:
            object.__setattr__(self, "acting_rank", 0.0 if self.acting else 1.0)
        if self.acting_actors is None:
            object.__setattr__(self, "acting_actors", 1 if self.acting else 0)


SHORT_TEXT = 800  # characters: an RSS summary, not an article
LEAD_CHARS = 320  # characters: the lead sentence or two
LONG_TEXT = 6500  # characters: ~1,000 words


CONFLICT = frozenset({"UA", "RU"})


def features(
    mentions: Sequence[ActorMention],
    length: int,
    parsed: bool = True,
    groups: Sequence[Sequence[ActorMention]] = (),
    title_len: int = 0,
) -> Features:
    """Features of one actor (``mentions``) among all of an article's (``groups``);
    ``title_len``: characters of the headline at the start of the text."""
    counts = sorted((len(g) for g in groups), reverse=True) or [len(mentions)]
    total = sum(counts)
    rank = counts.index(len(mentions)) if len(mentions) in counts else 0
    known = next((m for m in mentions if m.known), mentions[0])
    acting = sum(1 for m in mentions if m.role in ACTING)
    # ``mentions`` is one of ``groups`` (by value), as ``rank`` above assumes too
    all_acting = [sum(1 for m in g if m.role in ACTING) for g in groups] or [acting]
    acting_actors = sum(1 for n in all_acting if n)
    acting_more = sum(1 for n in all_acting if n > acting)
    lead_end = title_len + LEAD_CHARS if title_len else LEAD_CHARS
    in_lead = [m for m in mentions if not m.in_title and m.start < lead_end]
    return Features(
        lead=len(in_lead),
        lead_acting=sum(1 for m in in_lead if m.role in ACTING),
        title_head=any(m.in_title and m.start <= max(title_len // 4, 12) for m in mentions),
        roles=dict(Counter(m.role for m in mentions)),
        type=known.type,
        share=len(mentions) / total if total else 1.0,
        rank=rank / max(len(counts) - 1, 1),
        actors=len(counts),
        length=length,
        conflict=known.country in CONFLICT,
        parsed=parsed,
        person=mentions[0].type == "person",
        short=length < SHORT_TEXT,
        known=any(m.known for m in mentions),
        long=length > LONG_TEXT,
        mentions=len(mentions),
        acting=acting,
        acting_rank=acting_more / max(acting_actors, 1) if acting else 1.0,
        acting_actors=acting_actors,
        in_title=any(m.in_title for m in mentions),
        first=min(m.start for m in mentions) / max(length, 1),
    )


def salience(f: Features) -> float:
    """Principal (>= 0.5) iff the actor acts; more mentions, the title, an early first
    mention and repeated action raise the score within each band."""
    presence = min(f.mentions, 6) / 6 * 0.15 + (0.1 if f.in_title else 0.0)
    presence += 0.05 * (1.0 - min(max(f.first, 0.0), 1.0))
    acting = f.acting if f.parsed else int(f.in_title or f.mentions >= 3)
    if not (f.person or f.short or f.in_title or f.mentions >= 2):
        acting = 0
    if f.long and f.mentions < 2 and not f.in_title:
        acting = 0
    if f.short and f.in_title and (f.known or f.person):
        acting = max(acting, 1)
    if acting:
        return round(min(1.0, 0.55 + 0.1 * min(acting - 1, 2) / 2 + presence * 0.5 + 0.05), 3)
    return round(min(0.45, 0.1 + presence), 3)


# ---------------------------------------------------------------- learned salience

#: The learned model's inputs, in the order of its weights.
LEARNED_FEATURES = (
    "rule", "mentions", "share", "rank", "acting", "agent", "speaker", "proxy", "meet",
    "locative", "other", "in_title", "first", "person", "state", "organization", "group",
    "known", "conflict", "short", "long", "length", "parsed", "actors", "lead", "lead_acting",
    "title_head", "state_acting", "person_acting", "short_mentions", "acting_rank",
    "acting_actors", "nobody_acts",
)
SALIENCE_FILE = Path(__file__).parent / "data" / "salience.learned.json"


def feature_row(f: Features) -> np.ndarray:
    r = f.roles
    return np.array([
        salience(f),
        math.log1p(f.mentions),
        f.share,
        f.rank,
        math.log1p(f.acting),
        math.log1p(r.get("agent", 0)),
        math.log1p(r.get("speaker", 0)),
        math.log1p(r.get("proxy", 0)),
        math.log1p(r.get("meet", 0)),
        math.log1p(r.get("locative", 0)),
        math.log1p(r.get("other", 0)),
        float(f.in_title),
        f.first,
        float(f.type == "person"),
        float(f.type == "state"),
        float(f.type == "organization"),
        float(f.type == "group"),
        float(f.known),
        float(f.conflict),
        float(f.short),
        float(f.long),
        math.log1p(f.length) / 10,
        float(f.parsed),
        math.log1p(f.actors),
        math.log1p(f.lead),
        math.log1p(f.lead_acting),
        float(f.title_head),
        math.log1p(f.acting) * (f.type == "state"),
        math.log1p(f.acting) * (f.type == "person"),
        math.log1p(f.mentions) * f.short,
        f.acting_rank,
        math.log1p(max(f.acting_actors or 0, 1)),
        float(f.parsed and not f.acting_actors),  # no actor doing anything: its own weight
    ])


@dataclass(frozen=True)
class SalienceModel:
    """A logistic regression over :data:`LEARNED_FEATURES`, fitted on the labelled corpus's
    train split (``python -m process.fit_salience``); ``threshold`` is the probability of a
    principal actor. :meth:`score` maps it onto the salience scale, where 0.5 is that line."""

    path: Path
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    threshold: float

    def probability(self, f: Features) -> float:
        z = float(((feature_row(f) - self.mean) / self.scale) @ self.weights + self.bias)
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    def score(self, f: Features) -> float:
        p, t = self.probability(f), self.threshold
        s = 0.5 + 0.5 * (p - t) / (1.0 - t) if p >= t else 0.5 * p / t
        return round(min(max(s, 0.0), 1.0), 3)


def load_salience(path: Path = SALIENCE_FILE) -> SalienceModel:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if tuple(data["features"]) != LEARNED_FEATURES:
            raise ValueError(f"features do not match this version's {list(LEARNED_FEATURES)}")
        n = len(LEARNED_FEATURES)
        mean, scale, weights = (
            np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "weights")
        )
        if any(a.shape != (n,) or not np.all(np.isfinite(a)) for a in (mean, scale, weights)):
            raise ValueError(f"mean, scale and weights must be {n} finite numbers")
        threshold = float(data["threshold"])
        if not 0.0 < threshold < 1.0 or np.any(scale <= 0):
            raise ValueError("threshold must be in (0, 1) and scale > 0")
        return SalienceModel(path, mean, scale, weights, float(data["bias"]), threshold)
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: not a usable salience model: {exc}") from exc
