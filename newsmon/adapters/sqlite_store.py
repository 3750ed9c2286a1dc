"""SQLite adapter of the :class:`~newsmon.store.ArticleStore` port: the embedded default store.

URL forms: ``sqlite:///abs/path.db`` (absolute) and ``sqlite://relative/path.db``.

Tables (one file)::

    articles       seq INTEGER PRIMARY KEY, article_id TEXT UNIQUE, published TEXT, doc JSON
    articles_fts   FTS5, contentless, rowid = seq: title and text as the analyzer's tokens
    article_terms  (field, value, seq): keyword values as the matcher compares them
    article_dates  (field, millis, seq): date fields in epoch milliseconds
    alerts         alert_id TEXT PRIMARY KEY, status, doc JSON: the once-only ledger
    meta           fingerprint of the query package the derived tables were built with

``seq`` is an explicit INTEGER PRIMARY KEY so that VACUUM never renumbers the rowids the FTS
index points at; the UNIQUE ``article_id`` makes writes create-only and the ``alert_id``
primary key makes the ledger once-only, across threads and processes. The derived tables
(:mod:`newsmon.adapters.sqlite_query`) are rebuilt from ``doc`` when the query package
changes.

Search speaks Elasticsearch's Lucene syntax with the results of the stream matcher
(:func:`newsmon.query.compile_query`): the compiled query is translated to SQL over the derived
tables; where that selects exactly the matches (terms, keywords, dates, wildcards, fuzzy,
negations, booleans of those) no document is decoded, else (sloppy phrases, number and boolean
fields) the matcher confirms each candidate. ``now`` is fixed per search.
Sorting: ``published`` (newest first, UTC, ties in insertion order, missing last) or
``relevance`` (FTS5 ``bm25`` over the positive text clauses, then ``published``; scores differ
from Elasticsearch's).

WAL journal with ``synchronous=NORMAL``: a commit survives a killed process; only a power loss
can undo the last transactions, which in the embedded mode loses the in-memory bus as well (a
lost ledger row means an alert sent twice, never one lost). One connection per thread; each
waits up to ``busy_timeout`` for a lock, so ``newsmon run`` (writing) and ``newsmon search``
(reading) share the file, and readers never block the writer. Writes analyse the documents
first, then take the lock (``BEGIN IMMEDIATE``). A lock still held after the timeout and I/O
errors become :class:`~newsmon.errors.TransientError`; a bad query raises
:class:`~newsmon.query.QueryError`.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from newsmon.adapters import sqlite_aggregate
from newsmon.adapters.sqlite_aggregate import (
    FACTS_INSERT,
    FACTS_TABLE,
    facts_of,
    facts_ready,
    fill_facts,
    select,
)
from newsmon.adapters.sqlite_query import (
    FTS_FIELDS,
    FTS_TABLE,
    FTS_VOCAB,
    Derived,
    IndexReader,
    Plan,
    derive,
    index_fingerprint,
    plan_query,
)
from newsmon.adapters.sqlite_signals import SqliteSignals
from newsmon.aggregations import Aggregations, Interval, StoryOrder
from newsmon.errors import ConfigError, TransientError
from newsmon.query import Matcher, compile_query
from newsmon.query.dates import date_millis, now_millis
from newsmon.signals import Versioned
from newsmon.store import (
    STATS_TOP,
    SearchResult,
    Sort,
    Stats,
    WriteResult,
    ledger_matches,
    mark_terms,
    stats_of,
)

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    seq INTEGER PRIMARY KEY,
    article_id TEXT NOT NULL UNIQUE,
    published TEXT,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_published ON articles (published DESC, seq);
CREATE TABLE IF NOT EXISTS article_terms (
    field TEXT NOT NULL, value TEXT NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (field, value, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS article_dates (
    field TEXT NOT NULL, millis INTEGER NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (field, millis, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alerts (
    alert_id TEXT PRIMARY KEY,
    status TEXT,
    doc TEXT NOT NULL
);
"""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TRANSIENT_MARKERS = ("locked", "busy", "disk i/o", "unable to open", "readonly", "full")


