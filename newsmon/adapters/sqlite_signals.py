"""The signal operations of the SQLite store (:mod:`newsmon.signals`): two tables in the same
file as the articles and the ledger.

``signal_hits`` is keyed by (series, article_id), so a replayed hit is ignored by the primary
key, and indexed by (series, at_ms, article_id) for the range reads. ``signal_states`` carries
an integer version that every write bumps; a write names the version it read and changes
nothing when another writer came first (``UPDATE ... WHERE version = ?``), across threads and
processes alike.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from newsmon.signals import Versioned, check_hits, millis

TABLES = (
    "CREATE TABLE IF NOT EXISTS signal_hits (series TEXT NOT NULL, article_id TEXT NOT NULL,"
    " at_ms INTEGER NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (series, article_id))"
    " WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS signal_hits_at ON signal_hits (series, at_ms, article_id)",
    "CREATE TABLE IF NOT EXISTS signal_states (key TEXT PRIMARY KEY,"
    " version INTEGER NOT NULL, doc TEXT NOT NULL)",
)

Read = Callable[..., list[Any]]
Write = Callable[[str], AbstractContextManager[sqlite3.Connection]]


class SqliteSignals:
    """Uses the store's own read and write-transaction helpers (their locking and error
    translation)."""

    def __init__(self, read: Read, write: Write) -> None:
        self._read, self._write = read, write

    def ensure(self) -> None:
        """Create the tables when missing (a file from an older version has none)."""
        names = {
            r[0]
            for r in self._read(
                "SELECT name FROM sqlite_master WHERE name IN ('signal_hits', 'signal_states',"
                " 'signal_hits_at')",
                (),
                "schema check",
            )
        }
        if len(names) == 3:
            return
        with self._write("signal schema setup") as conn:
            for statement in TABLES:
                conn.execute(statement)

    def record_hits(self, series: str, hits: Sequence[Mapping[str, Any]]) -> int:
        rows = [
            (series, aid, at_ms, json.dumps({**doc, "series": series}, default=str))
            for aid, at_ms, doc in check_hits(hits)
        ]
        if not rows:
            return 0
        with self._write("signal write") as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO signal_hits (series, article_id, at_ms, doc)"
                " VALUES (?, ?, ?, ?)",
                rows,
            )
            return conn.total_changes - before

    def hits(self, series: str, since: datetime, until: datetime) -> list[dict[str, Any]]:
        rows = self._read(
            "SELECT doc FROM signal_hits WHERE series = ? AND at_ms >= ?"
            " AND at_ms < ? ORDER BY at_ms, article_id",
            (series, millis(since), millis(until)),
            "signal read",
        )
        return [json.loads(r[0]) for r in rows]

    def drop_hits(self, series: str, before: datetime) -> int:
        with self._write("signal retention") as conn:
            cur = conn.execute(
                "DELETE FROM signal_hits WHERE series = ? AND at_ms < ?", (series, millis(before))
            )
            return int(cur.rowcount)

    def get_state(self, key: str) -> Versioned | None:
        rows = self._read(
            "SELECT doc, version FROM signal_states WHERE key = ?", (key,), "signal state read"
        )
        return Versioned(json.loads(rows[0][0]), str(rows[0][1])) if rows else None

    def put_state(self, key: str, doc: Mapping[str, Any], version: str | None) -> str | None:
        body = json.dumps(dict(doc), default=str)
        with self._write("signal state write") as conn:
            if version is None:
                cur = conn.execute(
                    "INSERT OR IGNORE INTO signal_states (key, version, doc) VALUES (?, 1, ?)",
                    (key, body),
                )
                return "1" if cur.rowcount == 1 else None
            if not version.isdigit():
                return None
            cur = conn.execute(
                "UPDATE signal_states SET version = version + 1, doc = ?"
                " WHERE key = ? AND version = ?",
                (body, key, int(version)),
            )
            return str(int(version) + 1) if cur.rowcount == 1 else None
