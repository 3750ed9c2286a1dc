"""Headline casing: spotting Title Case lines and trimming the words NER glues to names.

In "Zelensky Invites Putin to Istanbul" the NER sees the capitalised verb as part of a name
("Zelensky Invites"). These functions take plain strings and return plain strings.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from .normalize import fold

#: Short words that stay lower case in Title Case headlines.
MINOR_WORDS = frozenset(
    "a an and as at but by for from in into nor of off on onto or out over per so the to up "
    "upon via vs with without amid after before than that".split()
)
#: Words that are never part of a name, whatever their case (headline verbs and the like).
HEADLINE_WORDS = frozenset(
    """says said say calls call called invites invite invited urges urge urged warns warn warned
    meets meet met talks talk rejects reject rejected demands demand backs back slams slam
    signals signal vows vow offers offer agrees agree proposes propose plans plan seeks seek
    holds hold halts halt escalates escalate could would will may might should can must
    clash tense read more latest breaking update big news live watch exclusive analysis opinion
    video explainer turning point push renewed immediate quietly open response conditions
    leaders leader ceasefire cease-fire peace deal""".split()
)


def is_headline_cased(line: str) -> bool:
    """True for a Title Case line: most words that are not minor words start upper case."""
    words = [w for w in line.split() if any(c.isalpha() for c in w)]
    if not 2 <= len(words) <= 20 or line.rstrip().endswith((".", "?\u201d", '."')):
        return False
    major = [w for w in words if fold(w).strip("\"'\u201c\u2018:") not in MINOR_WORDS]
    if len(major) < 2:
        return False
    upper = sum(1 for w in major if w.lstrip("\"'\u201c\u2018(")[:1].isupper())
    return upper / len(major) >= 0.75


def longest_known(tokens: Sequence[str], is_known: Callable[[str], bool]) -> tuple[int, int]:
    """(start, end) of the longest run of ``tokens`` that ``is_known``; (0, 0) if none."""
    for size in range(len(tokens), 0, -1):
        for start in range(len(tokens) - size + 1):
            if is_known(" ".join(tokens[start : start + size])):
                return start, start + size
    return 0, 0


def trim_headline_tokens(
    tokens: Sequence[str],
    is_known: Callable[[str], bool],
    lower_vocab: Collection[str] = (),
) -> tuple[str, ...]:
    """The name inside a span found in a headline-cased line.

    A known name inside wins ("Zelensky Invites" → "Zelensky"); otherwise words that are
    headline words, or that the article uses in lower case elsewhere, are stripped from both
    ends ("Trump Calls" → "Trump"). An empty result means: not a name.
    """
    start, end = longest_known(tokens, is_known)
    if end:
        return tuple(tokens[start:end])
    words = list(tokens)
    while words and _is_common(words[-1], lower_vocab):
        words.pop()
    while words and _is_common(words[0], lower_vocab):
        words.pop(0)
    return tuple(words)


def _is_common(word: str, lower_vocab: Collection[str]) -> bool:
    folded = fold(word)
    return folded in HEADLINE_WORDS or folded in MINOR_WORDS or folded in lower_vocab
