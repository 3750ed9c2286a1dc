"""Syntax tree → matcher nodes, following Elasticsearch ``query_string`` field by field.

Boolean structure is Lucene's ``addClause`` with default operator OR; a clause that analyzes to
nothing is dropped (after its AND has made the previous clause required); a clause list with
only prohibited clauses matches all documents but those (Elasticsearch's
``fixNegativeQueryIfNeeded``, applied at every level).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from newsmon.query.analysis import analyze, lowercase
from newsmon.query.dates import date_bound
from newsmon.query.errors import QueryError
from newsmon.query.nodes import (
    BoolNode,
    BoolTerm,
    DateRange,
    Exists,
    KeywordPattern,
    KeywordTerm,
    MatchAll,
    MatchNone,
    Node,
    NumberRange,
    TextPattern,
    TextPhrase,
    TextTerm,
)
from newsmon.query.patterns import (
    TermTest,
    fuzzy_edits,
    regex_test,
    wildcard_test,
    within_edits,
)
from newsmon.query.syntax import (
    Conj,
    Fuzzy,
    Group,
    Leaf,
    Mod,
    Phrase,
    Prefix,
    Range,
    Regexp,
    Term,
    Wildcard,
)

MUST, SHOULD, MUST_NOT = "must", "should", "must_not"
_STRINGS = ("text", "keyword", "exact")


@dataclass(frozen=True)
class Schema:
    fields: Mapping[str, str]
    default_fields: tuple[str, ...]
    strict: bool


def any_of(nodes: Iterable[Node | None]) -> Node | None:
    """One node for a query over several fields (Elasticsearch's dis_max): any may match."""
    kept = [n for n in nodes if n is not None]
    if len(kept) <= 1:
        return kept[0] if kept else None
    return BoolNode((), kept, ())


def add_clause(clauses: list[tuple[str, Node]], conj: Conj, mod: Mod, node: Node | None) -> None:
    """Lucene ``QueryParserBase.addClause`` for default operator OR."""
    if clauses and conj == Conj.AND and clauses[-1][0] != MUST_NOT:
        clauses[-1] = (MUST, clauses[-1][1])
    if node is None:
        return
    if mod == Mod.NOT:
        clauses.append((MUST_NOT, node))
    elif mod == Mod.REQ or conj == Conj.AND:
        clauses.append((MUST, node))
    else:
        clauses.append((SHOULD, node))


def boolean(clauses: list[tuple[str, Node]]) -> Node | None:
    if not clauses:
        return None
    if len(clauses) == 1 and clauses[0][0] != MUST_NOT:
        return clauses[0][1]
    must = [n for occur, n in clauses if occur == MUST]
    should = [n for occur, n in clauses if occur == SHOULD]
    must_not = [n for occur, n in clauses if occur == MUST_NOT]
    positive = [n for occur, n in clauses if occur != MUST_NOT]
    if not must and not should:
        must = [MatchAll()]
    return BoolNode(must, should, must_not, positive)


class Compiler:
    def __init__(self, schema: Schema) -> None:
        self.schema = schema

    def compile(self, node: Group | Leaf) -> Node | None:
        if isinstance(node, Group):
            clauses: list[tuple[str, Node]] = []
            for clause in node.clauses:
                add_clause(clauses, clause.conj, clause.mod, self.compile(clause.node))
            return boolean(clauses)
        return self.leaf(node)

    def leaf(self, leaf: Leaf) -> Node | None:
        if leaf.field == "_exists_":
            return self.exists(leaf)
        if leaf.field == "*":
            if isinstance(leaf, Wildcard) and leaf.text == "*":
                return MatchAll()
            raise QueryError("field '*' is only supported in '*:*'", leaf.field_pos)
        targets = self.targets(leaf.field, leaf.field_pos)
        if targets is None:
            return MatchNone()
        if isinstance(leaf, Wildcard) and leaf.text == "*":
            return any_of(Exists(f, self.schema.fields[f]) for f in targets)
        label = "" if leaf.field is None else f"{leaf.field}:"
        return any_of(self.single(leaf, f, self.schema.fields[f], label) for f in targets)

    def targets(self, field: str | None, pos: int) -> list[str] | None:
        if field is None:
            return list(self.schema.default_fields)
        if field in self.schema.fields:
            return [field]
        if self.schema.strict:
            known = ", ".join(sorted(self.schema.fields))
            raise QueryError(f"unknown field {field!r}; known fields: {known}", pos)
        return None

    def exists(self, leaf: Leaf) -> Node | None:
        name = leaf.text
        if not isinstance(leaf, Term | Phrase):
            if self.schema.strict:
                raise QueryError("_exists_ takes a field name, e.g. _exists_:story_id", leaf.pos)
            return MatchNone()
        fields = self.schema.fields
        names = [name] if name in fields else [f for f in fields if f.startswith(name + ".")]
        if not names:
            self.targets(name, leaf.pos)  # raises when strict
            return MatchNone()
        return any_of(Exists(f, fields[f]) for f in names)

    def single(self, leaf: Leaf, field: str, kind: str, label: str) -> Node | None:
        if isinstance(leaf, Term):
            return self.term(leaf, field, kind, label)
        if isinstance(leaf, Phrase):
            return self.phrase(leaf, field, kind, label)
        if isinstance(leaf, Range):
            return self.range(
                leaf, field, kind, label, leaf.low, leaf.high, leaf.include_low, leaf.include_high
            )
        if kind not in _STRINGS:
            what = type(leaf).__name__.lower()
            raise QueryError(f"{what} queries do not work on {kind} field {field!r}", leaf.pos)
        if isinstance(leaf, Prefix):
            return self.prefix(leaf.text, field, kind, label)
        if isinstance(leaf, Wildcard):
            return self.wildcard(leaf.text, field, kind, label)
        if isinstance(leaf, Regexp):
            source = leaf.text if kind != "keyword" else lowercase(leaf.text)
            return self.pattern(field, kind, "", regex_test(source, leaf.pos), label)
        assert isinstance(leaf, Fuzzy)
        return self.fuzzy(leaf, field, kind, label)

    def term(self, leaf: Term, field: str, kind: str, label: str) -> Node | None:
        text = leaf.text
        if leaf.field is not None and len(text) > 1 and text[0] in "<>":
            bound, inclusive = (
                (text[2:], True) if len(text) > 2 and text[1] == "=" else (text[1:], False)
            )
            if text[0] == ">":
                return self.range(leaf, field, kind, label, bound, None, inclusive, True)
            return self.range(leaf, field, kind, label, None, bound, True, inclusive)
        return self.value(leaf, field, kind, label, phrase_slop=None)

    def phrase(self, leaf: Phrase, field: str, kind: str, label: str) -> Node | None:
        return self.value(leaf, field, kind, label, phrase_slop=leaf.slop)

    def value(
        self, leaf: Leaf, field: str, kind: str, label: str, phrase_slop: int | None
    ) -> Node | None:
        """A word or phrase: analyzed for text, normalized for keywords, parsed otherwise."""
        text = leaf.text
        if kind == "text":
            tokens = analyze(text)
            if len(tokens) <= 1:
                return TextTerm(field, tokens[0], label) if tokens else None
            if phrase_slop is not None:
                return TextPhrase(field, tokens, phrase_slop, label)
            return BoolNode((), [TextTerm(field, t, label) for t in tokens], ())
        if kind in ("keyword", "exact"):
            return KeywordTerm(
                field, lowercase(text) if kind == "keyword" else text, kind == "keyword", label
            )
        if kind == "date":
            return DateRange(
                field,
                date_bound(text, round_up=False, pos=leaf.pos),
                date_bound(text, round_up=True, pos=leaf.pos),
                True,
                True,
                label,
            )
        if kind == "number":
            number = _number(text, leaf.pos)
            return NumberRange(field, number, number, True, True, label)
        return BoolTerm(field, _boolean(text, leaf.pos), label)

    def range(
        self,
        leaf: Leaf,
        field: str,
        kind: str,
        label: str,
        low: str | None,
        high: str | None,
        include_low: bool,
        include_high: bool,
    ) -> Node:
        pos = leaf.pos
        if kind == "date":
            lo = None if low is None else date_bound(low, round_up=not include_low, pos=pos)
            hi = None if high is None else date_bound(high, round_up=include_high, pos=pos)
            return DateRange(field, lo, hi, include_low, include_high, label)
        if kind == "number":
            lo_n = None if low is None else _number(low, pos)
            hi_n = None if high is None else _number(high, pos)
            return NumberRange(field, lo_n, hi_n, include_low, include_high, label)
        if kind == "boolean":
            raise QueryError(f"range queries do not work on boolean field {field!r}", pos)
        norm = _normalizer(kind)
        lo_s = None if low is None else norm(low)
        hi_s = None if high is None else norm(high)

        def test(t: str) -> bool:
            above = lo_s is None or t > lo_s or (include_low and t == lo_s)
            return above and (hi_s is None or t < hi_s or (include_high and t == hi_s))

        return self.pattern(field, kind, "", test, label)

    def prefix(self, text: str, field: str, kind: str, label: str) -> Node | None:
        if kind != "text":
            start = _normalizer(kind)(text)
            return self.pattern(field, kind, start, lambda t: t.startswith(start), label)
        tokens = analyze(text)  # analyze_wildcard: the last token becomes the prefix
        if not tokens:
            return None
        last = tokens[-1]
        nodes: list[Node] = [TextTerm(field, t, label) for t in tokens[:-1]]
        nodes.append(self.pattern(field, kind, last, lambda t: t.startswith(last), label))
        return nodes[0] if len(nodes) == 1 else BoolNode((), nodes, ())

    def wildcard(self, text: str, field: str, kind: str, label: str) -> Node:
        test, start = wildcard_test(text, _normalizer(kind))
        return self.pattern(field, kind, start, test, label)

    def fuzzy(self, leaf: Fuzzy, field: str, kind: str, label: str) -> Node:
        edits = fuzzy_edits(leaf.fuzziness, leaf.text, leaf.pos)
        term = _normalizer(kind)(leaf.text)
        if edits == 0:
            if kind == "text":
                return TextTerm(field, term, label)
            return KeywordTerm(field, term, kind == "keyword", label)

        chars = frozenset(term)

        def test(t: str) -> bool:
            # each edit removes at most one distinct character: a cheap filter first
            return len(chars.difference(t)) <= edits and within_edits(term, t, edits)

        if kind == "text":
            return TextPattern(field, "", test, label, near=(len(term), edits))
        return self.pattern(field, kind, "", test, label)

    @staticmethod
    def pattern(field: str, kind: str, prefix: str, test: TermTest, label: str) -> Node:
        if kind == "text":
            return TextPattern(field, prefix, test, label)
        return KeywordPattern(field, kind == "keyword", test, label)


def _normalizer(kind: str) -> Callable[[str], str]:
    return (lambda s: s) if kind == "exact" else lowercase


def _number(text: str, pos: int) -> float:
    try:
        return float(text)
    except ValueError:
        raise QueryError(f"{text!r} is not a number", pos) from None


def _boolean(text: str, pos: int) -> bool:
    if text in ("true", "false"):
        return text == "true"
    raise QueryError(f"{text!r} is not a boolean (true or false)", pos)
