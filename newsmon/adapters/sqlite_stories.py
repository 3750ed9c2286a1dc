"""SQLite adapter of the :class:`~newsmon.stories.StoryStore` port (the embedded default).

Two tables in the store's file (WAL: the index stage writes articles beside them): band claims
(``INSERT OR IGNORE`` is the create-if-absent) and story records. Embeddings are stored as
float16; the nearest-neighbour search reads those in the time window (one process, a few
thousand a day: a matrix product is enough). Thread-safe by one lock (one connection).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from newsmon.errors import TransientError
from newsmon.stories import F32, StoryRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS story_bands (
    key TEXT PRIMARY KEY, article_id TEXT NOT NULL, ts REAL NOT NULL);
CREATE INDEX IF NOT EXISTS story_bands_ts ON story_bands (ts);
CREATE TABLE IF NOT EXISTS story_records (
    article_id TEXT PRIMARY KEY, story_id TEXT NOT NULL, ts REAL NOT NULL, sig BLOB NOT NULL,
    n_full INTEGER NOT NULL, n_lead INTEGER NOT NULL, n_words INTEGER NOT NULL, vec BLOB,
    lang TEXT NOT NULL, ents TEXT NOT NULL, settled INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS story_records_ts ON story_records (ts);
"""
_COLUMNS = "article_id, story_id, ts, sig, n_full, n_lead, n_words, vec, lang, ents, settled"
_CHUNK = 500  # ids per IN (...): under SQLite's variable limit


class SqliteStories:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise TransientError(f"story store {self.path}: {exc}") from exc

    def ensure_schema(self) -> None:
        pass  # created on open

    def records(self, article_ids: Iterable[str]) -> dict[str, StoryRecord]:
        ids = list(dict.fromkeys(article_ids))
        out: dict[str, StoryRecord] = {}
        for i in range(0, len(ids), _CHUNK):
            part = ids[i : i + _CHUNK]
            marks = ",".join("?" * len(part))
            rows = self._query(
                f"SELECT {_COLUMNS} FROM story_records WHERE article_id IN ({marks})", part
            )
            out.update((row[0], _record(row)) for row in rows)
        return out

    def create_records(self, records: Sequence[StoryRecord]) -> set[str]:
        with self._transaction() as db:
            created = set()
            for r in records:
                cur = db.execute(
                    f"INSERT OR IGNORE INTO story_records ({_COLUMNS}) VALUES "
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    _row(r),
                )
                if cur.rowcount:
                    created.add(r.article_id)
            return created

    def update_records(self, records: Sequence[StoryRecord]) -> None:
        with self._transaction() as db:
            db.executemany(
                f"INSERT OR REPLACE INTO story_records ({_COLUMNS}) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_row(r) for r in records],
            )

    def claim_bands(self, claims: Mapping[str, str]) -> dict[str, str]:
        if not claims:
            return {}
        with self._transaction() as db:
            ts = {
                a: t
                for a, t in db.execute(
                    f"SELECT article_id, ts FROM story_records WHERE article_id IN "
                    f"({','.join('?' * len(set(claims.values())))})",
                    list(set(claims.values())),
                )
            }
            db.executemany(
                "INSERT OR IGNORE INTO story_bands (key, article_id, ts) VALUES (?, ?, ?)",
                [(k, a, ts.get(a, 0.0)) for k, a in claims.items()],
            )
        return self.band_owners(claims)

    def band_owners(self, keys: Iterable[str]) -> dict[str, str]:
        found = list(dict.fromkeys(keys))
        out: dict[str, str] = {}
        for i in range(0, len(found), _CHUNK):
            part = found[i : i + _CHUNK]
            marks = ",".join("?" * len(part))
            out.update(
                self._query(f"SELECT key, article_id FROM story_bands WHERE key IN ({marks})", part)
            )
        return out

    def nearest(
        self, vec: F32, since: float, until: float, lang: str, k: int
    ) -> list[tuple[StoryRecord, float]]:
        rows = self._query(
            f"SELECT {_COLUMNS} FROM story_records WHERE vec IS NOT NULL AND lang != ''"
            " AND lang != ? AND ts BETWEEN ? AND ?",
            (lang, since, until),
        )
        if not rows:
            return []
        recs = [_record(r) for r in rows]
        sims = np.stack([r.vec for r in recs if r.vec is not None]) @ vec
        order = np.argsort(-sims)[:k]
        return [(recs[i], float(sims[i])) for i in order.tolist()]

    def prune(self, bands_before: float, records_before: float) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM story_bands WHERE ts < ?", (bands_before,))
            db.execute("DELETE FROM story_records WHERE ts < ?", (records_before,))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _query(self, sql: str, params: Sequence[object]) -> list[tuple[object, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise TransientError(f"story store {self.path}: {exc}") from exc

    def _transaction(self) -> _Transaction:
        return _Transaction(self)


class _Transaction:
    """``with store._transaction() as db``: BEGIN IMMEDIATE ... COMMIT under the lock; a
    SQLite error (a locked file, a full disk) is transient: the batch is retried."""

    def __init__(self, owner: SqliteStories) -> None:
        self._owner = owner

    def __enter__(self) -> sqlite3.Connection:
        self._owner._lock.acquire()
        try:
            self._owner._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            self._owner._lock.release()
            raise TransientError(f"story store {self._owner.path}: {exc}") from exc
        return self._owner._db

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        db = self._owner._db
        try:
            if exc is None:
                db.execute("COMMIT")
            else:
                db.execute("ROLLBACK")
        except sqlite3.Error as err:
            if exc is None:
                raise TransientError(f"story store {self._owner.path}: {err}") from err
        finally:
            self._owner._lock.release()
        if isinstance(exc, sqlite3.Error):
            raise TransientError(f"story store {self._owner.path}: {exc}") from exc


def _row(r: StoryRecord) -> tuple[object, ...]:
    vec = r.vec.astype(np.float16).tobytes() if r.vec is not None else None
    return (
        r.article_id,
        r.story_id,
        r.ts,
        r.sig,
        r.n_full,
        r.n_lead,
        r.n_words,
        vec,
        r.lang,
        "\t".join(sorted(r.ents)),
        int(r.settled),
    )


def _record(row: tuple[object, ...]) -> StoryRecord:
    (aid, sid, ts, sig, n_full, n_lead, n_words, vec, lang, ents, settled) = row
    v = None
    if vec:
        v = np.frombuffer(vec, dtype=np.float16).astype(np.float32)  # type: ignore[arg-type]
    return StoryRecord(
        str(aid),
        str(sid),
        float(ts),
        bytes(sig),
        int(n_full),
        int(n_lead),  # type: ignore[arg-type]
        int(n_words),
        v,
        str(lang),
        frozenset(str(ents).split("\t")) if ents else frozenset(),  # type: ignore[arg-type]
        bool(settled),
    )
