"""A small, dependency-free language guess from function words (no model, no download).

Good enough to route text: English gets the full spaCy treatment; other languages get
gazetteer and multilingual topic terms, and ``Tags.lang`` says what the text is.
"""

from __future__ import annotations

import re

STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the and of to in is that for on with as was by said from at it his are be has".split()
    ),
    "de": frozenset(
        "der die das und ist nicht mit sich auf für dem den des ein eine von zu im wird".split()
    ),
    "fr": frozenset(
        "le la les et des est une pour dans que qui sur pas du au par avec ce il".split()
    ),
    "it": frozenset(
        "il la le di che è per una con del della non sono gli dei nel alla anche ha".split()
    ),
    "es": frozenset(
        "el la los las de que y en un una por con para es del al se su lo".split()
    ),
    "pt": frozenset(
        "o a os as de que e em um uma para com não do da dos das no na se".split()
    ),
    "pl": frozenset(
        "i w na z się nie do że jest to o jak po przez dla oraz ale tak".split()
    ),
    "ru": frozenset(
        "и в не на что с по это как он из за к о от для так его но".split()
    ),
    "uk": frozenset(
        "і в не на що з та це як він із за до у від для так його але".split()
    ),
    "tr": frozenset(
        "ve bir bu da de için ile olarak çok daha gibi ama olan sonra en".split()
    ),
}
_WORD = re.compile(r"\w+", re.UNICODE)


def detect_language(text: str, default: str = "en") -> str:
    """ISO 639-1 code of the language whose function words are most frequent in ``text``."""
    words = [w.lower() for w in _WORD.findall(text[:5000])]
    if len(words) < 3:
        return default
    scores = {lang: sum(1 for w in words if w in stop) for lang, stop in STOPWORDS.items()}
    scores = _cyrillic_tiebreak(text, scores)
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] >= max(2, len(words) // 25) else default


def _cyrillic_tiebreak(text: str, scores: dict[str, int]) -> dict[str, int]:
    """Ukrainian letters (і ї є ґ) separate Ukrainian from Russian (ы э ъ ё)."""
    uk = sum(text.count(c) for c in "іїєґ")
    ru = sum(text.count(c) for c in "ыэъё")
    if uk or ru:
        scores["uk"] += 3 * uk
        scores["ru"] += 3 * ru
    return scores
