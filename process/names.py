"""Name rules over plain strings: honorifics, surname resolution, places that look like people."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

from .normalize import fold, strip_possessive

HONORIFICS = frozenset(
    """sir dame lord lady mr mr. mrs mrs. ms ms. dr dr. prof prof. president pm premier
    chancellor minister secretary senator sen. rep. representative gov. governor general gen.
    spokesman spokeswoman spokesperson ambassador envoy king queen prince princess sheikh emir
    pope cardinal archbishop mayor chairman chairwoman speaker adviser advisor aide representatives
    senators rep congressman congresswoman presidential deputy vice foreign prime chief former
    acting special press first ayatollah patriarch metropolitan""".split()
)
#: Words that open some known people's aliases and are no given names there ("Sultan
#: Haitham", "Crown Prince Mohammed", "Grand Ayatollah Sistani"); "Sultan" is also a name.
TITLE_WORDS = HONORIFICS | frozenset({"sultan", "crown", "grand"})
#: The possessive as a token of its own.
POSSESSIVES = ("'s", "\u2019s")


def owner_name(tokens: Sequence[str]) -> str:
    """Words that own what follows, without their possessive ("the Philippines '" → the
    Philippines, "Russia's" → Russia)."""
    words = [t for t in tokens if t not in (*POSSESSIVES, "'", "\u2019")]
    return " ".join([*words[:-1], strip_possessive(words[-1])]) if words else ""


def clean_person_name(tokens: Iterable[str]) -> tuple[str, ...]:
    """Strip leading honorifics and role words, an owner before a possessive, stray
    brackets and a trailing possessive: "Sir Keir Starmer's" → ("Keir", "Starmer"),
    "Presidential Spokesman Serhiy Nikiforov" → ("Serhiy", "Nikiforov"), "National Review's
    Desmond Lachman" → ("Desmond", "Lachman")."""
    words = [t for t in tokens if t.strip() and t.strip("[](){}")]
    owner = [i for i, t in enumerate(words[:-1]) if t.endswith(POSSESSIVES)]
    if owner:
        words = words[owner[-1] + 1 :]
    words = [strip_possessive(t) for t in words if t not in POSSESSIVES]
    while len(words) > 1 and fold(words[0]) in HONORIFICS:
        words.pop(0)
    return tuple(words)


def resolve_surnames(names: Iterable[str]) -> dict[str, str]:
    """Map each short name to the one longer name in ``names`` that it abbreviates.

    "Jayapal" → "Pramila Jayapal" when that full name occurs in the same article (surname),
    else a single first name ("Roman" → "Roman Abramovich"). A short name that could be either
    of two people is left alone; chains resolve to the longest name (Biden → Joe R. Biden).
    """
    unique = list(dict.fromkeys(n for n in names if n.strip()))
    mapping: dict[str, str] = {}
    for short in unique:
        target = _unique_root(short, unique, _ends_with) or _unique_root(short, unique, _first_is)
        if target:
            mapping[short] = target
    return mapping


def _ends_with(full: list[str], short: list[str]) -> bool:
    return len(full) > len(short) and full[-len(short) :] == short


def _first_is(full: list[str], short: list[str]) -> bool:
    return len(short) == 1 and len(full) > 1 and full[0] == short[0]


def _unique_root(
    short: str, names: list[str], match: Callable[[list[str], list[str]], bool]
) -> str:
    words = fold(short).split()
    longer = [n for n in names if match(fold(n).split(), words)]
    roots = {max((m for m in longer if _ends_with(fold(m).split(), fold(n).split()) or m == n),
                 key=lambda m: len(m.split())) for n in longer}
    return roots.pop() if len(roots) == 1 else ""


def is_place_name(text: str, place_names: Collection[str]) -> bool:
    """A span NER calls a person but the article (or the gazetteer) knows as a place."""
    return fold(text) in place_names


def apply_mapping(name: str, mapping: Mapping[str, str]) -> str:
    return mapping.get(name, name)
