"""Lucene query string → a SQL condition selecting a *superset* of the matching articles.

:class:`~newsmon.adapters.sqlite_store.SqliteStore` runs the condition, then confirms every
candidate with the stream matcher, so the translation only has to be *sound* (never drop a
match), not exact. Each node of the luqum tree becomes a candidate set or ``None`` ("could be
anything": no restriction):

=====================================  =====================================================
term / phrase on title, text, default  FTS5 phrase of the analysed tokens (``unicode61`` splits
                                       a standard-analyzer token such as ``u.s`` into adjacent
                                       tokens, so the phrase still matches)
prefix wildcard ``negotiat*``          FTS5 prefix query ``"negotiat" *``
term / phrase / wildcard on keywords   ``article_terms`` (lower-cased value, ``GLOB``)
``published`` term, range, ``>``/``<``  ``published`` column, widened by a day on each side
                                       (time zones, rounding); ``now`` bounds are unbounded
``a AND b``                            intersection of the translatable sides
``a OR b``                             union; ``None`` if any side is ``None``
``NOT a``, ``-a``                      ``None`` (the matcher applies the negation)
fuzzy, regex, leading wildcard,        ``None``
other fields, scripts FTS5 splits
differently (CJK, Thai, ...)
=====================================  =====================================================

A query whose root is ``None`` is a full scan through the matcher.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from luqum import tree
from luqum.parser import parser

from newsmon.query import analyze

TEXT_FIELDS = ("title", "text")
KEYWORD_FIELDS = (
    "actor", "topic", "place", "tags", "source", "feed", "lang", "country", "url",
    "story_id", "article_id",
)
DATE_FIELD = "published"
_FTS_CONDITION = "seq IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)"
_TERM_CONDITION = "seq IN (SELECT seq FROM article_terms WHERE field = ? AND value {op} ?)"
# Lower-case letters whose upper-case source FTS5's unicode61 folds differently (İ → i̇,
# final sigma, a few Cyrillic/Greek additions): a token holding one is not translated.
_UNSAFE_CHARS = frozenset("\u0307\u03c2\u03f3\u0529\u052b\u052d\u052f")
_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?=$|T|\s)")
_MARGIN = timedelta(days=1)


@dataclass(frozen=True)
class Cand:
    """A candidate set: an FTS5 expression, a SQL condition, or an and/or of candidates."""

    kind: str  # "fts" | "sql" | "and" | "or"
    text: str = ""
    params: tuple[Any, ...] = ()
    parts: tuple[Cand, ...] = ()


@dataclass(frozen=True)
class Plan:
    """The SQL condition over ``articles`` (None: full scan) and the FTS5 scoring expression."""

    where: str | None
    params: tuple[Any, ...] = ()
    scoring: str | None = None
    fts: tuple[str, ...] = field(default=())


def plan_query(query: str) -> Plan:
    text = query.strip()
    if text in ("", "*", "*:*"):
        return Plan(where=None)
    cand = _node(parser.parse(text), None)
    if cand is None:
        return Plan(where=None)
    where, params = _render(cand)
    fts = tuple(_fts_leaves(cand))
    scoring = " OR ".join(f"({e})" for e in fts) if fts else None
    return Plan(where=where, params=params, scoring=scoring, fts=fts)


def sql_text(value: Any) -> str:
    """A text field's value as indexed by FTS5 (lists joined like ES multi-values)."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "\n".join(str(v) for v in value if v is not None)
    return str(value)


# -- combining ---------------------------------------------------------------------------------


def _and(parts: Sequence[Cand | None]) -> Cand | None:
    known = [p for p in parts if p is not None]
    return _merge("and", known) if known else None


def _or(parts: Sequence[Cand | None]) -> Cand | None:
    if not parts or any(p is None for p in parts):
        return None
    return _merge("or", [p for p in parts if p is not None])


def _merge(kind: str, parts: list[Cand]) -> Cand:
    """Fold the FTS5 members into one MATCH expression; keep the rest as SQL."""
    fts = [p.text for p in parts if p.kind == "fts"]
    rest = [p for p in parts if p.kind != "fts"]
    if fts:
        joined = f" {kind.upper()} ".join(f"({e})" for e in fts)
        rest.insert(0, Cand("fts", joined if len(fts) > 1 else fts[0]))
    return rest[0] if len(rest) == 1 else Cand(kind, parts=tuple(rest))


def _render(cand: Cand) -> tuple[str, tuple[Any, ...]]:
    if cand.kind == "fts":
        return _FTS_CONDITION, (cand.text,)
    if cand.kind == "sql":
        return cand.text, cand.params
    rendered = [_render(p) for p in cand.parts]
    sql = f" {cand.kind.upper()} ".join(f"({s})" for s, _ in rendered)
    return sql, tuple(v for _, params in rendered for v in params)


def _fts_leaves(cand: Cand) -> list[str]:
    if cand.kind == "fts":
        return [cand.text]
    return [e for p in cand.parts for e in _fts_leaves(p)]


# -- the tree ----------------------------------------------------------------------------------


def _node(node: tree.Item, fld: str | None) -> Cand | None:
    handler = _HANDLERS.get(type(node))
    return handler(node, fld) if handler is not None else None


def _children(node: tree.Item, fld: str | None) -> list[Cand | None]:
    return [_node(c, fld) for c in node.children]


def _unknown(node: tree.Item, fld: str | None) -> Cand | None:
    """Implicit operator (default OR): ``+x`` clauses are required, ``-x`` excluded."""
    required = [c for c in node.children if isinstance(c, tree.Plus)]
    if required:
        return _and([_node(c, fld) for c in required])
    positive = [c for c in node.children if not isinstance(c, tree.Prohibit | tree.Not)]
    return _or([_node(c, fld) for c in positive]) if positive else None


