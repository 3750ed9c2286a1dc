"""Text analysis that mirrors Elasticsearch's ``standard`` analyzer and ``lowercase`` normalizer.

The tokenizer follows Lucene's ``StandardTokenizer`` grammar (UAX#29 word boundaries, Unicode 9
in Lucene): letters, digits and ``_`` join into one token; ``.`` ``'`` ``:`` join letters
(``U.S.`` → ``u.s``, ``don't``, ``putin's``); ``.`` ``,`` ``'`` join digits (``1,000.5``); each
Han / Hiragana character is its own token; Katakana runs and South-East-Asian runs stay whole;
emoji are tokens. Tokens longer than 255 characters are split. Lower-casing is per code point like
Java's ``Character.toLowerCase`` (no final-sigma rule, ``İ`` → ``i``); accents are kept.

Character classes come from :mod:`unicodedata` general categories plus the code-point lists
UAX#29 names, built once on first use (about 0.2 s), not at import.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from functools import cache

MAX_TOKEN_LENGTH = 255

_MID_LETTER = "\u003a\u00b7\u0387\u05f4\u2027\ufe13\ufe55\uff1a"
_MID_NUM_LET = "\u002e\u2018\u2019\u2024\ufe52\uff07\uff0e"
_MID_NUM = (
    "\u002c\u003b\u037e\u0589\u060c\u060d\u066c\u07f8\u2044\ufe10\ufe14\ufe50\ufe54\uff0c\uff1b"
)
_SINGLE_QUOTE = "'"
_DOUBLE_QUOTE = '"'
_SPECIAL = set(_MID_LETTER + _MID_NUM_LET + _MID_NUM + _SINGLE_QUOTE + _DOUBLE_QUOTE)

_HAN = (
    (0x2E80, 0x2FDF),
    (0x3005, 0x3005),
    (0x3007, 0x3007),
    (0x3021, 0x3029),
    (0x3038, 0x303B),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x3134F),
)
_HIRAGANA = ((0x3041, 0x3096), (0x309D, 0x309F), (0x1B001, 0x1B11F))
_KATAKANA = (
    (0x3031, 0x3035),
    (0x309B, 0x309C),
    (0x30A0, 0x30FA),
    (0x30FC, 0x30FF),
    (0x31F0, 0x31FF),
    (0x32D0, 0x32FE),
    (0x3300, 0x3357),
    (0xFF66, 0xFF9D),
    (0x1B000, 0x1B000),
)
_SOUTH_EAST_ASIAN = (
    (0x0E00, 0x0EFF),
    (0x1000, 0x109F),
    (0x1780, 0x17FF),
    (0x1950, 0x19FF),
    (0x1A20, 0x1AAF),
    (0xA9E0, 0xA9FF),
    (0xAA60, 0xAADF),
    (0x11700, 0x1174F),
)
_HEBREW = ((0x05D0, 0x05EA), (0x05EF, 0x05F2), (0xFB1D, 0xFB1D), (0xFB1F, 0xFB28), (0xFB2A, 0xFB4F))
_EMOJI = (
    (0x00A9, 0x00A9),
    (0x00AE, 0x00AE),
    (0x203C, 0x203C),
    (0x2049, 0x2049),
    (0x2122, 0x2122),
    (0x2139, 0x2139),
    (0x2194, 0x21AA),
    (0x231A, 0x23FF),
    (0x24C2, 0x24C2),
    (0x25AA, 0x25FE),
    (0x2600, 0x27BF),
    (0x2934, 0x2935),
    (0x2B05, 0x2B55),
    (0x3030, 0x3030),
    (0x303D, 0x303D),
    (0x3297, 0x3299),
    (0x1F000, 0x1F1E5),
    (0x1F200, 0x1F3FA),
    (0x1F400, 0x1FAFF),
)
_EMOJI_MODIFIER = ((0x1F3FB, 0x1F3FF),)
_REGIONAL_INDICATOR = ((0x1F1E6, 0x1F1FF),)
_SCAN_LIMIT = 0x323B0  # past the last assigned Han block; planes 14+ hold only format chars


def _table(*groups: tuple[str, tuple[tuple[int, int], ...]]) -> list[tuple[int, int, str]]:
    return sorted((lo, hi, cls) for cls, ranges in groups for lo, hi in ranges)


_BLOCKS = _table(
    ("I", _HAN),
    ("G", _HIRAGANA),
    ("K", _KATAKANA),
    ("M", _EMOJI_MODIFIER),
    ("R", _REGIONAL_INDICATOR),
    ("J", _EMOJI),
    ("S", _SOUTH_EAST_ASIAN),
    ("H", _HEBREW),
)
_BLOCK_STARTS = [lo for lo, _, _ in _BLOCKS]


def _block(cp: int) -> str:
    i = bisect_right(_BLOCK_STARTS, cp) - 1
    return _BLOCKS[i][2] if i >= 0 and cp <= _BLOCKS[i][1] else ""


def _word_break_class(cp: int) -> str:
    """One letter per UAX#29 class we distinguish ('' = ignored)."""
    ch = chr(cp)
    cat = unicodedata.category(ch)
    if cat == "Cn" or ch in _SPECIAL or cp == 0x200B:
        return ""
    block = _block(cp)
    if cp in (0x200C, 0x200D) or cat in ("Mn", "Me", "Mc", "Cf"):
        return "S" if block == "S" else "X"
    if cp == 0x202F or cat == "Pc":
        return "E"
    if block in ("I", "G", "K", "M", "R", "J"):
        return block
    if cat == "Nd":
        return "N"
    if block == "S":
        return "S" if cat[0] == "L" else ""
    if block == "H":
        return "H"
    if cat[0] == "L" or cat == "Nl" or 0x24B6 <= cp <= 0x24E9:
        return "L"
    return ""


