"""Compile a query string once; match documents many times."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from newsmon.query.compiler import Compiler, Schema
from newsmon.query.dates import now_millis
from newsmon.query.document import PreparedDoc, prepare
from newsmon.query.errors import QueryError
from newsmon.query.fields import DEFAULT_FIELDS, FIELDS
from newsmon.query.nodes import Node
from newsmon.query.syntax import parse

Doc = Mapping[str, Any] | PreparedDoc
_JAVA_TRIM = "".join(chr(c) for c in range(33))


class Matcher:
    """A compiled query. ``matches`` and ``explain`` take a raw mapping or a PreparedDoc.

    ``now`` (for date math such as ``now-7d``) is, in order: the ``now`` passed to the call,
    the ``now`` given to :func:`compile_query`, the wall clock at match time. It is only read
    when the query uses ``now``.
    """

    __slots__ = ("query", "_root", "_now")

    def __init__(self, query: str, root: Node | None, now: datetime | None = None) -> None:
        self.query = query
        self._root = root
        self._now = now

    def __repr__(self) -> str:
        return f"Matcher({self.query!r})"

    @property
    def uses_now(self) -> bool:
        return self._root is not None and self._root.uses_now

    def _now_ms(self, now: datetime | None) -> int:
        if not self.uses_now:
            return 0
        return now_millis(now or self._now or datetime.now(UTC))

    def matches(self, doc: Doc, now: datetime | None = None) -> bool:
        if self._root is None:
            return False
        return self._root.match(prepare(doc), self._now_ms(now))

    def explain(self, doc: Doc, now: datetime | None = None) -> list[str] | None:
        """What matched (terms, phrases, ``field:value``), or None when the document does not
        match. Empty for a match without positive terms (``*``, ``-gaza``)."""
        if self._root is None:
            return None
        prepared, now_ms = prepare(doc), self._now_ms(now)
        if not self._root.match(prepared, now_ms):
            return None
        return list(dict.fromkeys(self._root.hits(prepared, now_ms)))

    def required_terms(self) -> frozenset[tuple[str, str]] | None:
        """(field, indexed term) pairs of which every matching document holds at least one —
        analyzed tokens for text fields, normalized values for keywords — or None when the
        query can match without any of them (negations only, ranges, wildcards...)."""
        return frozenset() if self._root is None else self._root.cover()


def compile_query(
    query: str,
    *,
    strict: bool = True,
    now: datetime | None = None,
    fields: Mapping[str, str] | None = None,
    default_fields: tuple[str, ...] | None = None,
) -> Matcher:
    """Compile a Lucene query string (Elasticsearch ``query_string``, default operator OR).

    ``strict`` rejects unknown fields and empty queries (Elasticsearch matches nothing);
    ``fields`` / ``default_fields`` override :data:`FIELDS` / :data:`DEFAULT_FIELDS`.
    Raises :class:`QueryError`.
    """
    schema = Schema(
        fields if fields is not None else FIELDS,
        default_fields if default_fields is not None else DEFAULT_FIELDS,
        strict,
    )
    missing = [f for f in schema.default_fields if f not in schema.fields]
    if missing:
        raise ValueError(f"default fields {missing} are not in fields")
    if not query.strip(_JAVA_TRIM):
        if strict:
            raise QueryError("empty query")
        return Matcher(query, None, now)
    try:
        return Matcher(query, Compiler(schema).compile(parse(query)), now)
    except RecursionError:  # the parser and compiler recurse per parenthesis level
        raise QueryError("query nested too deeply (too many parentheses)") from None
