"""Actor and place mentions → the ``Actor`` and ``Place`` records of :mod:`newsmon.schema`."""

from __future__ import annotations

from collections.abc import Sequence

from newsmon.schema import Actor, Place

from .mentions import ActorMention, PlaceMention
from .normalize import fold
from .salience import Features, SalienceModel, features, salience


def group_mentions(mentions: Sequence[ActorMention]) -> list[list[ActorMention]]:
    """The mentions of each canonical name, in order of first mention."""
    groups: dict[str, list[ActorMention]] = {}
    for m in mentions:
        groups.setdefault(fold(m.name), []).append(m)
    return list(groups.values())


def actor_features(
    mentions: Sequence[ActorMention], length: int, parsed: bool = True, title_len: int = 0
) -> list[tuple[str, Features]]:
    """(canonical name, features) of each actor of an article."""
    groups = group_mentions(mentions)
    return [(_known(g).name, features(g, length, parsed, groups, title_len)) for g in groups]


def aggregate_actors(
    mentions: Sequence[ActorMention],
    length: int,
    parsed: bool = True,
    model: SalienceModel | None = None,
    title_len: int = 0,
) -> tuple[Actor, ...]:
    """One ``Actor`` per canonical name, most salient first; salience from ``model`` if
    given, else from the hand-written rule (:func:`process.salience.salience`)."""
    groups = group_mentions(mentions)
    actors = [_actor(g, features(g, length, parsed, groups, title_len), model) for g in groups]
    return tuple(sorted(actors, key=lambda a: (-a.salience, -a.mentions, a.name)))


def _known(group: Sequence[ActorMention]) -> ActorMention:
    return next((m for m in group if m.known), group[0])


#: The highest salience of a person known only by one word (below a principal actor's 0.5).
ONE_WORD_PERSON = 0.45


def _actor(group: Sequence[ActorMention], f: Features, model: SalienceModel | None) -> Actor:
    known = _known(group)
    score = model.score(f) if model is not None else salience(f)
    if (f.person and not f.known and len(known.name.split()) == 1
            and not any(m.titled for m in group)):
        # An unknown person left with one word — no full name in the article to resolve it
        # to, no title before it — is mostly a capitalised word the NER took for a name
        # ("Breakthrough", "Draft", "Quartet") or a surname cut from its name: 1 of 25 such
        # names in English train + dev was an annotator's. Never principal; a mononym
        # without a title ("Sugiono said") pays for that.
        score = min(score, ONE_WORD_PERSON)
    return Actor(
        name=known.name,
        type=known.type,  # type: ignore[arg-type]
        country=known.country,
        mentions=f.mentions,
        in_title=f.in_title,
        salience=score,
    )


def aggregate_places(
    mentions: Sequence[PlaceMention], actor_names: Sequence[str] = ()
) -> tuple[Place, ...]:
    """Distinct places in order of first mention; unknown places that are known actors
    (an organisation NER took for a place) are left out."""
    skip = {fold(n) for n in actor_names}
    seen: dict[str, Place] = {}
    for m in sorted(mentions, key=lambda m: m.start):
        key = fold(m.name)
        if key in seen or (m.country is None and key in skip):
            continue
        seen[key] = Place(name=m.name, country=m.country)
    return tuple(seen.values())
