"""The compiled query: a tree of small predicates over a :class:`PreparedDoc`.

Every node answers ``match`` (fast, short-circuits), ``hits`` (what matched, for explanations;
only called on a match) and ``cover`` (a set of (field, indexed term) of which every matching
document contains at least one, or None when no such set exists — for indexing many rules).
``now_ms`` is the evaluation time in epoch milliseconds (only date math reads it).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import UTC, datetime

from newsmon.query.dates import DateBound
from newsmon.query.document import PreparedDoc
from newsmon.query.patterns import TermTest

Cover = frozenset[tuple[str, str]] | None


class Node:
    __slots__ = ()
    uses_now = False

    def match(self, doc: PreparedDoc, now_ms: int) -> bool:
        raise NotImplementedError

    def hits(self, doc: PreparedDoc, now_ms: int) -> list[str]:
        return []

    def cover(self) -> Cover:
        return None


class MatchAll(Node):
    __slots__ = ()

    def match(self, doc: PreparedDoc, now_ms: int) -> bool:
        return True


class MatchNone(Node):
    __slots__ = ()

    def match(self, doc: PreparedDoc, now_ms: int) -> bool:
        return False

    def cover(self) -> Cover:
        return frozenset()


class BoolNode(Node):
    """Lucene BooleanQuery: all MUST, no MUST_NOT, and one SHOULD unless there is a MUST."""

    __slots__ = ("must", "should", "must_not", "positive", "uses_now")

    def __init__(
        self,
        must: Iterable[Node],
        should: Iterable[Node],
        must_not: Iterable[Node],
        positive: Iterable[Node] | None = None,
    ) -> None:
        self.must, self.should, self.must_not = tuple(must), tuple(should), tuple(must_not)
        # MUST and SHOULD clauses in query order, for explanations
        self.positive = tuple(positive) if positive is not None else (*self.must, *self.should)
        self.uses_now = any(n.uses_now for n in (*self.must, *self.should, *self.must_not))

    def match(self, doc: PreparedDoc, now_ms: int) -> bool:
        if not all(n.match(doc, now_ms) for n in self.must):
            return False
        if any(n.match(doc, now_ms) for n in self.must_not):
            return False
        return bool(self.must) or any(n.match(doc, now_ms) for n in self.should)

    def hits(self, doc: PreparedDoc, now_ms: int) -> list[str]:
        out: list[str] = []
        for node in self.positive:
            if node.match(doc, now_ms):
                out.extend(node.hits(doc, now_ms))
        return out

    def cover(self) -> Cover:
        if self.must:
            covers = [c for n in self.must if (c := n.cover()) is not None]
            return min(covers, key=len) if covers else None
        union: set[tuple[str, str]] = set()
        for node in self.should:
            cover = node.cover()
            if cover is None:
                return None
            union |= cover
        return frozenset(union) if self.should else None


class TextTerm(Node):
    __slots__ = ("field", "term", "label")

    def __init__(self, field: str, term: str, label: str) -> None:
        self.field, self.term, self.label = field, term, label

    def match(self, doc: PreparedDoc, now_ms: int) -> bool:
        text = doc.text(self.field)
        return text is not None and self.term in text.positions

    def hits(self, doc: PreparedDoc, now_ms: int) -> list[str]:
        return [self.label + self.term]

    def cover(self) -> Cover:
        return frozenset({(self.field, self.term)})


class TextPhrase(Node):
    """Terms at consecutive positions, or within ``slop`` moves (Lucene sloppy phrase)."""

    __slots__ = ("field", "terms", "slop", "label")

    def __init__(self, field: str, terms: list[str], slop: int, label: str) -> None:
        self.field, self.terms, self.slop, self.label = field, tuple(terms), slop, label

    def match(self, doc: PreparedDoc, now_ms: int) -> bool:
        text = doc.text(self.field)
        if text is None or any(t not in text.positions for t in self.terms):
            return False
        plists = [text.positions[t] for t in self.terms]
        if self.slop == 0:
            later = [set(p) for p in plists[1:]]
            return any(all(p + i in s for i, s in enumerate(later, 1)) for p in plists[0])
        return _sloppy_match(self.terms, plists, self.slop)

    def hits(self, doc: PreparedDoc, now_ms: int) -> list[str]:
        return [self.label + " ".join(self.terms)]

    def cover(self) -> Cover:
        return frozenset({(self.field, max(self.terms, key=len))})


def _sloppy_match(terms: tuple[str, ...], plists: list[list[int]], slop: int) -> bool:
    """Is there one position per term, distinct for repeated terms, whose (pos - offset)
    values span at most ``slop``? (Lucene's SloppyPhraseMatcher match-length rule.)"""
    values = [sorted(p - i for p in plist) for i, plist in enumerate(plists)]
    for low in sorted({v for vals in values for v in vals}):
        options = [vals[bisect_left(vals, low) : bisect_right(vals, low + slop)] for vals in values]
        if all(options) and _assign(terms, options, 0, {}):
            return True
    return False


def _assign(
    terms: tuple[str, ...], options: list[list[int]], i: int, used: dict[str, set[int]]
) -> bool:
    if i == len(options):
        return True
    taken = used.setdefault(terms[i], set())
    for value in options[i]:
        if value + i in taken:
            continue
        taken.add(value + i)
        if _assign(terms, options, i + 1, used):
            return True
        taken.discard(value + i)
    return False


class TextPattern(Node):
    """Any token of a text field passing ``test``. Candidates are narrowed by ``prefix`` or,
    for fuzzy terms, by ``near`` = (length, slack)."""

    __slots__ = ("field", "prefix", "test", "label", "near")

    def __init__(
        self,
        field: str,
        prefix: str,
        test: TermTest,
        label: str,
        near: tuple[int, int] | None = None,
    ) -> None:
        self.field, self.prefix, self.test, self.label = field, prefix, test, label
        self.near = near

    def _candidates(self, doc: PreparedDoc) -> Iterable[str]:
        text = doc.text(self.field)
        if text is None:
            return ()
        if self.prefix:
            return text.terms_from(self.prefix)
        return text.terms_near_length(*self.near) if self.near else text.positions

    def match(self, doc: PreparedDoc, now_ms: int) -> bool:
        return any(self.test(t) for t in self._candidates(doc))

    def hits(self, doc: PreparedDoc, now_ms: int) -> list[str]:
        text = doc.text(self.field)
        found = set(t for t in self._candidates(doc) if self.test(t))
        return [self.label + t for t in (text.positions if text else ()) if t in found]


class KeywordTerm(Node):
    """The whole (normalized) value equals ``value``."""

    __slots__ = ("field", "value", "normalized", "label")

    def __init__(self, field: str, value: str, normalized: bool, label: str) -> None:
        self.field, self.value, self.normalized, self.label = field, value, normalized, label

    def match(self, doc: PreparedDoc, now_ms: int) -> bool:
        return any(v == self.value for v, _ in doc.keywords(self.field, self.normalized))

    def hits(self, doc: PreparedDoc, now_ms: int) -> list[str]:
        return [
            self.label + o for v, o in doc.keywords(self.field, self.normalized) if v == self.value
        ]

    def cover(self) -> Cover:
        return frozenset({(self.field, self.value)})


class KeywordPattern(Node):
    __slots__ = ("field", "normalized", "test", "label")

    def __init__(self, field: str, normalized: bool, test: TermTest, label: str) -> None:
        self.field, self.normalized, self.test, self.label = field, normalized, test, label

    def match(self, doc: PreparedDoc, now_ms: int) -> bool:
        return any(self.test(v) for v, _ in doc.keywords(self.field, self.normalized))

    def hits(self, doc: PreparedDoc, now_ms: int) -> list[str]:
        return [
            self.label + o for v, o in doc.keywords(self.field, self.normalized) if self.test(v)
        ]


class DateRange(Node):
    """Any date value in [low, high] (epoch millis, bounds resolved per ``now`` if needed)."""

    __slots__ = (
        "field",
        "low",
        "high",
        "include_low",
        "include_high",
        "label",
        "uses_now",
        "_fixed",
    )

    def __init__(
        self,
        field: str,
        low: DateBound | None,
        high: DateBound | None,
        include_low: bool,
        include_high: bool,
        label: str,
    ) -> None:
        self.field, self.low, self.high, self.label = field, low, high, label
        self.include_low, self.include_high = include_low, include_high
        self.uses_now = any(b is not None and b.uses_now for b in (low, high))
        self._fixed = None if self.uses_now else self.bounds(0)

    def bounds(self, now_ms: int) -> tuple[int | None, int | None]:
        lo = None if self.low is None else self.low.millis(now_ms) + (not self.include_low)
        hi = None if self.high is None else self.high.millis(now_ms) - (not self.include_high)
        return lo, hi

    def _in(self, value: int, now_ms: int) -> bool:
        lo, hi = self._fixed or self.bounds(now_ms)
        return (lo is None or value >= lo) and (hi is None or value <= hi)

    def match(self, doc: PreparedDoc, now_ms: int) -> bool:
        return any(self._in(v, now_ms) for v in doc.dates(self.field))

    def hits(self, doc: PreparedDoc, now_ms: int) -> list[str]:
        return [self.label + _iso(v) for v in doc.dates(self.field) if self._in(v, now_ms)]


def _iso(millis: int) -> str:
    dt = datetime.fromtimestamp(millis / 1000, UTC)
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class NumberRange(Node):
    __slots__ = ("field", "low", "high", "include_low", "include_high", "label")

    def __init__(
        self,
        field: str,
        low: float | None,
        high: float | None,
        include_low: bool,
        include_high: bool,
        label: str,
    ) -> None:
        self.field, self.low, self.high, self.label = field, low, high, label
        self.include_low, self.include_high = include_low, include_high

    def _in(self, v: float) -> bool:
        lo, hi = self.low, self.high
        above = lo is None or v > lo or (self.include_low and v == lo)
        return above and (hi is None or v < hi or (self.include_high and v == hi))

    def match(self, doc: PreparedDoc, now_ms: int) -> bool:
        return any(self._in(v) for v in doc.numbers(self.field))

    def hits(self, doc: PreparedDoc, now_ms: int) -> list[str]:
        return [f"{self.label}{v:g}" for v in doc.numbers(self.field) if self._in(v)]


class BoolTerm(Node):
    __slots__ = ("field", "value", "label")

    def __init__(self, field: str, value: bool, label: str) -> None:
        self.field, self.value, self.label = field, value, label

    def match(self, doc: PreparedDoc, now_ms: int) -> bool:
        return self.value in doc.booleans(self.field)

    def hits(self, doc: PreparedDoc, now_ms: int) -> list[str]:
        return [self.label + ("true" if self.value else "false")]


class Exists(Node):
    """The field has a value ("" counts: Elasticsearch indexes an empty text and its norm)."""

    __slots__ = ("field", "kind")

    def __init__(self, field: str, kind: str) -> None:
        self.field, self.kind = field, kind

    def match(self, doc: PreparedDoc, now_ms: int) -> bool:
        if self.kind == "text":
            return doc.text(self.field) is not None
        getters = {"date": doc.dates, "number": doc.numbers, "boolean": doc.booleans}
        if self.kind in getters:
            return bool(getters[self.kind](self.field))
        return bool(doc.keywords(self.field, normalized=False))

    def hits(self, doc: PreparedDoc, now_ms: int) -> list[str]:
        return [f"{self.field}:*"]
