"""The dateline a news text opens with: where (and often when, and by which agency) it was
filed, not what it is about.

``MOSCOW, Dec 5 (Reuters) -``, ``МОСКВА, 5 мар - РИА Новости.``, ``Москва. 28 декабря.
INTERFAX.RU -``, ``KYIV, Ukraine (AP) —``, ``BERLIN, October 1. /TASS/.``, ``RABAT, Morocco
--``. A Russian agency files its report on talks between Thailand and Cambodia from Moscow:
that "Moscow" is not Russia acting, nor a sign of the Russia–Ukraine context. The tagger
reads no actor in a dateline (:mod:`process.tagger`), and the topics' context and the
embedded lead skip it (:mod:`process.topics`, :mod:`process.semantic`); places keep it.

Only the start of the text is looked at, and only shapes that cannot be a sentence: a place
in capitals or followed by a date, an agency in brackets or slashes, or a dash. A text that
opens with its first sentence ("Russia said on Monday ...") has no dateline.
"""

from __future__ import annotations

import re

_UP = r"A-ZА-ЯЁІЇЄҐ"
_LOW = r"a-zа-яёіїєґ"
_WORD = rf"[{_UP}][\w'’.\-]*"  # a capitalised word: "Abu", "Эр-Рияд", "ST."
_CAPS = rf"[{_UP}][{_UP}'’.\-]+"  # a word in capitals: "MOSCOW", "NEW", "КИЕВ"
_PLACE = rf"(?:{_WORD})(?: {_WORD}){{0,3}}"
#: Organisations' acronyms that open a text the way a place in capitals does ("NATO: …").
_NOT_PLACES = r"(?!(?:NATO|OSCE|IAEA|UN|EU|US|UK|USA|IMF|OPEC|BRICS|НАТО|ОБСЕ|ООН|ЕС|ЄС|США|МВФ)\b)"
_CAPS_PLACE = rf"{_NOT_PLACES}(?:{_CAPS})(?: {_CAPS}){{0,3}}"
_COUNTRY = rf",\s*(?:{_WORD})(?: {_WORD}){{0,2}}"
#: A day and a month in either order, perhaps a year: "Dec 5", "5 мар", "March 18, 2024".
_DATE = (
    rf"(?:\d{{1,2}}(?:st|nd|rd|th)?\s+[{_UP}{_LOW}]{{3,10}}\.?"
    rf"|[{_UP}{_LOW}]{{3,10}}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?)"
    r"(?:,?\s+\d{4})?"
)
_BRACKETS = r"\([^()\n]{1,80}\)"  # "(Reuters)", "(UrduPoint News / Sputnik - 3rd May, 2021)"
_SLASHES = r"/[^/\n]{1,20}/"  # "/TASS/", "/ТАСС/"
_DASH = r"(?:-{1,2}|[–—])"
#: An agency named after a dash or on its own: "- РИА Новости.", "— Sputnik.", "ARMENPRESS.",
#: "INTERFAX.RU -".
_AGENCY_WORDS = rf"(?:{_WORD})(?:\s+{_WORD}){{0,3}}"
_AGENCY = (
    rf"(?:\s*{_BRACKETS}|[.,]?\s*{_SLASHES}\.?"
    rf"|[.,]?\s*{_DASH}\s*{_AGENCY_WORDS}\."
    rf"|[.,]?\s*[{_UP}][{_UP}.\-]{{3,}}(?:\s*{_DASH}|\.))"
)
_END = rf"(?:\s*{_DASH}|\s*:|\.)?"

_PATTERNS = tuple(re.compile(p) for p in (
    # PLACE[, Country], DATE[,] (Agency)[ -]: "HAVANA, Jan 23, 2024 (BSS/AFP) -"
    rf"{_PLACE}(?:{_COUNTRY})?,\s*{_DATE},?\s*{_BRACKETS}\s*(?:{_DASH}|:)?",
    # PLACE, Country (Agency)[ -]: "KYIV, Ukraine (AP) —"
    rf"{_PLACE}{_COUNTRY}\s*{_BRACKETS}\s*(?:{_DASH}|:)?",
    # PLACE (Agency) -: "MOSCOW (Reuters) -", "KIEV (UrduPoint News / Sputnik - 3rd May, 2021)"
    rf"{_CAPS_PLACE}\s*(?:{_BRACKETS}\s*(?:{_DASH}|:)|\([^()\n]{{0,60}}\d[^()\n]{{0,20}}\))",
    # PLACE[, Country], DATE[.] [agency][ -]: "BERLIN, October 1. /TASS/.", "Эр-Рияд, 2 июня."
    rf"{_PLACE}(?:{_COUNTRY})?[,.]\s*{_DATE}(?:{_AGENCY}{_END}|\s*{_DASH}|\s*:|\.)",
    # PLACE, COUNTRY | AGENCY |: "ISTANBUL, TURKEY | TASS |"
    rf"{_PLACE}(?:{_COUNTRY})?\s*\|[^|\n]{{1,30}}\|",
    # PLACE IN CAPITALS[, Country] -: "WASHINGTON —", "RABAT, Morocco --", "KYIV, Ukraine:"
    rf"{_CAPS_PLACE}(?:{_COUNTRY})?\s*(?:{_DASH}|:)(?=\s)",
    # Place, Country -: "Abu Dhabi, UAE – The ...", "Kyiv, Ukraine - Attacks ..."
    rf"{_WORD}(?: {_WORD})?,\s*{_WORD}(?: {_WORD})?\s+{_DASH}(?=\s+[{_UP}])",
))
_SPACE = re.compile(r"\s*")
MAX_DATELINE = 100  # characters


def dateline_end(text: str) -> int:
    """The length of the dateline ``text`` opens with, its trailing space included; 0 if none.
    Reads only the start (no copy of a long text)."""
    start = _space_end(text, 0, MAX_DATELINE)
    head = text[start:start + MAX_DATELINE + 1]
    ends = [m.end() for p in _PATTERNS if (m := p.match(head)) and m.end() <= MAX_DATELINE]
    return _space_end(text, start + max(ends)) if ends else 0


def _space_end(text: str, pos: int, end: int | None = None) -> int:
    """Where the white space from ``pos`` ends."""
    m = _SPACE.match(text, pos, len(text) if end is None else end)
    return m.end() if m else pos


def strip_dateline(text: str) -> str:
    """``text`` without the dateline it opens with."""
    return text[dateline_end(text):]