def _search_field(node: tree.SearchField, fld: str | None) -> Cand | None:
    return _node(node.expr, node.name)


def _word(node: tree.Word, fld: str | None) -> Cand | None:
    value: str = node.value
    if fld is None and value == "*":
        return None
    if "\\" in value:
        return None
    if fld in KEYWORD_FIELDS:
        return _keyword(fld, value)
    if fld == DATE_FIELD:
        return _date_range(value, value)
    if fld is not None and fld not in TEXT_FIELDS:
        return None
    if "*" in value or "?" in value:
        return _prefix(fld, value)
    return _or([_fts_phrase(fld, [t]) for t in analyze(value)])


def _phrase(node: tree.Phrase, fld: str | None) -> Cand | None:
    value = node.value[1:-1]
    if "\\" in value:
        return None
    if fld in KEYWORD_FIELDS:
        return _keyword(fld, value)
    if fld is not None and fld not in TEXT_FIELDS:
        return None
    return _fts_phrase(fld, analyze(value))


def _proximity(node: tree.Proximity, fld: str | None) -> Cand | None:
    """``"a b"~n``: every token somewhere in the field (order and distance: the matcher)."""
    inner = node.term
    if not isinstance(inner, tree.Phrase) or (fld is not None and fld not in TEXT_FIELDS):
        return None
    return _and([_fts_phrase(fld, [t]) for t in analyze(inner.value[1:-1])])


def _range(node: tree.Range, fld: str | None) -> Cand | None:
    if fld != DATE_FIELD:
        return None
    return _date_range(_bound(node.low), _bound(node.high))


def _from(node: tree.From, fld: str | None) -> Cand | None:
    return _date_range(_bound(node.a), "*") if fld == DATE_FIELD else None


def _to(node: tree.To, fld: str | None) -> Cand | None:
    return _date_range("*", _bound(node.a)) if fld == DATE_FIELD else None


def _bound(node: tree.Item) -> str:
    return str(getattr(node, "value", "*")).strip('"')


_HANDLERS: dict[type, Callable[[Any, str | None], Cand | None]] = {
    tree.AndOperation: lambda n, f: _and(_children(n, f)),
    tree.OrOperation: lambda n, f: _or(_children(n, f)),
    tree.UnknownOperation: _unknown,
    tree.Group: lambda n, f: _node(n.expr, f),
    tree.FieldGroup: lambda n, f: _node(n.expr, f),
    tree.Boost: lambda n, f: _node(n.expr, f),
    tree.Plus: lambda n, f: _node(n.a, f),
    tree.SearchField: _search_field,
    tree.Word: _word,
    tree.Phrase: _phrase,
    tree.Proximity: _proximity,
    tree.Range: _range,
    tree.From: _from,
    tree.To: _to,
}


# -- leaves ------------------------------------------------------------------------------------


def _safe(token: str) -> bool:
    """True if FTS5 unicode61 splits ``token`` only at the points the analyzer could."""
    if not any(c.isalnum() for c in token):
        return False
    return all(
        (ord(c) < 0x0E00 or 0x1E00 <= ord(c) < 0x2000) and c not in _UNSAFE_CHARS for c in token
    )


def _columns(fld: str | None) -> str:
    return "" if fld is None else f"{{{fld}}} : "


def _fts_phrase(fld: str | None, tokens: Sequence[str]) -> Cand | None:
    if not tokens or not all(_safe(t) for t in tokens):
        return None
    quoted = " ".join(t.replace('"', '""') for t in tokens)
    return Cand("fts", f'{_columns(fld)}"{quoted}"')


def _prefix(fld: str | None, pattern: str) -> Cand | None:
    head = re.split(r"[*?]", pattern, maxsplit=1)[0].lower()
    if not head or not head.isalnum() or not _safe(head):
        return None
    return Cand("fts", f'{_columns(fld)}"{head}" *')


def _keyword(fld: str, value: str) -> Cand:
    lowered = value.lower()
    if "*" in value or "?" in value:
        glob = re.sub(r"[\[\]]", lambda m: f"[{m.group(0)}]", lowered)
        return Cand("sql", _TERM_CONDITION.format(op="GLOB"), (fld, glob))
    return Cand("sql", _TERM_CONDITION.format(op="="), (fld, lowered))


def _date_range(low: str, high: str) -> Cand | None:
    """``published`` between the widened bounds; ``*`` and unparsable bounds are open."""
    start, end = _granule(low), _granule(high)
    lo = start[0] - _MARGIN if start else None
    hi = end[1] + _MARGIN if end else None
    if lo is None and hi is None:
        return None
    conds, params = [], []
    if lo is not None:
        conds.append("published >= ?")
        params.append(lo.strftime("%Y-%m-%dT%H:%M:%S.%f"))
    if hi is not None:
        conds.append("published < ?")
        params.append(hi.strftime("%Y-%m-%dT%H:%M:%S.%f"))
    return Cand("sql", " AND ".join(conds), tuple(params))


def _granule(value: str) -> tuple[datetime, datetime] | None:
    """The year, month or day a date bound names: (first instant, first instant after)."""
    match = _DATE.match(value)
    if match is None:
        return None
    year, month, day = (int(g) if g else None for g in match.groups())
    assert year is not None
    try:
        start = datetime(year, month or 1, day or 1, tzinfo=UTC)
    except ValueError:
        return None
    if day is not None:
        return start, start + timedelta(days=1)
    if month is not None:
        return start, datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return start, datetime(year + 1, 1, 1, tzinfo=UTC)
