"""The SQLite store's derived index, and compiled queries → SQL selecting the matching articles.

The translation walks the matcher's own compiled tree (:mod:`newsmon.query.nodes`), so
Lucene's boolean rules, analysis, wildcards and date math are decided in one place, and the
derived tables hold exactly what the matcher reads:

* ``articles_fts`` (FTS5) indexes title and text as the analyzer's tokens (``analyze``, not the
  raw text), space-separated, with the ``ascii`` tokenizer told that every ASCII punctuation
  character is a token character: an FTS5 token *is* an analyzer token (``u.s``, ``don't``,
  ``北``, ``i̇stanbul``), so a term query finds exactly the documents the matcher finds.
* ``article_terms`` holds every keyword field's values as the matcher compares them
  (lower-cased for normalized keywords, as is for ``exact`` fields such as ``url``), plus a
  presence row for each text field.
* ``article_dates`` holds every date field in epoch milliseconds (the matcher's parser).

Each node becomes a candidate set that is *exact* (equal to the node's matches), a *superset*
(the store confirms every candidate with the matcher), or ``None`` (no restriction):

=================================  ===========================================================
matcher node                       candidates
=================================  ===========================================================
TextTerm, Exists on text           FTS5 term / presence row: exact
TextPhrase                         FTS5 phrase: exact unless an article has several title or
                                   text values (FTS5 has no position gap between them); sloppy
                                   phrase: FTS5 ``NEAR``, superset
TextPattern (wildcard, regex,      the column's FTS5 terms (``fts5vocab``) that pass the node's
fuzzy)                             own test: exact (``"negotiat" *`` if all with the prefix
                                   pass); over MAX_TERMS: prefix query superset, or ``None``
KeywordTerm, Exists                ``article_terms`` equality / any row: exact
KeywordPattern (wildcard, regex,   the field's distinct values that pass the node's own test:
fuzzy, string range)               exact
DateRange (incl. ``now`` math)     ``article_dates`` between the node's bounds at ``now``: exact
BoolNode                           required clauses: intersection, else optional clauses: union
                                   (``None`` if any is ``None``); minus every exact prohibited
                                   clause; exact if every part is
MatchAll / MatchNone               everything / nothing: exact
numbers, booleans                  ``None``
=================================  ===========================================================

A query whose root is ``None`` is a full scan through the matcher: slower, never different.
"""

from __future__ import annotations

import hashlib
import json
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from newsmon.query import FIELDS, analyze
from newsmon.query.analysis import lowercase
from newsmon.query.document import PreparedDoc, field_values, keyword_string
from newsmon.query.nodes import (
    BoolNode,
    DateRange,
    Exists,
    KeywordPattern,
    KeywordTerm,
    MatchAll,
    MatchNone,
    Node,
    TextPattern,
    TextPhrase,
    TextTerm,
)

FTS_FIELDS = ("title", "text")
KEYWORD_FIELDS = tuple(f for f, kind in FIELDS.items() if kind in ("keyword", "exact"))
DATE_FIELDS = tuple(f for f, kind in FIELDS.items() if kind == "date")
INDEX_VERSION = 4  # bump when what the derived tables hold changes: the store rebuilds them
_TOKENIZER = "ascii tokenchars '" + string.punctuation.replace("'", "''") + "'"
FTS_TABLE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5 ("
    f" {', '.join(FTS_FIELDS)}, content='',"
    f" tokenize='{_TOKENIZER.replace(chr(39), chr(39) * 2)}')"
)
FTS_VOCAB = "CREATE VIRTUAL TABLE IF NOT EXISTS articles_vocab USING fts5vocab(articles_fts, 'col')"
_PROBE = "Don't U.S. 3.5 1,000 foo_bar e-mail École e\u0301cole İstanbul ΟΔΟΣ Київ 北京 ภาษา 😀"
_FTS = "seq IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)"
_TERM = "seq IN (SELECT seq FROM article_terms WHERE field = ? AND value = ?)"
_TERMS = (
    "seq IN (SELECT seq FROM article_terms"
    " WHERE field = ? AND value IN (SELECT value FROM json_each(?)))"
)
_ANY_TERM = "seq IN (SELECT seq FROM article_terms WHERE field = ?)"
_DATES = "seq IN (SELECT seq FROM article_dates WHERE field = ?{bounds})"