def _char_class(cps: list[int]) -> str:
    """A regex character-class body for the given sorted code points."""
    parts: list[str] = []
    start = prev = cps[0]
    for cp in [*cps[1:], -2]:
        if cp == prev + 1:
            prev = cp
            continue
        parts.append(_esc(start) if start == prev else f"{_esc(start)}-{_esc(prev)}")
        start = prev = cp
    return "".join(parts)


def _esc(cp: int) -> str:
    return f"\\U{cp:08x}"


@cache
def _token_regex() -> re.Pattern[str]:
    groups: dict[str, list[int]] = {}
    for cp in range(_SCAN_LIMIT):
        cls = _word_break_class(cp)
        if cls:
            groups.setdefault(cls, []).append(cp)
    groups["X"].extend(range(0xE0000, 0xE0080))  # tags
    groups["X"].extend(range(0xE0100, 0xE01F0))  # variation selectors supplement
    c = {k: _char_class(v) for k, v in groups.items()}
    x = f"[{c['X']}]*"
    letter = f"[{c['L']}{c['H']}]{x}"
    hebrew = f"[{c['H']}]{x}"
    num = f"[{c['N']}]{x}"
    kata = f"[{c['K']}]{x}"
    ext = f"[{c['E']}]{x}"
    mid_letter = f"[{re.escape(_MID_LETTER + _MID_NUM_LET + _SINGLE_QUOTE)}]{x}"
    mid_num = f"[{re.escape(_MID_NUM + _MID_NUM_LET + _SINGLE_QUOTE)}]{x}"
    heb_seq = f"{hebrew}(?:'{x}|\"{x}{hebrew})"
    num_seq = f"{num}(?:(?:{ext})*{num}|{mid_num}{num})*"
    let_seq = f"{letter}(?:(?:{ext})*{letter}|{mid_letter}{letter})*"
    core = f"(?:{kata}(?:(?:{ext})*{kata})*|(?:{heb_seq}|{num_seq}|{let_seq})+)"
    word = f"(?:{ext})*{core}(?:(?:{ext})+{core})*(?:{ext})*"
    emoji_char = f"(?:[{c['J']}]{x}\ufe0f?(?:[{c['M']}]{x})?|[{c['M']}]{x})"
    emoji = f"{emoji_char}(?:\u200d{emoji_char})*|(?:[{c['R']}]{x}){{2}}"
    keycap = f"[0-9#*]\ufe0f?\u20e3{x}"
    other = f"(?:[{c['S']}]{x})+|[{c['I']}]{x}|[{c['G']}]{x}"
    return re.compile(f"{keycap}|{emoji}|{word}|{other}")


def lowercase(text: str) -> str:
    """Java ``Character.toLowerCase`` per code point, as Lucene's LowerCaseFilter does."""
    if "Σ" in text or "İ" in text:
        text = text.replace("Σ", "σ").replace("İ", "i")
    return text.lower()


def tokenize(text: str) -> list[str]:
    """Tokens as Lucene's StandardTokenizer emits them (case preserved)."""
    tokens: list[str] = []
    for m in _token_regex().finditer(text):
        tok = m.group()
        if len(tok) <= MAX_TOKEN_LENGTH:
            tokens.append(tok)
        else:
            tokens.extend(
                tok[i : i + MAX_TOKEN_LENGTH] for i in range(0, len(tok), MAX_TOKEN_LENGTH)
            )
    return tokens


def token_spans(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, token)`` of every token :func:`analyze` yields, in order: where in the
    text each analyzed token stands (marking matched terms in alert fragments)."""
    spans: list[tuple[int, int, str]] = []
    for m in _token_regex().finditer(text):
        start, tok = m.start(), m.group()
        for i in range(0, len(tok), MAX_TOKEN_LENGTH):
            piece = tok[i : i + MAX_TOKEN_LENGTH]
            spans.append((start + i, start + i + len(piece), lowercase(piece)))
    return spans


def analyze(text: str) -> list[str]:
    """Tokens of ``text`` as the ``standard`` analyzer indexes them: UAX#29 words, lower-cased."""
    return [lowercase(tok) for tok in tokenize(text)]
