"""A document prepared for matching: each field analyzed once, on first use, then shared.

Field values are found by name (``title``), by dotted path through objects and lists
(``actors.name`` → every ``name`` under ``actors``), and a dotted name under a plain value is a
multi-field of that value (``title.raw`` → ``title``). ``None`` and empty lists are missing.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Mapping
from typing import Any

from newsmon.query.analysis import analyze, lowercase
from newsmon.query.dates import date_millis

POSITION_INCREMENT_GAP = 100  # Elasticsearch default between the values of a multi-valued text


class AnalyzedText:
    """Token positions of one text field (all its values, with the position gap)."""

    __slots__ = ("positions", "_sorted", "_by_length")

    def __init__(self, values: list[str]) -> None:
        self.positions: dict[str, list[int]] = {}
        base = 0
        for value in values:
            tokens = analyze(value)
            for offset, tok in enumerate(tokens):
                self.positions.setdefault(tok, []).append(base + offset)
            base += len(tokens) + POSITION_INCREMENT_GAP
        self._sorted: list[str] | None = None
        self._by_length: dict[int, list[str]] | None = None

    def sorted_terms(self) -> list[str]:
        if self._sorted is None:
            self._sorted = sorted(self.positions)
        return self._sorted

    def terms_near_length(self, length: int, slack: int) -> Iterator[str]:
        """Distinct terms whose length is within ``slack`` of ``length``."""
        if self._by_length is None:
            self._by_length = {}
            for term in self.positions:
                self._by_length.setdefault(len(term), []).append(term)
        for n in range(length - slack, length + slack + 1):
            yield from self._by_length.get(n, ())

    def terms_from(self, prefix: str) -> Iterator[str]:
        """Distinct terms starting with ``prefix``, in sorted order."""
        terms = self.sorted_terms()
        for i in range(bisect_left(terms, prefix), len(terms)):
            if not terms[i].startswith(prefix):
                return
            yield terms[i]


def _flatten(value: Any, out: list[Any]) -> None:
    if value is None:
        return
    if isinstance(value, list | tuple):
        for item in value:
            _flatten(item, out)
    else:
        out.append(value)


def field_values(doc: Mapping[str, Any], path: str) -> list[Any]:
    """Every value of ``path`` in ``doc``, flattened (see the module docstring)."""
    out: list[Any] = []
    if path in doc:
        _flatten(doc[path], out)
        return out
    current: list[Any] = [doc]
    for part in path.split("."):
        step: list[Any] = []
        for value in current:
            if isinstance(value, Mapping):
                _flatten(value.get(part), step)
            elif isinstance(value, str | int | float):
                step.append(value)  # multi-field: title.raw reads title
        current = step
    return current


def keyword_string(value: Any) -> str | None:
    """The string a keyword field indexes for a JSON scalar (None for objects)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


class PreparedDoc:
    """A document plus its lazily computed, cached per-field analysis."""

    __slots__ = ("doc", "_cache")

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.doc = doc
        self._cache: dict[tuple[str, str], Any] = {}

    def _cached(self, kind: str, field: str) -> Any:
        key = (kind, field)
        if key not in self._cache:
            self._cache[key] = getattr(self, f"_build_{kind}")(field)
        return self._cache[key]

    def text(self, field: str) -> AnalyzedText | None:
        """Token positions, or None when the field has no value ("" is a value)."""
        result: AnalyzedText | None = self._cached("text", field)
        return result

    def keywords(self, field: str, normalized: bool) -> list[tuple[str, str]]:
        """(indexed value, original value) pairs; indexed is lower-cased when ``normalized``."""
        result: list[tuple[str, str]] = self._cached("lc" if normalized else "kw", field)
        return result

    def dates(self, field: str) -> list[int]:
        result: list[int] = self._cached("date", field)
        return result

    def numbers(self, field: str) -> list[float]:
        result: list[float] = self._cached("num", field)
        return result

    def booleans(self, field: str) -> list[bool]:
        result: list[bool] = self._cached("bool", field)
        return result

    def _build_text(self, field: str) -> AnalyzedText | None:
        strings = [keyword_string(v) for v in field_values(self.doc, field)]
        values = [s for s in strings if s is not None]
        return AnalyzedText(values) if values else None

    def _build_kw(self, field: str) -> list[tuple[str, str]]:
        strings = [keyword_string(v) for v in field_values(self.doc, field)]
        return [(s, s) for s in strings if s is not None]

    def _build_lc(self, field: str) -> list[tuple[str, str]]:
        return [(lowercase(s), s) for s, _ in self.keywords(field, normalized=False)]

    def _build_date(self, field: str) -> list[int]:
        millis = (date_millis(v) for v in field_values(self.doc, field))
        return [m for m in millis if m is not None]

    def _build_num(self, field: str) -> list[float]:
        out: list[float] = []
        for value in field_values(self.doc, field):
            if isinstance(value, bool):
                continue
            try:
                out.append(float(value))
            except (TypeError, ValueError):
                continue
        return out

    def _build_bool(self, field: str) -> list[bool]:
        values = field_values(self.doc, field)
        return [
            v if isinstance(v, bool) else str(v) == "true"
            for v in values
            if isinstance(v, bool) or str(v) in ("true", "false")
        ]


def prepare(doc: Mapping[str, Any] | PreparedDoc) -> PreparedDoc:
    """Wrap a document for matching many queries; a PreparedDoc is returned as is."""
    return doc if isinstance(doc, PreparedDoc) else PreparedDoc(doc)