def _translate(exc: sqlite3.Error, what: str) -> Exception:
    """Map a sqlite3 error to TransientError when it may go away; otherwise keep it (a bug)."""
    text = str(exc).lower()
    if isinstance(exc, sqlite3.OperationalError) and any(m in text for m in _TRANSIENT_MARKERS):
        return TransientError(f"sqlite {what} failed: {exc}")
    return exc


def _json_default(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def normalize_published(value: Any) -> str | None:
    """UTC ``YYYY-MM-DDTHH:MM:SS.ffffff`` (sortable as text) as the matcher reads the date."""
    millis = date_millis(value)
    if millis is None:
        return None
    return (_EPOCH + timedelta(milliseconds=millis)).strftime("%Y-%m-%dT%H:%M:%S.%f")


class SqliteStore:
    """The embedded article store: one SQLite file, safe for several threads and processes."""

    def __init__(self, path: str | Path, *, busy_timeout: float = 10.0) -> None:
        self.path = Path(path)
        self._timeout = busy_timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._owners: dict[int, threading.Thread] = {}  # id(connection) -> its thread
        self.full_scans = 0  # searches that ran the matcher over every article
        self.confirmed = 0  # documents the matcher had to confirm (plans that are not exact)
        self.last_plan: Plan | None = None
        self._signals = SqliteSignals(self._read, self._write)
        self.ensure_schema()

    @classmethod
    def from_url(cls, url: str) -> SqliteStore:
        if not url.startswith("sqlite://"):
            raise ConfigError(f"not a SQLite URL: {url!r} (sqlite:///abs/path.db)")
        path = url.removeprefix("sqlite://")
        if path in ("", "/"):
            raise ConfigError(f"SQLite URL without a path: {url!r}")
        return cls(path)

    # -- connections ------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
                self._prune_dead_threads(conn)
        return conn

    def _prune_dead_threads(self, conn: sqlite3.Connection) -> None:
        """Close the connections of threads that ended (a server's worker threads come and
        go): without this every new thread would leave an open connection behind."""
        self._owners[id(conn)] = threading.current_thread()
        alive = []
        for kept in self._connections:
            owner = self._owners.get(id(kept))
            if owner is None or owner.is_alive():
                alive.append(kept)
            else:
                del self._owners[id(kept)]
                kept.close()
        self._connections = alive

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None,
                                   check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            raise _translate(exc, "open") from exc
        except OSError as exc:
            raise TransientError(f"sqlite open failed: {exc}") from exc
        return conn

    @contextmanager
    def _write(self, what: str) -> Iterator[sqlite3.Connection]:
        """One write transaction: BEGIN IMMEDIATE ... COMMIT, rolled back on any error."""
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _translate(exc, what) from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise _translate(exc, what) from exc
            raise

    def _read(self, sql: str, params: Sequence[Any] = (), what: str = "read") -> list[Any]:
        try:
            return self._conn().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise _translate(exc, what) from exc

    # -- the port ---------------------------------------------------------------------------

    def ensure_schema(self) -> None:
        """Create the tables; rebuild the derived index if the query package changed since."""
        self._signals.ensure()
        try:  # up to date: a reader (``newsmon search``) takes no write lock
            row = self._conn().execute("SELECT value FROM meta WHERE key = 'index'").fetchone()
            if row is not None and row[0] == index_fingerprint() and facts_ready(self._conn()):
                return
        except sqlite3.OperationalError:
            pass  # a new file: no tables yet
        with self._write("schema setup") as conn:
            for statement in [*filter(str.strip, _SCHEMA.split(";")), FTS_TABLE, FTS_VOCAB,
                              FACTS_TABLE]:
                conn.execute(statement)
            fingerprint = index_fingerprint()
            row = conn.execute("SELECT value FROM meta WHERE key = 'index'").fetchone()
            if row is None or row[0] != fingerprint:
                _reindex(conn)
                conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('index', ?)",
                             (fingerprint,))
            fill_facts(conn)  # a store from before article_facts: filled from the index

    def write_articles(self, docs: Sequence[Mapping[str, Any]]) -> WriteResult:
        result = WriteResult()
        rows = [_row(doc) for doc in docs]  # analysis outside the write lock
        with self._write("write") as conn:
            for row in rows:
                if _insert(conn, row):
                    result.written.append(row.article_id)
                else:
                    result.duplicates.append(row.article_id)
        return result

    def search(
        self,
        query: str,
        *,
        limit: int = 20,
        sort: Sort = "published",
        highlight: bool = False,
        offset: int = 0,
    ) -> SearchResult:
        matcher, now = compile_query(query), datetime.now(UTC)
        plan = self._plan(matcher, now)
        start = max(offset, 0)
        if plan.exact and (sort == "published" or plan.scoring is None):
            total, page = self._page(plan, start, max(limit, 0))  # no list of every match
            hits = self._docs(page, {})
        else:
            seqs, decoded = self._matches(plan, matcher, now)
            if sort == "relevance" and plan.scoring is not None:
                seqs = self._by_relevance(seqs, plan.scoring)
            total, hits = len(seqs), self._docs(seqs[start : start + max(limit, 0)], decoded)
        marks = [mark_terms(d, matcher.explain(d, now=now) or []) for d in hits if highlight]
        return SearchResult(total=total, hits=hits, highlights=marks)

    def _page(self, plan: Plan, offset: int, limit: int) -> tuple[int, list[int]]:
        """An exact plan's count (over ``article_facts``, one small row per article) and one
        page of its seqs, newest first (``LIMIT``/``OFFSET``: no list of every match)."""
        self.last_plan = plan
        where = "" if plan.where is None else f" WHERE {plan.where}"
        total = int(self._read(f"SELECT count(*) FROM article_facts{where}", plan.params,
                               "search")[0][0])
        if limit == 0 or offset >= total:
            return total, []
        everything = int(self._read("SELECT count(*) FROM article_facts", (), "search")[0][0])
        # dense matches: walk the index newest first, testing rows, until the page is full;
        # sparse ones: look the few matches up and sort them
        walk = " INDEXED BY articles_published" if total * 50 >= everything else ""
        rows = self._read(f"SELECT seq FROM articles{walk}{where} ORDER BY published DESC, seq"
                          " LIMIT ? OFFSET ?", (*plan.params, limit, offset), "search")
        return total, [int(r[0]) for r in rows]

    def _matches(
        self, plan: Plan, matcher: Matcher, now: datetime
    ) -> tuple[list[int], dict[int, dict[str, Any]]]:
        """The matching articles' seqs, newest first, and the documents decoded on the way."""
        self.last_plan = plan
        where = "" if plan.where is None else f" WHERE {plan.where}"
        order = " ORDER BY published DESC, seq"
        if plan.exact:  # the SQL selects exactly the matches: no document to decode
            rows = self._read(f"SELECT seq FROM articles{where}{order}", plan.params, "search")
            return [int(r[0]) for r in rows], {}
        if plan.where is None:
            self.full_scans += 1
        decoded: dict[int, dict[str, Any]] = {}
        for seq, body in self._read(f"SELECT seq, doc FROM articles{where}{order}",
                                    plan.params, "search"):
            doc = json.loads(body)
            self.confirmed += 1
            if matcher.matches(doc, now=now):
                decoded[int(seq)] = doc
        return list(decoded), decoded

    def _docs(self, seqs: list[int], decoded: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
        missing = [s for s in seqs if s not in decoded]
        if missing:
            rows = self._read("SELECT seq, doc FROM articles"
                              " WHERE seq IN (SELECT value FROM json_each(?))",
                              (json.dumps(missing),), "search")
            decoded = {**decoded, **{int(q): json.loads(b) for q, b in rows}}
        return [decoded[s] for s in seqs]

    def stats(self, query: str = "*:*", *, top: int = STATS_TOP) -> Stats:
        """Computed in Python over the matching documents (the same code as the memory twin)."""
        return stats_of(self.search(query, limit=2**62).hits, top=top)

    def aggregate(
        self,
        query: str,
        *,
        terms: Mapping[str, int] | None = None,
        histogram: Interval | None = None,
        stories: int = 0,
        story_order: StoryOrder = "recent",
    ) -> Aggregations:
        """In SQL over the derived tables (:mod:`newsmon.adapters.sqlite_aggregate`)."""
        matcher, now = compile_query(query), datetime.now(UTC)
        plan = self._plan(matcher, now)
        seqs = None if plan.exact else self._matches(plan, matcher, now)[0]
        try:
            with select(self._conn(), plan.where, plan.params, seqs) as sel:
                return sqlite_aggregate.aggregate(self._read, sel, terms=terms,
                                                  histogram=histogram, stories=stories,
                                                  story_order=story_order)
        except sqlite3.Error as exc:
            raise _translate(exc, "aggregate") from exc

    def query_plan(self, query: str) -> list[str]:
        """SQLite's plan for the candidate selection of ``query`` (EXPLAIN QUERY PLAN)."""
        plan = self._plan(compile_query(query), datetime.now(UTC))
        where = f" WHERE {plan.where}" if plan.where is not None else ""
        rows = self._read(f"EXPLAIN QUERY PLAN SELECT seq, doc FROM articles{where}"
                          " ORDER BY published DESC, seq", plan.params, "explain")
        return [str(r[-1]) for r in rows]

    def _plan(self, matcher: Matcher, now: datetime) -> Plan:
        root = matcher._root  # the compiled tree the candidates are derived from
        return plan_query(root, now_millis(now), IndexReader(self._read))

    def _by_relevance(self, seqs: list[int], scoring: str) -> list[int]:
        rows = self._read("SELECT rowid, bm25(articles_fts) FROM articles_fts"
                          " WHERE articles_fts MATCH ?", (scoring,), "search")
        score = {int(r): float(s) for r, s in rows}  # bm25: lower is better
        order = {seq: i for i, seq in enumerate(seqs)}  # newest first breaks ties
        return sorted(seqs, key=lambda q: (score.get(q, 0.0), order[q]))

    def get(self, article_id: str) -> dict[str, Any] | None:
        rows = self._read("SELECT doc FROM articles WHERE article_id = ?", (article_id,), "get")
        return json.loads(rows[0][0]) if rows else None

    def count(self, query: str = "*") -> int:
        if query.strip() in ("", "*", "*:*"):
            return int(self._read("SELECT count(*) FROM articles", (), "count")[0][0])
        return self.search(query, limit=0).total

    def record_alert(self, alert_id: str, doc: Mapping[str, Any]) -> bool:
        body = {**doc, "alert_id": alert_id}
        with self._write("alert ledger write") as conn:
            cur = conn.execute(
                "INSERT INTO alerts (alert_id, status, doc) VALUES (?, ?, ?)"
                " ON CONFLICT (alert_id) DO NOTHING",
                (alert_id, str(body.get("status") or ""), json.dumps(body, default=_json_default)),
            )
            return cur.rowcount == 1

    def update_alert(self, alert_id: str, fields: Mapping[str, Any]) -> None:
        with self._write("alert ledger update") as conn:
            row = conn.execute("SELECT doc FROM alerts WHERE alert_id = ?", (alert_id,)).fetchone()
            if row is None:
                raise KeyError(alert_id)
            body = {**json.loads(row[0]), **fields}
            conn.execute("UPDATE alerts SET status = ?, doc = ? WHERE alert_id = ?",
                         (str(body.get("status") or ""), json.dumps(body, default=_json_default),
                          alert_id))

    def get_alert(self, alert_id: str) -> dict[str, Any] | None:
        rows = self._read("SELECT doc FROM alerts WHERE alert_id = ?", (alert_id,), "alert read")
        return json.loads(rows[0][0]) if rows else None

    def alerts(self, where: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        rows = self._read("SELECT doc FROM alerts ORDER BY rowid", (), "alert read")
        docs = [json.loads(r[0]) for r in rows]
        return [d for d in docs if ledger_matches(d, where)]

    def record_hits(self, series: str, hits: Sequence[Mapping[str, Any]]) -> int:
        return self._signals.record_hits(series, hits)

    def hits(self, series: str, since: datetime, until: datetime) -> list[dict[str, Any]]:
        return self._signals.hits(series, since, until)

    def drop_hits(self, series: str, before: datetime) -> int:
        return self._signals.drop_hits(series, before)

    def get_state(self, key: str) -> Versioned | None:
        return self._signals.get_state(key)

    def put_state(self, key: str, doc: Mapping[str, Any], version: str | None) -> str | None:
        return self._signals.put_state(key, doc, version)

    def refresh(self) -> None:
        return None  # every committed write is visible to the next read

    def check(self) -> None:
        self._read("SELECT count(*) FROM sqlite_master", (), "health check")

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
            self._owners = {}
        for conn in connections:
            conn.close()
        self._local = threading.local()


@dataclass(frozen=True)
class _Row:
    article_id: str
    published: str | None
    body: str
    derived: Derived


def _row(doc: Mapping[str, Any]) -> _Row:
    body = json.dumps(dict(doc), ensure_ascii=False, default=_json_default)
    published = normalize_published(doc.get("published"))
    return _Row(str(doc["article_id"]), published, body, derive(doc))


def _insert(conn: sqlite3.Connection, row: _Row) -> bool:
    """Create the article and its derived rows; False if ``article_id`` exists."""
    cur = conn.execute(
        "INSERT INTO articles (article_id, published, doc) VALUES (?, ?, ?)"
        " ON CONFLICT (article_id) DO NOTHING",
        (row.article_id, row.published, row.body),
    )
    if cur.rowcount == 1:
        _index(conn, cur.lastrowid, row.derived)
    return cur.rowcount == 1


def _index(conn: sqlite3.Connection, seq: int | None, derived: Derived) -> None:
    """The derived rows of one article: FTS5 tokens, keyword values, dates."""
    conn.execute(f"INSERT INTO articles_fts (rowid, {', '.join(FTS_FIELDS)}) VALUES (?, ?, ?)",
                 (seq, *derived.fts))
    conn.executemany("INSERT INTO article_terms (field, value, seq) VALUES (?, ?, ?)",
                     [(f, v, seq) for f, v in derived.keywords])
    conn.executemany("INSERT INTO article_dates (field, millis, seq) VALUES (?, ?, ?)",
                     [(f, ms, seq) for f, ms in derived.dates])
    conn.execute(FACTS_INSERT, (seq, *facts_of(derived)))
    if derived.multi_valued_text:
        conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('multi_valued_text', '1')")


def _reindex(conn: sqlite3.Connection) -> None:
    """Rebuild the derived tables from the stored documents (tokenizer included)."""
    count = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    if count:
        log.info("sqlite store: rebuilding the search index articles=%d", count)
    conn.execute("DROP TABLE IF EXISTS articles_fts")
    conn.execute(FTS_TABLE)
    for table in ("article_terms", "article_dates", "article_facts"):
        conn.execute(f"DELETE FROM {table}")
    conn.execute("DELETE FROM meta WHERE key = 'multi_valued_text'")
    for seq, body in conn.execute("SELECT seq, doc FROM articles"):
        _index(conn, seq, derive(json.loads(body)))
