"""Actor and place mentions → the ``Actor`` and ``Place`` records of :mod:`newsmon.schema`."""

from __future__ import annotations

from collections.abc import Sequence

from newsmon.schema import Actor, Place

from .mentions import ActorMention, PlaceMention
from .normalize import fold
from .salience import features, salience


def aggregate_actors(
    mentions: Sequence[ActorMention], length: int, parsed: bool = True
) -> tuple[Actor, ...]:
    """One ``Actor`` per canonical name, most salient first."""
    groups: dict[str, list[ActorMention]] = {}
    for m in mentions:
        groups.setdefault(fold(m.name), []).append(m)
    actors = [_actor(group, length, parsed) for group in groups.values()]
    return tuple(sorted(actors, key=lambda a: (-a.salience, -a.mentions, a.name)))


def _actor(group: Sequence[ActorMention], length: int, parsed: bool) -> Actor:
    first = group[0]
    known = next((m for m in group if m.known), first)
    f = features(group, length, parsed)
    return Actor(
        name=known.name,
        type=known.type,  # type: ignore[arg-type]
        country=known.country,
        mentions=f.mentions,
        in_title=f.in_title,
        salience=salience(f),
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
