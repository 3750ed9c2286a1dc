"""Lexer and parser for Lucene's classic query syntax, as Elasticsearch ``query_string`` reads it.

This is a transcription of Lucene's ``QueryParser.jj`` (tokens, lexical states, grammar), so
that the same strings parse — or fail — the same way: ``&&`` ``||`` ``!``, bare operators
(``a - b``), escapes, ``field:(...)``, ranges, boosts and slops. The result is a small syntax
tree that keeps each clause's conjunction and modifier exactly as written: the boolean meaning
(Lucene's ``addClause`` rules) is applied later, because it depends on which clauses analyze
to nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum

from newsmon.query.errors import QueryError

_WS = " \t\n\r\u3000"
_TS = r"(?:[^ \t\n\r\u3000+\-!():^\[\]\"{}~*?\\/]|\\[\s\S])"  # term start char
_TC = r"(?:[^ \t\n\r\u3000!():^\[\]\"{}~*?\\/]|\\[\s\S])"  # term char (adds - and +)

# (kind, regex) in declaration order: ties on length go to the earlier one, as in JavaCC.
_DEFAULT_TOKENS = [
    ("SKIP", "[ \t\n\r\u3000]"),
    ("AND", r"AND|&&"),
    ("OR", r"OR|\|\|"),
    ("NOT", r"NOT|!"),
    ("PLUS", r"\+"),
    ("MINUS", r"-"),
    ("BAREOPER", "[+\\-!][ \t\n\r\u3000]"),
    ("LPAREN", r"\("),
    ("RPAREN", r"\)"),
    ("COLON", r":"),
    ("STAR", r"\*"),
    ("CARAT", r"\^"),
    ("QUOTED", r'"(?:[^"\\]|\\[\s\S])*"'),
    ("TERM", f"{_TS}{_TC}*"),
    ("FUZZY_SLOP", f"~{_TC}*"),
    ("PREFIXTERM", rf"\*|{_TS}{_TC}*\*"),
    ("WILDTERM", rf"(?:{_TS}|[*?])(?:{_TC}|[*?])*"),
    ("REGEXPTERM", r"/(?:\\/|[^/])*/"),
    ("RANGEIN_START", r"\["),
    ("RANGEEX_START", r"\{"),
]
_RANGE_TOKENS = [
    ("SKIP", "[ \t\n\r\u3000]"),
    ("RANGE_TO", "TO"),
    ("RANGEIN_END", r"\]"),
    ("RANGEEX_END", r"\}"),
    ("RANGE_QUOTED", r'"(?:\\"|[^"])+"'),
    ("RANGE_GOOP", r"[^ \]}]+"),
]
_BOOST_TOKENS = [("NUMBER", r"[0-9]+(?:\.[0-9]+)?")]
_STATES = {
    name: [(kind, re.compile(rx)) for kind, rx in table]
    for name, table in (
        ("DEFAULT", _DEFAULT_TOKENS),
        ("Range", _RANGE_TOKENS),
        ("Boost", _BOOST_TOKENS),
    )
}
_NEXT_STATE = {
    "CARAT": "Boost",
    "RANGEIN_START": "Range",
    "RANGEEX_START": "Range",
    "NUMBER": "DEFAULT",
    "RANGEIN_END": "DEFAULT",
    "RANGEEX_END": "DEFAULT",
}


@dataclass(frozen=True)
class Token:
    kind: str
    image: str
    pos: int


def tokenize(query: str) -> list[Token]:
    """Lucene's lexer: longest match, earliest declaration on ties, three lexical states."""
    tokens: list[Token] = []
    state, pos = "DEFAULT", 0
    while pos < len(query):
        best: tuple[str, str] | None = None
        for kind, rx in _STATES[state]:
            m = rx.match(query, pos)
            if m and m.end() > pos and (best is None or len(m.group()) > len(best[1])):
                best = (kind, m.group())
        if best is None:
            key = "^" if state == "Boost" else query[pos]
            raise QueryError(_LEX_ERRORS.get(key, f"unexpected character {query[pos]!r}"), pos)
        kind, image = best
        if kind != "SKIP":
            tokens.append(Token(kind, image, pos))
        state = _NEXT_STATE.get(kind, state)
        pos += len(image)
    tokens.append(Token("EOF", "", len(query)))
    return tokens


class Conj(IntEnum):
    NONE = 0
    AND = 1
    OR = 2


class Mod(IntEnum):
    NONE = 0
    REQ = 1
    NOT = 2


@dataclass(frozen=True)
class Leaf:
    """A term-level query. ``field`` None means the default fields."""

    field: str | None
    text: str
    pos: int
    field_pos: int = -1  # where the field name was written (-1: default fields)


