"""SQLite adapter of the :class:`~newsmon.store.ArticleStore` port: the embedded default store.

URL forms: ``sqlite:///abs/path.db`` (absolute) and ``sqlite://relative/path.db``.

Layout (one file, WAL journal)::

    articles       seq INTEGER PRIMARY KEY, article_id TEXT UNIQUE, published TEXT, doc TEXT
    articles_fts   FTS5 over (title, text), contentless, rowid = articles.seq,
                   tokenize 'unicode61 remove_diacritics 0' (lower-cases, does NOT fold
                   accents: like Elasticsearch's standard analyzer)
    article_terms  (field, value, seq): lower-cased keyword values (actor, topic, place, ...)
    alerts         alert_id TEXT PRIMARY KEY, status TEXT, doc TEXT: the once-only ledger

``seq`` is an explicit INTEGER PRIMARY KEY so that VACUUM never renumbers the rowids the FTS
index points at; ``article_id`` is UNIQUE, which is what makes writes create-only.
``published`` is the document's timestamp normalised to UTC (``YYYY-MM-DDTHH:MM:SS.ffffff``)
for sorting and date ranges.

Search speaks the same Lucene syntax as Elasticsearch. :mod:`newsmon.adapters.sqlite_query`
translates the query tree into a SQL condition that selects a *superset* of the matching
articles (FTS5 for text terms, phrases and prefix wildcards; the keyword table for field terms;
the ``published`` column for date ranges); every candidate is then confirmed with the stream
matcher (``compile_query(q).matches(doc)``), so results equal the matcher's (and the in-memory
twin's) exactly. Parts that cannot be translated soundly (negations, leading wildcards, fuzzy
terms, ``now`` date math, unknown fields) impose no restriction, and a query with no
restriction at all is a full scan through the matcher: slower, never different.

Sorting: ``published`` (newest first, ties in insertion order, missing dates last) or
``relevance``: FTS5 ``bm25`` over the query's positive text clauses, then ``published``.
Relevance scores are not Elasticsearch's (no per-field boosts, no keyword-clause scores).

Durability and concurrency: WAL with ``synchronous=NORMAL``: a commit survives a killed process
(the WAL is in the OS page cache), only a power loss can undo the last transactions, which in
the embedded mode loses the in-memory bus as well. Each thread gets its own connection; every
connection waits up to ``busy_timeout`` for a lock, so ``newsmon run`` (writing) and
``newsmon search`` (reading) can share the file; readers never block the writer in WAL mode.
Writes take the lock up front (``BEGIN IMMEDIATE``); a lock still held after the timeout, and
I/O errors, become :class:`~newsmon.errors.TransientError`.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from newsmon.adapters.sqlite_query import KEYWORD_FIELDS, Plan, plan_query, sql_text
from newsmon.errors import ConfigError, TransientError
from newsmon.query import compile_query
from newsmon.store import SearchResult, Sort, WriteResult

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    seq INTEGER PRIMARY KEY,
    article_id TEXT NOT NULL UNIQUE,
    published TEXT,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_published ON articles (published DESC, seq);
CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5 (
    title, text, content='', prefix='2 4', tokenize='unicode61 remove_diacritics 0'
);
CREATE TABLE IF NOT EXISTS article_terms (
    field TEXT NOT NULL, value TEXT NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (field, value, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS alerts (
    alert_id TEXT PRIMARY KEY,
    status TEXT,
    doc TEXT NOT NULL
);
"""
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
    """UTC ``YYYY-MM-DDTHH:MM:SS.ffffff`` (sortable as text), or None if absent/unparseable."""
    if value is None or value == "":
        return None
    try:
        when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def keyword_rows(doc: Mapping[str, Any]) -> set[tuple[str, str]]:
    """The (field, lower-cased value) pairs of a document's keyword fields."""
    rows: set[tuple[str, str]] = set()
    for name in KEYWORD_FIELDS:
        value = doc.get(name)
        values = value if isinstance(value, list | tuple) else [value]
        rows.update((name, str(v).lower()) for v in values if v is not None and v != "")
    return rows


