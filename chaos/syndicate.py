"""Syndicated copies, and the ground truth of the chaos world's stories.

A story of the world is an original article and its near-duplicates: copies under other URLs
in other feeds, as syndication makes them — another headline, a wire dateline and credits,
cut to the first paragraphs, lightly edited, white space re-flowed, a promotion line added
(the variants ``tests/unit/process/test_story.py`` shows the clustering joins).

The world is kept **unambiguous** for the story clustering (:class:`Truth`): by the
clustering's own pure rules (:func:`process.story.same_story` and the LSH band keys), every two
articles of a group are the same story and share a band key that no article of another group
has, and no two articles of different groups are the same story. So one processor gives each
group exactly one story whatever order its articles arrive in (a candidate is always found
through the exclusive key, and "the same story" never depends on a third article), and a group
split or two groups merged on N processors is the shared story protocol's doing, not the
world's.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import combinations

from process.story import ClusterConfig, Signature, same_story, signature, story_band_keys

Variant = Callable[[random.Random, str, str], tuple[str, str]]

_HEADLINES = (
    "Breaking: {t}",
    "Update: {t}",
    "{t} - live",
    "What we know: {t}",
    "{t} | {outlet}",
    "Officials react as {l}",
)
_DATELINES = ("LONDON (Reuters) - ", "KYIV (AP) - ", "PARIS (AFP) - ", "")
_CREDITS = (
    " (Reporting by Jane Doe; Editing by John Roe)",
    " Sign up for our newsletter.",
    " Read more on our website.",
    " Additional reporting by staff.",
)
_EDITS = ("the", "said", "new", "officials", "on Friday", "also")


def reheadline(rng: random.Random, title: str, text: str) -> tuple[str, str]:
    """Another outlet's headline over the same text."""
    pattern = rng.choice(_HEADLINES)
    return pattern.format(t=title, l=title.lower(), outlet=f"Outlet {rng.randrange(90)}"), text


def wire_frame(rng: random.Random, title: str, text: str) -> tuple[str, str]:
    """A wire dateline in front and credits or a promotion line at the end."""
    return title, f"{rng.choice(_DATELINES)}{text}{rng.choice(_CREDITS)}"


def first_paragraphs(rng: random.Random, title: str, text: str) -> tuple[str, str]:
    """The first paragraphs only (at least 40 words), as a site that runs the top of a wire
    story or an RSS description carries it."""
    paragraphs = text.split("\n\n")
    keep = rng.randint(1, max(1, len(paragraphs) - 1))
    while keep < len(paragraphs) and len(" ".join(paragraphs[:keep]).split()) < 40:
        keep += 1
    return title, "\n\n".join(paragraphs[:keep])


def light_edits(rng: random.Random, title: str, text: str) -> tuple[str, str]:
    """About one word in fifty replaced (a copy editor's touch)."""
    lines = text.split("\n\n")
    out = []
    for line in lines:
        words = line.split(" ")
        for i in rng.sample(range(len(words)), len(words) // 50):
            words[i] = rng.choice(_EDITS)
        out.append(" ".join(words))
    return title, "\n\n".join(out)


def reflow(rng: random.Random, title: str, text: str) -> tuple[str, str]:
    """The same words with other white space: paragraphs as single line breaks or run
    together, a few doubled spaces (a CMS re-flowing wire copy)."""
    joiner = rng.choice(("\n", " ", "\n \n"))
    words = text.replace("\n\n", f" {joiner} ").split(" ")
    return title, " ".join(w + (" " if rng.random() < 0.05 else "") for w in words)


#: (variant, probability it is applied to a copy), in the order they are applied
VARIANTS: tuple[tuple[Variant, float], ...] = (
    (first_paragraphs, 0.4),
    (light_edits, 0.35),
    (wire_frame, 0.3),
    (reflow, 0.5),
    (reheadline, 0.85),
)


def make_copy(rng: random.Random, title: str, text: str) -> tuple[str, str]:
    """A syndicated copy: each variant applied with its probability (at least one)."""
    chosen = [v for v, p in VARIANTS if rng.random() < p] or [reheadline]
    for variant in chosen:
        title, text = variant(rng, title, text)
    return title, text


@dataclass
class Truth:
    """The world's articles by group, indexed by LSH band key as the clustering sees them."""

    config: ClusterConfig = field(default_factory=ClusterConfig)
    sigs: dict[int, Signature] = field(default_factory=dict)
    keys: dict[int, frozenset[str]] = field(default_factory=dict)
    group: dict[int, int] = field(default_factory=dict)
    members: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    _by_key: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))

    @staticmethod
    def sign(title: str, text: str) -> tuple[Signature, frozenset[str]]:
        sig = signature(title, text)
        return sig, frozenset(story_band_keys(sig))

    def add(self, item: int, group: int, sig: Signature, keys: frozenset[str]) -> None:
        self.sigs[item], self.keys[item], self.group[item] = sig, keys, group
        self.members[group].append(item)
        for k in keys:
            self._by_key[k].add(item)

    def remove(self, item: int) -> None:
        for k in self.keys.pop(item):
            self._by_key[k].discard(item)
        self.members[self.group.pop(item)].remove(item)
        del self.sigs[item]

    def candidates(self, keys: Iterable[str]) -> set[int]:
        return {i for k in keys for i in self._by_key.get(k, ())}

    def clashes(self, sig: Signature, keys: frozenset[str], group: int) -> bool:
        """Would an article of ``group`` be the same story as one of another group?"""
        return any(
            self.group[i] != group and same_story(sig, self.sigs[i], self.config)
            for i in self.candidates(keys)
        )

    def joins(self, sig: Signature, keys: frozenset[str], group: int) -> bool:
        """Is it the same story as every member of ``group``, sharing a band key with each?"""
        return all(
            keys & self.keys[m] and same_story(sig, self.sigs[m], self.config)
            for m in self.members[group]
        )

    def ambiguous(self) -> Iterator[tuple[int, int]]:
        """Pairs of one group that are not the same story, or share no band key that only
        their group has (another group's article could hold every key they could meet by)."""
        for group, items in self.members.items():
            for a, b in combinations(items, 2):
                shared = self.keys[a] & self.keys[b]
                exclusive = any(
                    all(self.group[i] == group for i in self._by_key[k]) for k in shared
                )
                if not exclusive or not same_story(self.sigs[a], self.sigs[b], self.config):
                    yield a, b