@dataclass(frozen=True)
class Term(Leaf):
    """A bare word (escapes removed); analyzed by the field."""


@dataclass(frozen=True)
class Prefix(Leaf):
    """``word*``: ``text`` is the part before ``*`` (escapes removed)."""


@dataclass(frozen=True)
class Wildcard(Leaf):
    """A word with ``*`` / ``?``; ``text`` keeps its escapes (the pattern handles them)."""


@dataclass(frozen=True)
class Regexp(Leaf):
    """``/.../``: ``text`` is the regular expression between the slashes."""


@dataclass(frozen=True)
class Fuzzy(Leaf):
    """``word~`` or ``word~N``: ``fuzziness`` is what follows ``~`` ('' when nothing)."""

    fuzziness: str = ""


@dataclass(frozen=True)
class Phrase(Leaf):
    """``"..."`` with its slop (``~N``, 0 by default)."""

    slop: int = 0


@dataclass(frozen=True)
class Range(Leaf):
    """``[a TO b]``, ``{a TO b}`` or mixed; None is an open end (``*``)."""

    low: str | None = None
    high: str | None = None
    include_low: bool = True
    include_high: bool = True


@dataclass(frozen=True)
class Clause:
    conj: Conj
    mod: Mod
    node: Group | Leaf


@dataclass(frozen=True)
class Group:
    """A parenthesized (or top-level) clause list, in source order."""

    clauses: tuple[Clause, ...]


_CLAUSE_START = {
    "TERM",
    "STAR",
    "PREFIXTERM",
    "WILDTERM",
    "REGEXPTERM",
    "BAREOPER",
    "QUOTED",
    "RANGEIN_START",
    "RANGEEX_START",
    "LPAREN",
}
_CONTINUE = _CLAUSE_START | {"AND", "OR", "PLUS", "MINUS", "NOT"}
_NOT_AFTER_MULTI_TERM = {"COLON", "STAR", "FUZZY_SLOP", "CARAT", "AND", "OR"}
_LEX_ERRORS = {
    '"': "unterminated phrase (missing closing '\"')",
    "/": "unterminated regular expression (escape a literal '/' as '\\/')",
    "\\": "a query can not end with an escape character",
    "^": "'^' must be followed by a number",
}
_DESCRIBE = {
    "EOF": "end of query",
    "RPAREN": "')'",
    "CARAT": "'^'",
    "COLON": "':' (escape a literal ':' as '\\:' or quote the value)",
    "FUZZY_SLOP": "'~'",
    "AND": "AND",
    "OR": "OR",
    "NOT": "NOT",
}