MAX_TERMS = 10_000  # a pattern matching more indexed terms stays a (prefix) superset


class IndexLookup(Protocol):
    """What the translator reads from the index while planning."""

    def keyword_values(self, field: str) -> list[str]:
        """The distinct values of a keyword field."""

    def fts_terms(self, field: str, prefix: str) -> list[str]:
        """The distinct FTS5 tokens of a text column that start with ``prefix``."""

    def text_is_single_valued(self) -> bool:
        """No article has several title or text values (FTS5 phrases cannot span them)."""


# -- the derived index -------------------------------------------------------------------------


def index_fingerprint() -> str:
    """Changes when the derived tables would be built differently (the store then rebuilds)."""
    probe = [INDEX_VERSION, analyze(_PROBE), lowercase(_PROBE), sorted(FIELDS.items())]
    return hashlib.sha256(json.dumps(probe).encode()).hexdigest()[:16]


def _strings(doc: Mapping[str, Any], field: str) -> list[str]:
    found = (keyword_string(v) for v in field_values(doc, field))
    return [s for s in found if s is not None]


def index_text(doc: Mapping[str, Any], field: str) -> str:
    """What FTS5 indexes for a text field: the matcher's tokens, one line per value."""
    return "\n".join(" ".join(analyze(s)) for s in _strings(doc, field))


