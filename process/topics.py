"""Topics as data: a directory of YAML files, each one topic with weighted terms, a required
context, exclusions and a threshold. Scoring is a pure function of folded text and actors.

score = saturation(term weight per 1,000 words, title hits boosted) × context share, where the
context share = context hits / (context hits + exclusion hits) and is 0 without any context.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from newsmon.errors import ConfigError
from newsmon.schema import Actor, Topic

from .dateline import dateline_end, strip_dateline
from .learned import LearnedError, LearnedModel, feature_vector, load_learned
from .normalize import fold
from .slavic import is_cyrillic, stem, term_regex

TOPICS_DIR = Path(__file__).parent / "data" / "topics"


class TopicError(ConfigError, ValueError):
    """A topic file that cannot be used; the message names the file and the field."""


class Context(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    terms: dict[str, float] = {}
    actor_countries: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()


class TopicSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    threshold: float = Field(0.5, ge=0.0, le=1.0)
    terms: dict[str, float] = Field(min_length=1)
    title_boost: float = Field(2.0, ge=0.0)
    per_term_cap: int = Field(3, ge=1)
    saturation: float = Field(3.0, gt=0.0)
    reference_words: int = Field(300, gt=0)
    context: Context = Context()
    exclusions: dict[str, float] = {}
    #: Subjects of other negotiations between the same parties (EU accession, prisoner
    #: exchanges, a grain deal ...): only the learned layer reads them (feature ``distract``),
    #: since talks often agree such things and keyword rules cannot weigh that.
    distractors: dict[str, float] = {}
    #: Optional learned layer: a ``*.learned.json`` beside this file (:mod:`process.learned`).
    learned: str | None = Field(None, pattern=r"^[^/\\]+\.learned\.json$")

    @field_validator("terms", "exclusions", "distractors")
    @classmethod
    def _weights(cls, value: dict[str, float]) -> dict[str, float]:
        for term, weight in value.items():
            if not term.strip():
                raise ValueError("empty term")
            if weight < 0:
                raise ValueError(f"negative weight for {term!r}")
        return value


@dataclass(frozen=True)
class CompiledTopic:
    spec: TopicSpec
    terms: tuple[tuple[str, re.Pattern[str], float], ...]
    context: tuple[tuple[str, re.Pattern[str], float], ...]
    exclusions: tuple[tuple[str, re.Pattern[str], float], ...]
    learned: LearnedModel | None = None
    distractors: tuple[tuple[str, re.Pattern[str], float], ...] = ()


def term_pattern(term: str) -> re.Pattern[str]:
    """Word-bounded, case/diacritic-folded; a trailing ``*`` matches any word ending; a
    Russian or Ukrainian word matches its other case forms (:func:`~process.slavic.term_regex`:
    "мирные переговоры" finds "мирных переговоров")."""
    folded = fold(term)
    words = folded.rstrip("*").split(" ")
    body = r"[\s-]+".join(term_regex(w) for w in words if w)
    if folded.endswith("*"):
        body += r"\w*"
    return re.compile(rf"(?<!\w){body}(?!\w)")


def compile_topic(spec: TopicSpec) -> CompiledTopic:
    def comp(d: Mapping[str, float]) -> tuple[tuple[str, re.Pattern[str], float], ...]:
        return tuple((t, term_pattern(t), w) for t, w in d.items())

    return CompiledTopic(
        spec,
        comp(spec.terms),
        comp(spec.context.terms),
        comp(spec.exclusions),
        distractors=comp(spec.distractors),
    )


def parse_topic(
    data: Any, where: str, directory: Path | None = None, learned: bool = True
) -> CompiledTopic:
    """A topic from its YAML data; its learned layer, if it names one (and ``learned``), is
    read from ``directory`` (the YAML file's)."""
    if not isinstance(data, Mapping):
        raise TopicError(f"{where}: a topic file must be a mapping (name, terms, ...)")
    try:
        topic = compile_topic(TopicSpec.model_validate(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "topic"
        raise TopicError(f"{where}: {loc}: {first['msg']}") from exc
    if topic.spec.learned is None or not learned:
        return topic
    if directory is None:
        raise TopicError(f"{where}: learned: a learned layer needs the topic's directory")
    try:
        layer = load_learned(directory / topic.spec.learned)
    except LearnedError as exc:
        raise TopicError(f"{where}: learned: {exc}") from exc
    return replace(topic, learned=layer)


def load_topics(directory: Path = TOPICS_DIR, learned: bool = True) -> tuple[CompiledTopic, ...]:
    """Every ``*.yaml`` in ``directory``; topic names must be unique. ``learned=False``: the
    keyword rules only (what fitting a learned layer starts from)."""
    topics: list[CompiledTopic] = []
    for path in sorted(directory.glob("*.y*ml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise TopicError(f"{path}: not valid YAML: {exc}") from exc
        topic = parse_topic(data, str(path), path.parent, learned)
        if any(t.spec.name == topic.spec.name for t in topics):
            raise TopicError(f"{path}: duplicate topic name {topic.spec.name!r}")
        topics.append(topic)
    return tuple(topics)


@functools.lru_cache(maxsize=4096)
def _needle(term: str) -> str:
    """A substring every match of ``term_pattern(term)`` contains: its first folded word (its
    stem if Cyrillic)."""
    word = fold(term).rstrip("*").split(" ")[0]
    return stem(word) if is_cyrillic(word) else word


def _hits(
    patterns: Sequence[tuple[str, re.Pattern[str], float]], text: str, cap: int
) -> dict[str, float]:
    found: dict[str, float] = {}
    for term, pattern, weight in patterns:
        if _needle(term) not in text:  # cheap necessary condition before the regex
            continue
        n = min(len(pattern.findall(text)), cap)
        if n:
            found[term] = found.get(term, 0.0) + n * weight
    return found


@dataclass(frozen=True)
class Signal:
    """What the keyword rules see in one article for one topic."""

    score: float  # the keyword score: saturation(term weight) x context share
    terms: float  # saturation(term weight), 0..1
    title: bool  # a topic term in the headline
    share: float  # context share, 0..1
    against: float  # other conflicts' (exclusions') weight
    principal_conflict_actors: int  # actors of the context with salience >= 0.5
    evidence: tuple[str, ...]  # the strongest terms, then the context's actors
    distract: float = 0.0  # other negotiations' (distractors') weight, headline counted twice


def keyword_signal(
    topic: CompiledTopic, title: str, body: str, actors: Sequence[Actor]
) -> Signal:
    spec = topic.spec
    ftitle, fbody = fold(title), fold(body)
    body_hits = _hits(topic.terms, fbody, spec.per_term_cap)
    title_hits = _hits(topic.terms, ftitle, 1)
    words = max(len(fbody.split()), 1)
    weight = sum(body_hits.values()) * min(1.0, math.sqrt(spec.reference_words / words))
    weight += spec.title_boost * sum(title_hits.values())
    text = f"{ftitle}\n{fbody}"
    cut = dateline_end(body)  # the context skips the dateline; fold the rest only if there is one
    share, against, conflict = _context(
        topic, f"{ftitle}\n{fold(body[cut:])}" if cut else text, actors
    )
    terms = 1.0 - math.exp(-weight / spec.saturation)
    ranked = sorted(
        {**body_hits, **title_hits}, key=lambda t: -(body_hits.get(t, 0) + title_hits.get(t, 0))
    )
    names = tuple(dict.fromkeys(a.name for a in sorted(conflict, key=lambda a: -a.salience)))
    return Signal(
        score=round(terms * share, 3),
        terms=terms,
        title=bool(title_hits),
        share=share,
        against=against,
        principal_conflict_actors=sum(1 for a in conflict if a.salience >= 0.5),
        evidence=tuple(ranked[:6]) + (names[:4] if share > 0 else ()),
        distract=sum(_hits(topic.distractors, text, spec.per_term_cap).values())
        + sum(_hits(topic.distractors, ftitle, 1).values()),
    )


def needs_vector(topic: CompiledTopic, title: str, body: str) -> bool:
    """Whether the topic's learned layer should see this article: it has a learned layer and
    the text has one of its context terms (decided on the text alone, so the embedding can be
    computed while the article is still being parsed). No topic term is required: the layer
    is there for the phrasings no term lists ("open to dialogue"). Every other article is
    decided by the keyword rules, which need context to fire."""
    if topic.learned is None:
        return False
    return bool(_hits(topic.context, fold(f"{title}\n{strip_dateline(body)}"), 1))


def score_topic(
    topic: CompiledTopic,
    title: str,
    body: str,
    actors: Sequence[Actor],
    vector: np.ndarray | None = None,
) -> Topic | None:
    """The topic with score and evidence if it applies, else None. With a ``vector`` (the
    article's embedding, :mod:`process.semantic`) a topic with a learned layer is decided by
    it; otherwise by the keyword score against the YAML threshold."""
    spec = topic.spec
    signal = keyword_signal(topic, title, body, actors)
    if topic.learned is not None and vector is not None:
        model = topic.learned
        x = feature_vector(signal, vector, actors, len(body), model.prototypes, model.k)
        p = model.probability(x)
        if p < model.threshold:
            return None
        return Topic(name=spec.name, score=round(p, 3),
                     evidence=signal.evidence + model.explain(vector))
    if signal.score < spec.threshold or signal.score <= 0.0:
        return None
    return Topic(name=spec.name, score=signal.score, evidence=signal.evidence)


def _context(
    topic: CompiledTopic, text: str, actors: Sequence[Actor]
) -> tuple[float, float, list[Actor]]:
    """Context share, the exclusions' weight, and the context's actors in the article."""
    ctx = topic.spec.context
    hits = _hits(topic.context, text, 10)
    wanted = {fold(a) for a in ctx.actors}
    conflict = [a for a in actors if a.country in ctx.actor_countries or fold(a.name) in wanted]
    support = sum(hits.values()) + sum(min(a.mentions, 5) for a in conflict)
    if not ctx.terms and not ctx.actor_countries and not ctx.actors:
        support = max(support, 1.0)
    against = sum(_hits(topic.exclusions, text, 10).values())
    if support <= 0:
        return 0.0, against, conflict
    return support / (support + against), against, conflict


def score_topics(
    topics: Sequence[CompiledTopic],
    title: str,
    body: str,
    actors: Sequence[Actor],
    vector: np.ndarray | None = None,
) -> tuple[Topic, ...]:
    found = (score_topic(t, title, body, actors, vector) for t in topics)
    return tuple(t for t in found if t is not None)
