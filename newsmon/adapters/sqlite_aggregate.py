"""The SQLite store's aggregations: :mod:`newsmon.aggregations` in SQL over the derived tables.

The matching articles are a *selection*: every article (match-all), or their ``seq`` numbers put
once per call into a connection's ``TEMP`` table (from the search plan's own SQL when it is
exact, else from the matches the matcher confirmed), so no document is decoded to count and the
query runs once however many figures a page asks for. Facets group ``article_terms`` rows (one
per distinct value of an article: a count of rows is a count of articles); the histogram and
stories read ``article_facts``, one small row per article (its ``published`` in epoch
milliseconds and its ``story_id``), kept beside the other derived rows and filled from them
for a store written before it existed. Titles and sources are read from the documents of the
stories shown only. Ties are broken as Elasticsearch breaks them: SQLite's default ``BINARY``
collation compares UTF-8 bytes, as Lucene does.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from newsmon.aggregations import (
    DAY_MS,
    FACET_FIELDS,
    HOUR_MS,
    STORY_SOURCES,
    Aggregations,
    Interval,
    StoryOrder,
    StorySummary,
    bucket_start,
    check_request,
    from_millis,
    ordered,
    title_of,
)

Read = Callable[[str, Sequence[Any], str], list[Any]]

FACTS_VERSION = "1"
FACTS_TABLE = (
    "CREATE TABLE IF NOT EXISTS article_facts ("
    " seq INTEGER PRIMARY KEY, published INTEGER, story TEXT)"
)
FACTS_INSERT = "INSERT OR REPLACE INTO article_facts (seq, published, story) VALUES (?, ?, ?)"
_FACTS_FILL = """
INSERT OR REPLACE INTO article_facts (seq, published, story)
SELECT a.seq, d.millis, s.value FROM articles a
LEFT JOIN (SELECT seq, min(millis) AS millis FROM article_dates
           WHERE field = 'published' GROUP BY seq) d ON d.seq = a.seq
LEFT JOIN (SELECT seq, min(value) AS value FROM article_terms
           WHERE field = 'story_id' GROUP BY seq) s ON s.seq = a.seq
"""


def facts_of(derived: Any) -> tuple[int | None, str | None]:
    """An article's (published, story) from its derived rows (the earliest / smallest if a
    document carries several; the schema gives each article one)."""
    published = [ms for f, ms in derived.dates if f == "published"]
    stories = [v for f, v in derived.keywords if f == "story_id"]
    return min(published, default=None), min(stories, default=None)


def facts_ready(conn: sqlite3.Connection) -> bool:
    row = conn.execute("SELECT value FROM meta WHERE key = 'facts'").fetchone()
    return row is not None and row[0] == FACTS_VERSION


def fill_facts(conn: sqlite3.Connection) -> None:
    """Inside the schema transaction: fill ``article_facts`` once from the index tables."""
    if facts_ready(conn):
        return
    conn.execute("DELETE FROM article_facts")
    conn.execute(_FACTS_FILL)
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('facts', ?)", (FACTS_VERSION,))


@dataclass(frozen=True)
class Selection:
    """The matching articles as a condition on a ``seq`` column, and how many there are."""

    where: str
    total: int

    def on(self, column: str) -> str:
        """The condition on another table's ``column`` (for joins, where ``seq`` is ambiguous)."""
        return "1" if self.where == "1" else f"{column} IN (SELECT seq FROM temp.matched)"


@contextmanager
def select(
    conn: sqlite3.Connection, where: str | None, params: Sequence[Any], seqs: Sequence[int] | None
) -> Iterator[Selection]:
    """The selection of a plan: everything (``where`` None, nothing confirmed), else the
    ``seq`` numbers of ``where`` (an exact plan) or ``seqs`` (confirmed matches) in the
    connection's ``temp.matched``, emptied again afterwards. A TEMP table is the connection's
    own: no lock on the store, no other thread sees it."""
    if seqs is None and where is None:
        total = conn.execute("SELECT count(*) FROM article_facts").fetchone()[0]
        yield Selection("1", int(total))
        return
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS matched (seq INTEGER PRIMARY KEY)")
    conn.execute("DELETE FROM temp.matched")
    try:
        if seqs is None:
            conn.execute(  # article_facts: every seq in small rows (articles: the documents)
                f"INSERT INTO temp.matched SELECT seq FROM article_facts WHERE {where}",
                tuple(params),
            )
        else:
            conn.execute(
                "INSERT INTO temp.matched SELECT value FROM json_each(?)", (json.dumps(list(seqs)),)
            )
        total = int(conn.execute("SELECT count(*) FROM temp.matched").fetchone()[0])
        yield Selection("seq IN (SELECT seq FROM temp.matched)", total)
    finally:
        conn.execute("DELETE FROM temp.matched")