class SqliteStore:
    """The embedded article store: one SQLite file, safe for several threads and processes."""

    def __init__(self, path: str | Path, *, busy_timeout: float = 10.0) -> None:
        self.path = Path(path)
        self._timeout = busy_timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self.full_scans = 0  # searches that had no candidate restriction (see module docstring)
        self.last_plan: Plan | None = None
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
        return conn

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
        with self._write("schema setup") as conn:
            for statement in filter(str.strip, _SCHEMA.split(";")):
                conn.execute(statement)

    def write_articles(self, docs: Sequence[Mapping[str, Any]]) -> WriteResult:
        result = WriteResult()
        if not docs:
            return result
        with self._write("write") as conn:
            for doc in docs:
                doc_id = str(doc["article_id"])
                if self._insert(conn, doc_id, doc):
                    result.written.append(doc_id)
                else:
                    result.duplicates.append(doc_id)
        return result

    def _insert(self, conn: sqlite3.Connection, doc_id: str, doc: Mapping[str, Any]) -> bool:
        body = json.dumps(dict(doc), ensure_ascii=False, default=_json_default)
        cur = conn.execute(
            "INSERT INTO articles (article_id, published, doc) VALUES (?, ?, ?)"
            " ON CONFLICT (article_id) DO NOTHING",
            (doc_id, normalize_published(doc.get("published")), body),
        )
        if cur.rowcount != 1:
            return False
        seq = cur.lastrowid
        conn.execute("INSERT INTO articles_fts (rowid, title, text) VALUES (?, ?, ?)",
                     (seq, sql_text(doc.get("title")), sql_text(doc.get("text"))))
        conn.executemany("INSERT INTO article_terms (field, value, seq) VALUES (?, ?, ?)",
                         [(f, v, seq) for f, v in sorted(keyword_rows(doc))])
        return True

    def search(self, query: str, *, limit: int = 20, sort: Sort = "published") -> SearchResult:
        matcher = compile_query(query)
        plan = plan_query(query)
        self.last_plan = plan
        if plan.where is None:
            self.full_scans += 1
        sql = "SELECT seq, doc FROM articles"
        if plan.where is not None:
            sql += f" WHERE {plan.where}"
        sql += " ORDER BY published DESC, seq"
        hits: list[tuple[int, dict[str, Any]]] = []
        for seq, body in self._read(sql, plan.params, "search"):
            doc = json.loads(body)
            if matcher.matches(doc):
                hits.append((seq, doc))
        if sort == "relevance" and plan.scoring is not None:
            hits = self._by_relevance(hits, plan.scoring)
        return SearchResult(total=len(hits), hits=[d for _, d in hits[: max(limit, 0)]])

    def query_plan(self, query: str) -> list[str]:
        """SQLite's plan for the candidate selection of ``query`` (EXPLAIN QUERY PLAN)."""
        plan = plan_query(query)
        where = f" WHERE {plan.where}" if plan.where is not None else ""
        rows = self._read(f"EXPLAIN QUERY PLAN SELECT seq, doc FROM articles{where}"
                          " ORDER BY published DESC, seq", plan.params, "explain")
        return [str(r[-1]) for r in rows]

    def _by_relevance(self, hits: list[tuple[int, dict[str, Any]]],
                      scoring: str) -> list[tuple[int, dict[str, Any]]]:
        rows = self._read("SELECT rowid, bm25(articles_fts) FROM articles_fts"
                          " WHERE articles_fts MATCH ?", (scoring,), "search")
        score = {int(r): float(s) for r, s in rows}  # bm25: lower is better
        order = {seq: i for i, (seq, _) in enumerate(hits)}  # already newest first
        return sorted(hits, key=lambda h: (score.get(h[0], 0.0), order[h[0]]))

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
                (alert_id, _status(body), json.dumps(body, default=_json_default)),
            )
            return cur.rowcount == 1

    def update_alert(self, alert_id: str, fields: Mapping[str, Any]) -> None:
        with self._write("alert ledger update") as conn:
            row = conn.execute("SELECT doc FROM alerts WHERE alert_id = ?", (alert_id,)).fetchone()
            if row is None:
                raise KeyError(alert_id)
            body = {**json.loads(row[0]), **fields}
            conn.execute("UPDATE alerts SET status = ?, doc = ? WHERE alert_id = ?",
                         (_status(body), json.dumps(body, default=_json_default), alert_id))

    def get_alert(self, alert_id: str) -> dict[str, Any] | None:
        rows = self._read("SELECT doc FROM alerts WHERE alert_id = ?", (alert_id,), "alert read")
        return json.loads(rows[0][0]) if rows else None

    def alerts(self) -> list[dict[str, Any]]:
        rows = self._read("SELECT doc FROM alerts ORDER BY rowid", (), "alert read")
        return [json.loads(r[0]) for r in rows]

    def refresh(self) -> None:
        return None  # every committed write is visible to the next read

    def check(self) -> None:
        self._read("SELECT count(*) FROM sqlite_master", (), "health check")

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
        self._local = threading.local()


def _status(doc: Mapping[str, Any]) -> str | None:
    value = doc.get("status")
    return None if value is None else str(value)
