"""Plain data passed between extraction (spaCy) and resolution (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from .gazetteer import Hit
from .roles import Role


@dataclass(frozen=True)
class Candidate:
    """A span that may name an actor or a place, as found in the text."""

    tokens: tuple[str, ...]
    label: str  # NER label (PERSON, ORG, GPE, LOC, FAC, NORP) or "" when only the gazetteer saw it
    start: int  # character offset in title + "\n\n" + text
    in_title: bool = False
    headline: bool = False  # in a Title Case line (headline or sub-heading)
    role: Role = "other"
    preceding: str = ""  # a few words before the span, to confirm weak aliases by role title
    hits: tuple[Hit, ...] = ()

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


@dataclass(frozen=True)
class ActorMention:
    name: str
    type: str
    country: str | None
    role: Role
    in_title: bool
    start: int
    known: bool  # from the gazetteer
    titled: bool = False  # an unknown person named after a title ("Senator Blumenthal")


@dataclass(frozen=True)
class PlaceMention:
    name: str
    country: str | None
    start: int
