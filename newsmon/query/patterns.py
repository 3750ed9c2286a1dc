"""Term-level patterns: wildcards, Lucene regular expressions, fuzzy edit distance.

Each pattern is tested against one indexed term (a token of a text field, or a whole keyword
value), anchored at both ends, as Lucene's automaton queries are.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from newsmon.query.errors import QueryError

_UNSUPPORTED_REGEX = {"&": "intersection '&'", "~": "complement '~'", "<": "interval '<n-m>'"}
_QUANTIFIERS = ("*", "+", "?")
_REGEX_SHORTHAND = {
    "d": "[0-9]",
    "D": "[^0-9]",
    "s": "[ \\t\\n\\r]",
    "S": "[^ \\t\\n\\r]",
    "w": "[a-zA-Z0-9_]",
    "W": "[^a-zA-Z0-9_]",
}


TermTest = Callable[[str], bool]


def _anchored(regex: str) -> TermTest:
    compiled = re.compile(f"(?:{regex})\\Z", re.DOTALL)
    return lambda term: compiled.match(term) is not None


def wildcard_test(pattern: str, normalize: Callable[[str], str]) -> tuple[TermTest, str]:
    """Lucene ``WildcardQuery`` syntax (``*``, ``?``, ``\\`` escapes) → (test, literal prefix).

    Literal characters go through ``normalize`` (the field's normalizer), wildcards do not.
    """
    out: list[str] = []
    prefix: list[str] | None = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch in "*?":
            out.append(".*" if ch == "*" else ".")
            prefix = None
        else:
            if ch == "\\" and i + 1 < len(pattern):
                i += 1
                ch = pattern[i]
            lit = normalize(ch)
            out.append(re.escape(lit))
            if prefix is not None:
                prefix.append(lit)
        i += 1
    return _anchored("".join(out)), "".join(prefix or [])


def regex_test(pattern: str, pos: int) -> TermTest:
    """Lucene ``RegExp`` syntax as a test that must match a whole term."""
    try:
        return _anchored(_RegexTranslator(pattern, pos).translate())
    except re.error as exc:
        raise QueryError(f"bad regular expression /{pattern}/: {exc}", pos) from None


class _RegexTranslator:
    def __init__(self, pattern: str, pos: int) -> None:
        self.src, self.pos, self.i = pattern, pos, 0

    def fail(self, message: str) -> QueryError:
        return QueryError(f"regular expression /{self.src}/: {message}", self.pos)

    def translate(self) -> str:
        out: list[str] = []
        while self.i < len(self.src):
            piece = self.step()
            if piece in _QUANTIFIERS and out and out[-1] in _QUANTIFIERS:
                # Elasticsearch collapses stacked quantifiers: (x+)? is x*, (x+)+ is x+
                out[-1] = piece if piece == out[-1] else "*"
            else:
                out.append(piece)
        return "".join(out)

    def step(self) -> str:
        ch = self.src[self.i]
        self.i += 1
        if ch in _UNSUPPORTED_REGEX:
            raise self.fail(f"{_UNSUPPORTED_REGEX[ch]} is not supported")
        if ch == "\\":
            return self.escaped()
        if ch == "@":
            return "(?:.*)"
        if ch == "#":
            return "(?!)"
        if ch == '"':
            end = self.src.find('"', self.i)
            if end < 0:
                raise self.fail("unterminated quoted string")
            literal, self.i = self.src[self.i : end], end + 1
            return f"(?:{re.escape(literal)})"
        if ch == "[":
            return self.char_class()
        if ch in ".|()*+?{}":
            return ch
        return re.escape(ch)

    def escaped(self) -> str:
        if self.i >= len(self.src):
            raise self.fail("ends with an escape character")
        ch = self.src[self.i]
        self.i += 1
        return _REGEX_SHORTHAND.get(ch, re.escape(ch))

    def char_class(self) -> str:
        out = ["["]
        if self.src.startswith("^", self.i):
            out.append("^")
            self.i += 1
        while self.i < len(self.src) and self.src[self.i] != "]":
            ch = self.src[self.i]
            self.i += 1
            if ch == "\\":
                out.append(self.escaped())
            else:
                out.append(ch if ch == "-" else re.escape(ch))
        if self.i >= len(self.src):
            raise self.fail("unterminated character class")
        self.i += 1
        return "".join(out) + "]"


def auto_edits(term: str) -> int:
    """Elasticsearch ``AUTO`` fuzziness: 0 edits below 3 characters, 1 below 6, else 2."""
    n = len(term)
    return 0 if n < 3 else 1 if n < 6 else 2


def fuzzy_edits(spec: str, term: str, pos: int) -> int:
    """Edits for ``term~spec`` as Elasticsearch reads them (``~``, ``~1``, ``~2.0``, ``~AUTO``)."""
    if spec == "" or spec.upper() == "AUTO":
        return auto_edits(term)
    try:
        value = float(spec)
    except ValueError:
        raise QueryError(f"bad fuzziness {spec!r}: use ~, ~0, ~1 or ~2", pos) from None
    if value % 1 or value not in (0, 1, 2):
        raise QueryError(f"fuzziness must be 0, 1 or 2, not {spec!r}", pos)
    return int(value)


def within_edits(a: str, b: str, k: int) -> bool:
    """Optimal-string-alignment distance(a, b) <= k (a transposition counts as one edit).

    Banded dynamic programme: only cells within ``k`` of the diagonal can stay within budget.
    """
    la, lb = len(a), len(b)
    if abs(la - lb) > k:
        return False
    if a == b:
        return True
    if k == 0:
        return False
    over = k + 1
    before: list[int] = []
    prev = [j if j <= k else over for j in range(lb + 1)]
    for i in range(1, la + 1):
        cur = [i if i <= k else over] + [over] * lb
        ca, row_min = a[i - 1], cur[0]
        for j in range(max(1, i - k), min(lb, i + k) + 1):
            cb = b[j - 1]
            best = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                best = min(best, before[j - 2] + 1)
            cur[j] = best
            row_min = min(row_min, best)
        if row_min > k:
            return False
        before, prev = prev, cur
    return prev[lb] <= k
