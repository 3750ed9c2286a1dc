"""Text folding shared by the gazetteer, the topic rules and the evaluation.

``fold`` makes spelling variants meet: case, diacritics (Erdoğan → erdogan, Türkiye →
turkiye), typographic apostrophes and dashes, and runs of white space. Cyrillic stays
Cyrillic (Зеленський and Зеленский are separate aliases in the gazetteer).
"""

from __future__ import annotations

import re
import unicodedata

_TRANSLATE = str.maketrans(
    {
        "\u2019": "'",
        "\u2018": "'",
        "\u02bc": "'",
        "`": "'",
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "ı": "i",
        "ł": "l",
        "Ł": "L",
        "ø": "o",
        "Ø": "O",
        "đ": "d",
        "ß": "ss",
    }
)
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"\w+(?:[-'.]\w+)*\.?|[^\w\s]", re.UNICODE)


def fold(text: str) -> str:
    """Lower-case, strip diacritics, unify apostrophes/dashes, collapse white space."""
    text = unicodedata.normalize("NFKD", text.translate(_TRANSLATE))
    # Cyrillic й/ё lose their marks too (й → и); aliases are folded the same way, so they meet.
    text = "".join(c for c in text if not unicodedata.combining(c))
    return _SPACES.sub(" ", text).strip().casefold()


def simple_tokens(text: str) -> list[str]:
    """A tokenizer for tests and for callers without spaCy: words, keeping inner -'. ."""
    return _WORD.findall(text)


def strip_possessive(token: str) -> str:
    """``Trump's`` → ``Trump`` (the possessive as a token suffix)."""
    for suffix in ("'s", "\u2019s", "s'", "'"):
        if token.endswith(suffix) and len(token) > len(suffix) + 1:
            return token[: -len(suffix)] + ("s" if suffix == "s'" else "")
    return token
