"""What the poller remembers between runs, in SQLite (``ingest.sqlite3``, WAL).

Per feed: validators for conditional GET, outcome of the last poll, failure count and the
next poll time. Per article: that it was durably published. The poller marks articles seen
only after ``bus.flush()`` returned, so a crash means a re-poll, never a loss.

This file is the instance's own: on Kafka, where several instances share the feeds, the feed
records they share on ``news.feeds.v1`` (:mod:`ingest.shared`) are the truth and this is a
cache; and the store is the truth about what was published (:mod:`ingest.storecheck`).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

from newsmon.feedstatus import STATE_FILE as STATE_FILE  # the core reads it for feeds status

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    url TEXT PRIMARY KEY,
    etag TEXT,
    last_modified TEXT,
    body_hash TEXT,
    last_polled TEXT,
    last_success TEXT,
    last_status TEXT,
    last_error TEXT,
    error_kind TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    items_seen INTEGER NOT NULL DEFAULT 0,
    next_poll TEXT,
    moved_to TEXT,
    warning TEXT,
    interval REAL,
    history TEXT,
    last_new TEXT,
    gone INTEGER NOT NULL DEFAULT 0,
    resumed TEXT,
    health TEXT,
    gaps TEXT,
    denied INTEGER NOT NULL DEFAULT 0,
    recent TEXT
);
CREATE TABLE IF NOT EXISTS seen (
    article_id TEXT PRIMARY KEY,
    feed_url TEXT NOT NULL,
    first_seen TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS seen_by_feed ON seen (feed_url, first_seen);
"""


@dataclass(frozen=True)
class FeedRecord:
    """The stored state of one feed (timestamps are aware UTC)."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_polled: datetime | None = None
    last_success: datetime | None = None
    last_status: str | None = None
    last_error: str | None = None
    error_kind: str | None = None
    consecutive_failures: int = 0
    items_seen: int = 0
    next_poll: datetime | None = None
    moved_to: str | None = None
    warning: str | None = None
    interval: float | None = None  # the adaptive interval now in force (seconds)
    history: str | None = None  # recent polls, oldest first: "new/listed new/listed ..."
    last_new: datetime | None = None  # when a poll last found a new item
    gone: bool = False  # HTTP 410: no longer polled
    resumed: datetime | None = None  # when an operator last resumed it (feeds resume)
    health: str | None = None  # active health signals, JSON (ingest.health)
    gaps: str | None = None  # recent gaps between polls that found new items, seconds
    denied: int = 0  # polls in a row answered 403 or 429
    recent: str | None = None  # ids of the feed's latest items known published, newest first


_COLUMNS = tuple(f.name for f in fields(FeedRecord))
_TIMES = frozenset({"last_polled", "last_success", "next_poll", "last_new", "resumed"})
_ADDED_COLUMNS = {
    "interval": "REAL",
    "history": "TEXT",
    "last_new": "TEXT",
    "gone": "INTEGER NOT NULL DEFAULT 0",
    "resumed": "TEXT",
    "health": "TEXT",
    "gaps": "TEXT",
    "denied": "INTEGER NOT NULL DEFAULT 0",
    "recent": "TEXT",
}


_TIME_AT = tuple(i for i, name in enumerate(_COLUMNS) if name in _TIMES)

# An operator's resume (``feeds resume``, another process) can land while the poller is
# polling that feed; the poll's record, taken before, must not undo it. The stored row wins
# for what a resume sets when its ``resumed`` is newer than the record's: one statement, so
# it holds across processes without a read-modify-write.
_RESUMED_SINCE = (
    "feeds.resumed IS NOT NULL AND (excluded.resumed IS NULL OR feeds.resumed > excluded.resumed)"
)
_KEPT_BY_RESUME = {
    "gone": "0",
    "consecutive_failures": "0",
    "next_poll": "NULL",
    "resumed": "feeds.resumed",
}
_UPSERT = (
    f"INSERT INTO feeds ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)}) "
    "ON CONFLICT(url) DO UPDATE SET "
    + ", ".join(
        f"{name} = CASE WHEN {_RESUMED_SINCE} THEN {_KEPT_BY_RESUME[name]} ELSE excluded.{name} END"
        if name in _KEPT_BY_RESUME
        else f"{name} = excluded.{name}"
        for name in _COLUMNS
        if name != "url"
    )
)


def _row(record: FeedRecord) -> list[object]:
    """The record's column values as stored (times as ISO 8601 UTC text)."""
    row: list[object] = [getattr(record, name) for name in _COLUMNS]
    for i in _TIME_AT:
        value = row[i]
        if isinstance(value, datetime):
            row[i] = value.astimezone(UTC).isoformat()
    return row