def discard_escapes(text: str, pos: int = 0) -> str:
    """Lucene's ``discardEscapeChar``: ``\\x`` → ``x``, ``\\uXXXX`` → the character."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= len(text):
            raise QueryError("term can not end with an escape character", pos + i)
        if text[i + 1] == "u":
            digits = text[i + 2 : i + 6]
            if len(digits) < 4 or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise QueryError("bad unicode escape sequence", pos + i)
            out.append(chr(int(digits, 16)))
            i += 6
        else:
            out.append(text[i + 1])
            i += 2
    return "".join(out)


_Field = tuple[str, int] | None  # (name, position) of the field a clause is under


class _Parser:
    def __init__(self, query: str) -> None:
        self.tokens = tokenize(query)
        self.i = 0

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def take(self, *kinds: str) -> Token:
        tok = self.peek()
        if tok.kind not in kinds:
            found = _DESCRIBE.get(tok.kind, repr(tok.image))
            raise QueryError(f"syntax error: unexpected {found}", tok.pos)
        self.i += 1
        return tok

    def accept(self, kind: str) -> Token | None:
        return self.take(kind) if self.peek().kind == kind else None

    def query(self, field: _Field) -> Group:
        clauses = [
            self.multi_term(field) or Clause(Conj.NONE, self.modifiers(), self.clause(field))
        ]
        while self.peek().kind in _CONTINUE:
            if multi := self.multi_term(field):
                clauses.append(multi)
                continue
            conj = self.conjunction()
            clauses.append(Clause(conj, self.modifiers(), self.clause(field)))
        return Group(tuple(clauses))

    def multi_term(self, field: _Field) -> Clause | None:
        """Lucene's ``MultiTerm`` (split_on_whitespace=false): bare words in a row are analyzed
        as one text, so ``actor:(Vladimir Putin)`` is the keyword ``vladimir putin``. A word
        followed by ``:`` ``*`` ``~`` ``^`` AND OR is not taken into the run."""
        if not (self.peek().kind == "TERM" and self._joins_run(1)):
            return None
        first = self.take("TERM")
        images = [first.image]
        while self._joins_run(0):
            images.append(self.take("TERM").image)
        name, field_pos = field or (None, -1)
        text = discard_escapes(" ".join(images), first.pos)
        return Clause(Conj.NONE, Mod.NONE, Term(name, text, first.pos, field_pos))

    def _joins_run(self, ahead: int) -> bool:
        """Is the token ``ahead`` a word that can join a run of words?"""
        follower = self.peek(ahead + 1).kind
        return self.peek(ahead).kind == "TERM" and follower not in _NOT_AFTER_MULTI_TERM

    def conjunction(self) -> Conj:
        if self.accept("AND"):
            return Conj.AND
        return Conj.OR if self.accept("OR") else Conj.NONE

    def modifiers(self) -> Mod:
        if self.accept("PLUS"):
            return Mod.REQ
        return Mod.NOT if self.accept("MINUS") or self.accept("NOT") else Mod.NONE

    def clause(self, field: _Field) -> Group | Leaf:
        if self.peek().kind in ("TERM", "STAR") and self.peek(1).kind == "COLON":
            tok = self.take("TERM", "STAR")
            name = "*" if tok.kind == "STAR" else discard_escapes(tok.image, tok.pos)
            field = (name, tok.pos)
            self.take("COLON")
        if self.accept("LPAREN"):
            group = self.query(field)
            self.take("RPAREN")
            if self.accept("CARAT"):
                self.take("NUMBER")
            return group
        return self.term(field)

    def term(self, field: _Field) -> Leaf:
        kind = self.peek().kind
        if kind in ("RANGEIN_START", "RANGEEX_START"):
            return self.range(field)
        tok = self.take(
            "TERM", "STAR", "PREFIXTERM", "WILDTERM", "REGEXPTERM", "BAREOPER", "QUOTED"
        )
        slop = self.suffixes()
        name, field_pos = field or (None, -1)
        if tok.kind == "QUOTED":
            text = discard_escapes(tok.image[1:-1], tok.pos + 1)
            return Phrase(name, text, tok.pos, field_pos, slop=_phrase_slop(slop))
        return _bare(name, field_pos, tok, slop)

    def suffixes(self) -> Token | None:
        """``[^N [~slop]] | [~slop [^N]]``; returns the slop token; boosts do not match."""
        slop = None
        if self.accept("CARAT"):
            self.take("NUMBER")
            slop = self.accept("FUZZY_SLOP")
        elif (slop := self.accept("FUZZY_SLOP")) and self.accept("CARAT"):
            self.take("NUMBER")
        return slop

    def range(self, field: _Field) -> Range:
        start = self.take("RANGEIN_START", "RANGEEX_START")
        goop = ("RANGE_GOOP", "RANGE_QUOTED", "RANGE_TO")
        low = self.take(*goop)
        self.take("RANGE_TO")
        high = self.take(*goop)
        end = self.take("RANGEIN_END", "RANGEEX_END")
        if self.accept("CARAT"):
            self.take("NUMBER")
        name, field_pos = field or (None, -1)
        return Range(
            name,
            "",
            start.pos,
            field_pos,
            low=_bound(low),
            high=_bound(high),
            include_low=start.kind == "RANGEIN_START",
            include_high=end.kind == "RANGEIN_END",
        )


def _bound(tok: Token) -> str | None:
    if tok.kind == "RANGE_QUOTED":
        text = discard_escapes(tok.image[1:-1], tok.pos + 1)
    elif tok.image == "*":
        return None
    else:
        text = discard_escapes(tok.image, tok.pos)
    return None if text == "*" else text  # Elasticsearch also opens a quoted "*"


def _phrase_slop(tok: Token | None) -> int:
    try:
        return int(float(tok.image[1:])) if tok else 0
    except (ValueError, OverflowError):
        return 0


def _bare(field: str | None, field_pos: int, tok: Token, slop: Token | None) -> Leaf:
    """Lucene's ``handleBareTokenQuery``: wildcard beats prefix beats regexp beats fuzzy."""
    image, pos = tok.image, tok.pos
    if tok.kind in ("STAR", "WILDTERM"):
        return Wildcard(field, image, pos, field_pos)
    if tok.kind == "PREFIXTERM":
        return Prefix(field, discard_escapes(image[:-1], pos), pos, field_pos)
    if tok.kind == "REGEXPTERM":
        return Regexp(field, image[1:-1], pos, field_pos)
    text = image[0] if tok.kind == "BAREOPER" else discard_escapes(image, pos)
    if slop is not None:
        return Fuzzy(field, text, pos, field_pos, fuzziness=slop.image[1:])
    return Term(field, text, pos, field_pos)


def parse(query: str) -> Group:
    """Parse a query string; raises :class:`QueryError` with the offending position."""
    parser = _Parser(query)
    group = parser.query(None)
    parser.take("EOF")
    return group
