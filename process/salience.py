"""Salience of an actor in one article, from plain counts.

>= 0.5 means a principal actor: one that acts or speaks in the story (subject of a verb,
speaker, party to a meeting, or a state acting through its forces/officials). Actors that are
only mentioned stay below 0.5, whatever their mention count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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


SHORT_TEXT = 800  # characters: an RSS summary, not an article
LONG_TEXT = 6500  # characters: ~1,000 words


def features(mentions: Sequence[ActorMention], length: int, parsed: bool = True) -> Features:
    return Features(
        parsed=parsed,
        person=mentions[0].type == "person",
        short=length < SHORT_TEXT,
        known=any(m.known for m in mentions),
        long=length > LONG_TEXT,
        mentions=len(mentions),
        acting=sum(1 for m in mentions if m.role in ACTING),
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
