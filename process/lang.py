"""Which language a text is in: py3langid (a naive Bayes model bundled in its wheel, no
download) restricted to the languages news feeds bring, with a script rule for texts too short
to judge (a Latin-script headline of three words is taken as the default, English).

The language routes the text: English gets spaCy, Russian and Ukrainian get the Slavic
pipeline (:mod:`process.slavic_nlp`), every other language gets the gazetteer and the topic
terms; ``Tags.lang`` records what the text is either way.
"""

from __future__ import annotations

import functools
import re
from typing import Any

#: The languages the identifier may answer (others read as the nearest of these).
LANGUAGES = tuple(
    """en de fr it es pt nl pl cs sk hu ro bg sr hr sl ru uk be lt lv et fi sv da no tr el ar
    fa he zh ja ko hi ur id vi ka hy az kk""".split()
)
MIN_WORDS = 5
SAMPLE = 3000
_WORD = re.compile(r"\w+", re.UNICODE)
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


@functools.lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE)
    ident.set_languages(list(LANGUAGES))
    return ident


def detect_language(text: str, default: str = "en") -> str:
    """ISO 639-1 code of ``text``'s language; ``default`` for a short Latin-script text."""
    sample = text[:SAMPLE]
    words = _WORD.findall(sample)
    if not words:
        return default
    cyrillic = sum(1 for w in words if _CYRILLIC.match(w))
    if len(words) < MIN_WORDS:
        if cyrillic * 2 < len(words):
            return default
        return "uk" if re.search("[іїєґІЇЄҐ]", sample) else "ru"
    return str(_identifier().classify(sample)[0])
