"""The query strings the pages send, built and checked here (pure).

Every query a page runs goes through the one parser (:func:`newsmon.query.compile_query`) and
then to the store's ``search``/``aggregate``, which parse it again: no page builds SQL or an
Elasticsearch body. What a person types is checked first, so that a mistake is shown where it
is (the parser's message and column) and never reaches a store; what a page adds (a facet
value, an actor's or a story's id, a date range) is quoted as a Lucene phrase and ANDed on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from newsmon.aggregations import Period, next_period
from newsmon.query import QueryError, compile_query
from newsmon.query.compose import MATCH_ALL, lucene_date, parse_since, quote

#: Longer queries are refused with a message (Kibana users paste long OR lists; 4,000
#: characters hold a few hundred names, and keep parsing well under a millisecond per clause).
MAX_QUERY_CHARS = 4000
SINCE_CHOICES = ("", "24h", "7d", "30d", "365d")


@dataclass(frozen=True)
class Problem:
    """A query that cannot run: the parser's message and where (0-based column, if known)."""

    message: str
    query: str
    column: int | None = None

    @property
    def caret(self) -> str:
        """Spaces then ``^`` under the column (tabs kept, so the caret lines up)."""
        if self.column is None:
            return ""
        shown = self.query[: self.column]
        return "".join(c if c == "\t" else " " for c in shown) + "^"


def check(query: str) -> Problem | None:
    """None if ``query`` (as typed) can run; else what is wrong with it."""
    if len(query) > MAX_QUERY_CHARS:
        return Problem(
            f"the query is {len(query):,} characters long; at most {MAX_QUERY_CHARS:,} are "
            "accepted (search for fewer terms at once)",
            query[:200] + "…",
        )
    if not query.strip():
        return None  # an empty box means every article
    try:
        compile_query(query)
    except QueryError as exc:
        message = str(exc)
        if exc.position is not None:
            message = message.removesuffix(f" (at position {exc.position})")
        return Problem(message, query, exc.position)
    return None


def effective(query: str) -> str:
    """What an empty box means: every article."""
    return query.strip() or MATCH_ALL


def is_everything(query: str) -> bool:
    return query.strip() in ("", "*", MATCH_ALL)


def refine(query: str, clause: str) -> str:
    """``query`` AND ``clause`` (the clause alone when the query selects everything)."""
    if is_everything(query):
        return clause
    return f"({query.strip()}) AND {clause}"


def field_is(field: str, value: str) -> str:
    """``field:"value"``, the value quoted exactly (keyword fields compare whole values)."""
    return f"{field}:{quote(value)}"


def period_range(start: datetime, period: Period) -> str:
    """``published`` within one histogram bucket: ``[start TO next}``."""
    end = next_period(start, period)
    return f"published:[{lucene_date(start)} TO {lucene_date(end)}}}"


def since_clause(since: str, now: datetime) -> str | None:
    """``published:[... TO *]`` for a window such as ``7d`` (absolute, as ``--since``)."""
    if not since:
        return None
    when = parse_since(since, now.astimezone(UTC))
    return f"published:[{lucene_date(when)} TO *]"


def with_since(query: str, since: str, now: datetime) -> str:
    clause = since_clause(since, now)
    return effective(query) if clause is None else refine(query, clause)
