"""The matched text of an alert: the title and one or two sentences, matched terms marked
(pure).

An alert says *why* it fired: :func:`fragments` takes the article and the ``matched`` list
that the rule's own matcher returned when it fired (``Matcher.explain``: ``ceasefire``,
``"peace talks"`` as ``peace talks``, ``title:kremlin``, a wildcard's actual term...), finds
those terms in ``title`` and ``text`` with the same analyzer (token by token, phrases as
consecutive tokens), and returns::

    {"title": "Putin agrees to <em>ceasefire</em> talks",
     "text": ["Negotiators met in Istanbul to discuss a <em>ceasefire</em>."]}

Sentences are chosen by how many different matched terms they hold (ties: the earlier), at
most :data:`SENTENCES`, in text order; a sentence longer than :data:`MAX_CHARS` is cut around
its first mark. With no term in the text (a match on the title, or on ``actor:``/``topic:``
only) the lead sentence stands unmarked. Marks are ``<em>``/``</em>`` as in search highlights;
each channel renders them its own way (:func:`segments`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from newsmon.query import FIELDS
from newsmon.query.analysis import analyze, token_spans

SENTENCES = 2
MAX_CHARS = 280
OPEN, CLOSE = "<em>", "</em>"
TEXT_FIELDS = ("title", "text")

_ABBREVIATIONS = frozenset(
    "mr mrs ms dr st gen sen rep gov lt col maj sgt jr sr prof no vs etc e.g i.e u.s u.k "
    "u.n jan feb mar apr jun jul aug sep sept oct nov dec г гг т.е им ул".split()
)
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’»)\]]*\s+(?=[\"'“‘«(\[]?[A-ZÀ-ÖØ-ÞА-ЯЁІЇЄҐ0-9])")
_PARAGRAPH = re.compile(r"\s*\n\s*")


def wanted_terms(matched: Sequence[str]) -> dict[str, list[tuple[str, ...]]]:
    """Field → token sequences to mark, from ``explain``'s entries (``field:value`` for a
    named field, bare for the default fields title and text)."""
    out: dict[str, list[tuple[str, ...]]] = {f: [] for f in TEXT_FIELDS}
    for entry in matched:
        name, sep, value = entry.partition(":")
        fields: Sequence[str] = TEXT_FIELDS
        if sep and name in FIELDS:
            if name not in TEXT_FIELDS:
                continue  # a keyword, date or number field: nothing to mark in the text
            fields, entry = (name,), value
        tokens = tuple(analyze(entry))
        if tokens:
            for f in fields:
                if tokens not in out[f]:
                    out[f].append(tokens)
    return out


def _marks(text: str, sequences: Sequence[tuple[str, ...]]) -> list[tuple[int, int, int]]:
    """``(start, end, which)`` character spans of ``text`` holding a wanted sequence."""
    spans = token_spans(text)
    words = [tok for _, _, tok in spans]
    found: list[tuple[int, int, int]] = []
    for which, seq in enumerate(sequences):
        n = len(seq)
        for i in range(len(words) - n + 1):
            if tuple(words[i : i + n]) == seq:
                found.append((spans[i][0], spans[i + n - 1][1], which))
    found.sort()
    merged: list[tuple[int, int, int]] = []
    for start, end, which in found:
        if merged and start < merged[-1][1]:
            continue  # overlapping marks: the earlier one stands
        merged.append((start, end, which))
    return merged


def _marked(text: str, marks: Sequence[tuple[int, int, int]], start: int, end: int) -> str:
    parts, pos = [], start
    for a, b, _ in marks:
        if a >= start and b <= end:
            parts += [text[pos:a], OPEN, text[a:b], CLOSE]
            pos = b
    return "".join(parts) + text[pos:end]


def sentences(text: str) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each sentence: paragraphs split, then sentence ends followed by a
    capital, a digit or an opening quote, except after a common abbreviation or an initial."""
    pos = 0
    for para in _PARAGRAPH.split(text):
        start = text.find(para, pos) if para else pos
        if not para.strip():
            continue
        cut = start
        for m in _BOUNDARY.finditer(para):
            before = para[: m.start()].rsplit(None, 1)
            word = before[-1].lower().rstrip(".") if before else ""
            if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
                continue
            yield cut, start + m.end()
            cut = start + m.end()
        yield cut, start + len(para)
        pos = start + len(para)


def _window(text: str, marks: Sequence[tuple[int, int, int]], a: int, b: int) -> tuple[int, int]:
    """The sentence ``[a, b)``, cut to :data:`MAX_CHARS` around its first mark if longer."""
    if b - a <= MAX_CHARS:
        return a, b
    first = next((s for s, e, _ in marks if s >= a and e <= b), a)
    start = max(a, first - MAX_CHARS // 3)
    if start > a:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < first else start
    end = min(b, start + MAX_CHARS)
    if end < b:
        space = text.rfind(" ", start, end)
        end = space if space > first else end
    return start, end


def _text_fragments(text: str, sequences: Sequence[tuple[str, ...]]) -> list[str]:
    marks = _marks(text, sequences) if sequences else []
    spans = list(sentences(text))
    if not spans:
        return []
    scored = []
    for i, (a, b) in enumerate(spans):
        inside = {w for s, e, w in marks if s >= a and e <= b}
        scored.append((len(inside), -i, i))
    best = sorted((s for s in scored if s[0] > 0), reverse=True)[:SENTENCES]
    chosen = sorted(i for _, _, i in best) or [0]
    out = []
    for i in chosen:
        a, b = _window(text, marks, *spans[i])
        piece = _marked(text, marks, a, b).strip()
        prefix = "… " if a > spans[i][0] else ""
        suffix = " …" if b < spans[i][1] else ""
        out.append(prefix + " ".join(piece.split()) + suffix)
    return out


def fragments(doc: Mapping[str, Any], matched: Sequence[str]) -> dict[str, Any]:
    """The title and up to two sentences of ``doc`` with the ``matched`` terms marked."""
    wanted = wanted_terms(matched)
    title = str(doc.get("title") or "")
    text = str(doc.get("text") or "")
    out: dict[str, Any] = {
        "title": _marked(title, _marks(title, wanted["title"]), 0, len(title)) if title else "",
        "text": _text_fragments(text, wanted["text"]) if text else [],
    }
    return out


def segments(fragment: str) -> list[tuple[str, bool]]:
    """A marked fragment as ``(text, marked)`` pieces, for channels to render."""
    out: list[tuple[str, bool]] = []
    for i, piece in enumerate(re.split(r"<em>|</em>", fragment)):
        if piece:
            out.append((piece, i % 2 == 1))
    return out


def render(fragment: str, open_mark: str, close_mark: str, escape: Any = None) -> str:
    """``fragment`` with its marks as ``open_mark``/``close_mark``, the text passed through
    ``escape`` (HTML, Slack mrkdwn...)."""
    esc = escape or (lambda s: s)
    return "".join(
        f"{open_mark}{esc(t)}{close_mark}" if marked else esc(t) for t, marked in segments(fragment)
    )