def aggregate(
    read: Read,
    sel: Selection,
    *,
    terms: Mapping[str, int] | None,
    histogram: Interval | None,
    stories: int,
    story_order: StoryOrder,
) -> Aggregations:
    check_request(terms, histogram)
    return Aggregations(
        total=sel.total,
        terms={name: facet(read, sel, name, size) for name, size in (terms or {}).items()},
        histogram=date_histogram(read, sel, histogram) if histogram else [],
        stories=top_stories(read, sel, stories, story_order) if stories > 0 else [],
    )


def facet(read: Read, sel: Selection, name: str, size: int) -> list[tuple[str, int]]:
    if sel.total == 0:
        return []
    rows = read(
        f"SELECT value, count(*) AS n FROM article_terms WHERE field = ? AND {sel.where}"
        " GROUP BY value ORDER BY n DESC, value LIMIT ?",
        (FACET_FIELDS[name], size),
        "aggregate",
    )
    return [(str(v), int(n)) for v, n in rows]


def date_histogram(read: Read, sel: Selection, interval: Interval) -> list[tuple[datetime, int]]:
    if sel.total == 0:
        return []
    size = HOUR_MS if interval == "hour" else DAY_MS
    rows = read(
        "SELECT published - ((published % ?) + ?) % ? AS bucket, count(*)"
        f" FROM article_facts WHERE published IS NOT NULL AND {sel.on('seq')}"
        " GROUP BY bucket ORDER BY bucket",
        (size, size, size),
        "aggregate",
    )
    return [(from_millis(int(b)), int(n)) for b, n in rows]


_ORDER = {
    "size": "n DESC, story",
    "recent": "last IS NULL, last DESC, story",
}


def top_stories(read: Read, sel: Selection, n: int, order: StoryOrder) -> list[StorySummary]:
    if sel.total == 0:
        return []
    rows = read(
        "SELECT story, count(*) AS n, min(published), max(published) AS last"
        f" FROM article_facts WHERE story IS NOT NULL AND {sel.on('seq')}"
        f" GROUP BY story ORDER BY {_ORDER[order]} LIMIT ?",
        (n,),
        "aggregate",
    )
    details = _story_docs(read, sel, [str(r[0]) for r in rows]) if rows else {}
    return [
        _summary(str(story), int(count), first, last, details.get(str(story), []))
        for story, count, first, last in rows
    ]


def _story_docs(read: Read, sel: Selection, stories: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Per story shown: published, id, title and source of its matching articles (only those
    fields of the documents are read)."""
    rows = read(
        "SELECT t.value, f.published, json_extract(a.doc, '$.article_id'),"
        " json_extract(a.doc, '$.title'), json_extract(a.doc, '$.source')"
        " FROM article_terms t JOIN article_facts f ON f.seq = t.seq"
        " JOIN articles a ON a.seq = t.seq"
        " WHERE t.field = 'story_id' AND t.value IN (SELECT value FROM json_each(?))"
        f" AND {sel.on('+t.seq')}",  # '+': look stories up by value, then test the seq
        (json.dumps(stories),),
        "aggregate",
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for story, published, article_id, title, source in rows:
        out.setdefault(str(story), []).append(
            {
                "published": published,
                "article_id": article_id,
                "title": _json_value(title),
                "source": _json_value(source),
            }
        )
    return out


def _json_value(value: Any) -> Any:
    """``json_extract`` returns a list or object as JSON text."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _summary(
    story: str, count: int, first: int | None, last: int | None, docs: list[dict[str, Any]]
) -> StorySummary:
    def earliest(doc: Mapping[str, Any]) -> tuple[bool, int, str]:
        return doc["published"] is None, doc["published"] or 0, str(doc["article_id"] or "")

    sources: Counter[str] = Counter()
    days: Counter[int] = Counter()
    for doc in docs:
        values = doc["source"] if isinstance(doc["source"], list) else [doc["source"]]
        sources.update({str(v) for v in values if v is not None})
        if doc["published"] is not None:
            days[bucket_start(int(doc["published"]), "day")] += 1
    return StorySummary(
        story_id=story,
        articles=count,
        first=from_millis(int(first)) if first is not None else None,
        last=from_millis(int(last)) if last is not None else None,
        title=title_of(min(docs, key=earliest)) if docs else "",
        sources=tuple(ordered(sources, STORY_SOURCES)),
        per_day=tuple((from_millis(d).date(), k) for d, k in sorted(days.items())),
    )