def _from_db(name: str, value: object) -> object:
    if name in _TIMES and isinstance(value, str):
        return datetime.fromisoformat(value).astimezone(UTC)
    if name == "gone":
        return bool(value)
    return value


class FeedState:
    """SQLite-backed feed and seen-article state; safe to share between threads."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Add the columns a state file from an older version lacks."""
        have = {row[1] for row in self._db.execute("PRAGMA table_info(feeds)")}
        for name, kind in _ADDED_COLUMNS.items():
            if name not in have:
                self._db.execute(f"ALTER TABLE feeds ADD COLUMN {name} {kind}")

    @classmethod
    def in_dir(cls, data_dir: Path) -> FeedState:
        return cls(Path(data_dir) / STATE_FILE)

    def get(self, url: str) -> FeedRecord:
        """The stored record of ``url``, or a fresh one if the feed was never polled."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM feeds WHERE url = ?", (url,)
            ).fetchone()
        if row is None:
            return FeedRecord(url=url)
        values = {n: _from_db(n, v) for n, v in zip(_COLUMNS, row, strict=True)}
        return FeedRecord(**values)  # type: ignore[arg-type]

    def records(self) -> list[FeedRecord]:
        """Every stored feed record (for ``feeds status``), ordered by URL."""
        with self._lock:
            urls = [r[0] for r in self._db.execute("SELECT url FROM feeds ORDER BY url")]
        return [self.get(url) for url in urls]

    def save(self, record: FeedRecord) -> None:
        self.save_many([record])

    def save_many(self, records: Iterable[FeedRecord]) -> None:
        """Store feed records in one transaction. A resume stored since a record was read
        (its ``resumed`` is newer) is kept: not gone, no failures, due now."""
        rows = [_row(r) for r in records]
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(_UPSERT, rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def resume(self, url: str, now: datetime) -> FeedRecord | None:
        """An operator's reset of ``url``: not gone, no failures, due now (``resumed`` = now,
        which a running poller picks up). None if the feed was never polled."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE feeds SET gone = 0, consecutive_failures = 0, next_poll = NULL, "
                "resumed = ? WHERE url = ?",
                (now.astimezone(UTC).isoformat(), url),
            )
        return self.get(url) if cursor.rowcount else None

    def resumed_after(self, since: datetime | None) -> list[FeedRecord]:
        """Records resumed after ``since`` (all resumed ones when None)."""
        stamp = since.astimezone(UTC).isoformat() if since else ""
        with self._lock:
            urls = [
                r[0]
                for r in self._db.execute(
                    "SELECT url FROM feeds WHERE resumed IS NOT NULL AND resumed > ?", (stamp,)
                )
            ]
        return [self.get(url) for url in urls]

    def unseen(self, article_ids: Iterable[str]) -> set[str]:
        """The ids among ``article_ids`` that were never marked seen."""
        ids = list(dict.fromkeys(article_ids))
        seen: set[str] = set()
        with self._lock:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ", ".join("?" for _ in chunk)
                rows = self._db.execute(
                    f"SELECT article_id FROM seen WHERE article_id IN ({marks})", chunk
                )
                seen.update(r[0] for r in rows)
        return set(ids) - seen

    def mark_seen(self, items: Iterable[tuple[str, str]], now: datetime) -> None:
        """Record ``(article_id, feed_url)`` pairs as durably published."""
        stamp = now.astimezone(UTC).isoformat()
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT OR IGNORE INTO seen (article_id, feed_url, first_seen) VALUES (?,?,?)",
                    [(aid, feed, stamp) for aid, feed in items],
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def seen_sample(
        self, feed_urls: Iterable[str], before: datetime, per_feed: int
    ) -> dict[str, list[str]]:
        """Per feed, the ids of up to ``per_feed`` of its latest articles marked seen before
        ``before`` (what the seen-state claims the store should have by now)."""
        stamp = before.astimezone(UTC).isoformat()
        out: dict[str, list[str]] = {}
        with self._lock:
            for url in feed_urls:
                rows = self._db.execute(
                    "SELECT article_id FROM seen WHERE feed_url = ? AND first_seen <= ? "
                    "ORDER BY first_seen DESC LIMIT ?",
                    (url, stamp, per_feed),
                ).fetchall()
                if rows:
                    out[url] = [r[0] for r in rows]
        return out

    def forget_seen(self, feed_urls: Iterable[str]) -> int:
        """Mark every article of these feeds unseen again (they are published anew when the
        feeds list them); how many were forgotten."""
        urls = list(feed_urls)
        with self._lock:
            self._db.execute("BEGIN")
            try:
                cursor = self._db.executemany(
                    "DELETE FROM seen WHERE feed_url = ?", [(u,) for u in urls]
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return max(0, cursor.rowcount)

    def close(self) -> None:
        with self._lock:
            self._db.close()