def keyword_rows(doc: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(field, value as the matcher compares it) for every keyword field; ("title", "") when
    the text field has a value."""
    prepared = PreparedDoc(doc)
    rows = {
        (f, value)
        for f in KEYWORD_FIELDS
        for value, _ in prepared.keywords(f, normalized=FIELDS[f] == "keyword")
    }
    return rows | {(f, "") for f in FTS_FIELDS if _strings(doc, f)}


def date_rows(doc: Mapping[str, Any]) -> set[tuple[str, int]]:
    prepared = PreparedDoc(doc)
    return {(f, millis) for f in DATE_FIELDS for millis in prepared.dates(f)}


@dataclass(frozen=True)
class Derived:
    """An article's rows in the derived tables (computed before the write lock is taken)."""

    fts: tuple[str, ...]  # one per FTS_FIELDS
    keywords: list[tuple[str, str]]
    dates: list[tuple[str, int]]
    multi_valued_text: bool


def derive(doc: Mapping[str, Any]) -> Derived:
    return Derived(
        tuple(index_text(doc, f) for f in FTS_FIELDS),
        sorted(keyword_rows(doc)),
        sorted(date_rows(doc)),
        any(len(_strings(doc, f)) > 1 for f in FTS_FIELDS),
    )


class IndexReader:
    """:class:`IndexLookup` over a store's connection (``read(sql, params, what)``)."""

    def __init__(self, read: Callable[[str, Sequence[Any], str], list[Any]]) -> None:
        self._read = read

    def keyword_values(self, field: str) -> list[str]:
        sql = "SELECT DISTINCT value FROM article_terms WHERE field = ?"
        return [str(r[0]) for r in self._read(sql, (field,), "plan")]

    def fts_terms(self, field: str, prefix: str) -> list[str]:
        sql, params = "SELECT term FROM articles_vocab WHERE col = ?", [field]
        if prefix:
            sql, params = sql + " AND term >= ?", [*params, prefix]
            if ord(prefix[-1]) < 0x10FFFF:  # the first string after every "prefix..."
                after = prefix[:-1] + chr(ord(prefix[-1]) + 1)
                sql, params = sql + " AND term < ?", [*params, after]
        return [str(r[0]) for r in self._read(sql, params, "plan")]

    def text_is_single_valued(self) -> bool:
        rows = self._read("SELECT 1 FROM meta WHERE key = 'multi_valued_text'", (), "plan")
        return not rows


# -- plans -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cand:
    """A candidate set: FTS5 expression, SQL condition, and/or/not of candidates, or all."""

    kind: str  # "fts" | "sql" | "and" | "or" | "not" | "all"
    exact: bool
    text: str = ""
    params: tuple[Any, ...] = ()
    parts: tuple[Cand, ...] = ()


@dataclass(frozen=True)
class Plan:
    """The SQL condition over ``articles`` (None: every article), whether its rows are exactly
    the matches (no confirmation needed), and the FTS5 expression for relevance."""

    where: str | None
    params: tuple[Any, ...] = ()
    exact: bool = False
    scoring: str | None = None


_ALL = Cand("all", exact=True)
_NOTHING = Cand("sql", exact=True, text="0")


def plan_query(root: Node | None, now_ms: int, index: IndexLookup) -> Plan:
    """The plan for a compiled query (``None`` root: the matcher matches nothing)."""
    cand = _NOTHING if root is None else _Translator(now_ms, index).node(root)
    if cand is None or cand.kind == "all":
        return Plan(where=None, exact=cand is not None)
    where, params = _render(cand)
    fts = _fts_leaves(cand)
    scoring = " OR ".join(f"({e})" for e in fts) if fts else None
    return Plan(where=where, params=params, exact=cand.exact, scoring=scoring)


def _and(parts: Sequence[Cand | None]) -> Cand | None:
    exact = all(p is not None and p.exact for p in parts)
    known = [p for p in parts if p is not None and p.kind != "all"]
    if not known:
        return _ALL if exact and parts else None
    return _merge("and", known, exact)


def _or(parts: Sequence[Cand | None]) -> Cand | None:
    known = [p for p in parts if p is not None]
    if not parts or len(known) < len(parts):
        return None
    if any(p.kind == "all" and p.exact for p in known):
        return _ALL
    return _merge("or", known, all(p.exact for p in known))


def _minus(cand: Cand | None, excluded: Sequence[Cand | None]) -> Cand | None:
    """``cand`` without the exact exclusions (a superset exclusion cannot be subtracted)."""
    sure = [Cand("not", True, parts=(e,)) for e in excluded if e is not None and e.exact]
    exact = cand is not None and cand.exact and len(sure) == len(excluded)
    if not sure:
        return cand
    return _merge("and", [*([cand] if cand and cand.kind != "all" else []), *sure], exact)


def _merge(kind: str, parts: list[Cand], exact: bool) -> Cand:
    """Fold the FTS5 members into one MATCH expression; keep the rest as SQL."""
    fts = [p for p in parts if p.kind == "fts"]
    rest = [p for p in parts if p.kind != "fts"]
    if fts:
        joined = f" {kind.upper()} ".join(f"({p.text})" for p in fts)
        text = joined if len(fts) > 1 else fts[0].text
        rest.insert(0, Cand("fts", all(p.exact for p in fts), text))
    if len(rest) == 1:
        return Cand(rest[0].kind, exact, rest[0].text, rest[0].params, rest[0].parts)
    return Cand(kind, exact, parts=tuple(rest))


def _render(cand: Cand) -> tuple[str, tuple[Any, ...]]:
    if cand.kind == "fts":
        return _FTS, (cand.text,)
    if cand.kind == "sql":
        return cand.text, cand.params
    if cand.kind == "all":
        return "1", ()
    rendered = [_render(p) for p in cand.parts]
    if cand.kind == "not":
        return f"NOT ({rendered[0][0]})", rendered[0][1]
    sql = f" {cand.kind.upper()} ".join(f"({s})" for s, _ in rendered)
    return sql, tuple(v for _, params in rendered for v in params)


def _fts_leaves(cand: Cand) -> list[str]:
    if cand.kind == "fts":
        return [cand.text]
    if cand.kind == "not":
        return []
    return [e for p in cand.parts for e in _fts_leaves(p)]


# -- the matcher's nodes -----------------------------------------------------------------------


class _Translator:
    def __init__(self, now_ms: int, index: IndexLookup) -> None:
        self.now_ms = now_ms
        self.index = index

    def node(self, node: Node) -> Cand | None:
        handler = getattr(self, f"_{type(node).__name__}", None)
        return handler(node) if handler is not None else None

    def _BoolNode(self, node: BoolNode) -> Cand | None:  # noqa: N802
        if node.must:
            kept = _and([self.node(n) for n in node.must])
        else:
            kept = _or([self.node(n) for n in node.should])
        return _minus(kept, [self.node(n) for n in node.must_not])

    def _MatchAll(self, node: MatchAll) -> Cand:  # noqa: N802
        return _ALL

    def _MatchNone(self, node: MatchNone) -> Cand:  # noqa: N802
        return _NOTHING

    def _TextTerm(self, node: TextTerm) -> Cand | None:  # noqa: N802
        return _fts(node.field, [node.term], exact=True)

    def _TextPhrase(self, node: TextPhrase) -> Cand | None:  # noqa: N802
        if node.slop == 0:
            return _fts(node.field, node.terms, exact=self.index.text_is_single_valued())
        return _near(node.field, node.terms, node.slop)

    def _TextPattern(self, node: TextPattern) -> Cand | None:  # noqa: N802
        """The indexed terms that pass the node's test (wildcard, regex, fuzzy)."""
        if node.field not in FTS_FIELDS:
            return None
        terms = self.index.fts_terms(node.field, node.prefix)
        passing = [t for t in terms if node.test(t)]
        if not passing:
            return _NOTHING
        if node.prefix and len(passing) == len(terms):
            return _prefix(node.field, node.prefix, exact=True)
        if len(passing) <= MAX_TERMS:
            return _or([_fts(node.field, [t], exact=True) for t in passing])
        return _prefix(node.field, node.prefix, exact=False) if node.prefix else None

    def _KeywordTerm(self, node: KeywordTerm) -> Cand | None:  # noqa: N802
        if not _same_normalization(node.field, node.normalized):
            return None
        return Cand("sql", True, _TERM, (node.field, node.value))

    def _KeywordPattern(self, node: KeywordPattern) -> Cand | None:  # noqa: N802
        if not _same_normalization(node.field, node.normalized):
            return None
        passing = [v for v in self.index.keyword_values(node.field) if node.test(v)]
        if not passing:
            return _NOTHING
        return Cand("sql", True, _TERMS, (node.field, json.dumps(passing)))

    def _DateRange(self, node: DateRange) -> Cand | None:  # noqa: N802
        if node.field not in DATE_FIELDS:
            return None
        low, high = node.bounds(self.now_ms)
        kept = [(c, v) for c, v in (("millis >= ?", low), ("millis <= ?", high)) if v is not None]
        bounds = "".join(f" AND {c}" for c, _ in kept)
        params = (node.field, *(v for _, v in kept))
        return Cand("sql", True, _DATES.format(bounds=bounds), params)

    def _Exists(self, node: Exists) -> Cand | None:  # noqa: N802
        known = {**{f: "keyword" for f in KEYWORD_FIELDS}, **{f: "text" for f in FTS_FIELDS}}
        if known.get(node.field) == ("text" if node.kind == "text" else "keyword"):
            return Cand("sql", True, _ANY_TERM, (node.field,))
        if node.field in DATE_FIELDS and node.kind == "date":
            return Cand("sql", True, _DATES.format(bounds=""), (node.field,))
        return None


def _same_normalization(field: str, normalized: bool) -> bool:
    return field in KEYWORD_FIELDS and normalized == (FIELDS[field] == "keyword")


def _fts(field: str, tokens: Sequence[str], *, exact: bool) -> Cand | None:
    """An FTS5 phrase of analyzer tokens in one column; None if FTS5 would split one."""
    if field not in FTS_FIELDS or not tokens or not all(map(_one_fts_token, tokens)):
        return None
    quoted = " ".join(t.replace('"', '""') for t in tokens)
    return Cand("fts", exact, f'{{{field}}} : "{quoted}"')


def _near(field: str, tokens: Sequence[str], slop: int) -> Cand | None:
    """A sloppy phrase's terms span at most slop + n - 1 positions: FTS5 NEAR, a superset."""
    parts = [_fts(field, [t], exact=False) for t in tokens]
    if any(p is None for p in parts):
        return None
    quoted = " ".join('"' + t.replace('"', '""') + '"' for t in tokens)
    return Cand("fts", False, f"{{{field}}} : NEAR({quoted}, {slop + len(tokens)})")


def _prefix(field: str, prefix: str, *, exact: bool) -> Cand | None:
    phrase = _fts(field, [prefix], exact=exact)
    return Cand("fts", exact, phrase.text + " *") if phrase is not None else None


def _one_fts_token(token: str) -> bool:
    """The ascii tokenizer splits only at ASCII spaces and control characters."""
    return bool(token) and not any(ord(c) <= 32 or ord(c) == 127 for c in token)
