"""Many rules over one article stream: rules indexed by the terms they require.

Each rule's query states (``Matcher.required_terms``) a set of (field, indexed term) of which
every matching article holds at least one — analyzed tokens for text fields, normalized values
for keyword fields. The index maps each such term to the rules needing it; an article is
evaluated only against the rules reachable from its own terms, plus the rules with no such set
(negations only, ranges, leading wildcards...), which are always evaluated. The result is
exactly the full scan's: the index only skips rules that cannot match.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from alert.rules import Rule, match
from newsmon.query import FIELDS, PreparedDoc, prepare


class RuleIndex:
    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = list(rules)
        self._by_term: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        self.always: list[int] = []
        self.never = 0
        for i, rule in enumerate(self.rules):
            cover = rule.matcher.required_terms()
            if cover is None or any(FIELDS.get(f) not in ("text", "keyword", "exact")
                                    for f, _ in cover):
                self.always.append(i)
            elif not cover:
                self.never += 1  # matches nothing (e.g. a query that analyzes to no term)
            else:
                for field, term in cover:
                    self._by_term[field][term].append(i)

    @property
    def indexed(self) -> int:
        return len(self.rules) - len(self.always) - self.never

    def _doc_terms(self, doc: PreparedDoc, field: str) -> Iterator[str]:
        kind = FIELDS[field]
        if kind == "text":
            text = doc.text(field)
            yield from (text.positions if text is not None else ())
        else:
            yield from (v for v, _ in doc.keywords(field, normalized=kind == "keyword"))

    def candidates(self, doc: PreparedDoc) -> list[Rule]:
        """The rules that may match ``doc``, in configuration order."""
        found = set(self.always)
        for field, terms in self._by_term.items():
            for term in self._doc_terms(doc, field):
                hit = terms.get(term)
                if hit:
                    found.update(hit)
        return [self.rules[i] for i in sorted(found)]

    def matches(self, doc: Mapping[str, Any] | PreparedDoc) -> list[tuple[Rule, list[str]]]:
        """(rule, matched terms) for every rule that selects ``doc``."""
        prepared = prepare(doc)
        out: list[tuple[Rule, list[str]]] = []
        for rule in self.candidates(prepared):
            matched = match(rule, prepared)
            if matched is not None:
                out.append((rule, matched))
        return out
