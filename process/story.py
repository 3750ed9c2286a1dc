"""Story clustering: near-duplicate articles (syndicated wire copies, re-headlined, trimmed or
lightly edited) share a ``story_id``.

How: each article gets two MinHash signatures over 4-word shingles of normalised words (NFKC,
lower case, ``\\w+``; wire datelines such as ``LONDON (Reuters) -`` dropped): ``full`` over the
title and the text, ``lead`` over the first :data:`LEAD_WORDS` words of the text only. LSH
banding on both finds candidates; a candidate is the same story when

* the estimated Jaccard similarity of the full signatures is ≥ ``threshold`` (copies with
  another headline, boilerplate or small edits), or
* the shorter article is contained in the longer one (estimated from Jaccard and the shingle
  counts) — by ≥ ``containment`` over the full text, or by ≥ ``lead_containment`` over the lead
  when the shorter one is itself only a lead/summary or is ≥ half contained in the full text
  (copies truncated to their first paragraphs or to a summary).

The article joins the story of its earliest matching article; otherwise it founds a story whose
id is its own ``article_id``, so a replay in the same order gives the same ids. Every
assignment is remembered (``article_id`` → ``story_id``): a redelivered article keeps its id.
Only articles within ``window`` of each other (event time: ``published``, capped at
``fetched``) are compared; signatures older than the newest event time minus ``window`` are
evicted, and at most ``max_entries`` are kept (oldest go first).

Persistence: :meth:`StoryClusterer.open` keeps signatures and assignments in SQLite (WAL), one
transaction per batch, loaded and pruned on start; assignments outlive signatures
(``keep_assignments``). Without a path the state lives in memory only.

Limitation: the state is per processor instance. The raw topic is keyed by ``article_id``, so
copies of one story usually land on different partitions and, with several ``newsmon process``
instances, on instances that cannot see each other's articles: each instance then founds its
own story for them. Clustering across instances needs a shared store (the signature buckets in
a database all instances use) or a separate single-instance story step; with one instance (the
embedded default and small deployments) clustering is complete.
"""

from __future__ import annotations

import hashlib
import heapq
import re
import sqlite3
import unicodedata
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt

from newsmon.schema import RawArticle

U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]

SHINGLE = 4
PERMUTATIONS = 128
LEAD_PERMUTATIONS = 64
FULL_BANDS = 32  # x 4 rows: a candidate at Jaccard 0.6 with p ≈ 0.99, at 0.3 with p ≈ 0.23
LEAD_BANDS = 32  # x 2 rows: p ≈ 0.9 at Jaccard 0.3, the lead of a 20-word summary
LEAD_WORDS = 40
SUMMARY_WORDS = 3 * LEAD_WORDS  # a text this short may be a summary/teaser of a longer one
MIN_SHINGLES = 5  # fewer (a short title alone) never matches anything
SIGNATURE_VERSION = 1  # bump when anything above or the hashing changes: stored ones are dropped

_WORD = re.compile(r"\w+")
_DATELINE = re.compile(
    r"^\s*(?:[A-Z][\w.,'’ /-]{0,60}?\s*)?\((?:Reuters|AP|AFP|dpa|UPI|Bloomberg|Xinhua|"
    r"TASS|Interfax|CNN|ANSA|EFE)\)\s*[-–—:]*\s*"
)


def _constants(label: str, count: int, odd: bool = False) -> U64:
    """Fixed pseudo-random 64-bit constants (from SHA-256: the same on every machine)."""
    values = [
        int.from_bytes(hashlib.sha256(f"newsmon:{label}:{i}".encode()).digest()[:8], "little")
        | int(odd)
        for i in range(count)
    ]
    return np.array(values, dtype=np.uint64)


_MIX = _constants("shingle", SHINGLE)
_A, _B = _constants("a", PERMUTATIONS, odd=True), _constants("b", PERMUTATIONS)
_BAND_MIX = _constants("band", 4)
_BAND_SALT = _constants("band-salt", FULL_BANDS + LEAD_BANDS)


@dataclass(frozen=True)
class ClusterConfig:
    window: timedelta = timedelta(hours=72)
    threshold: float = 0.5
    containment: float = 0.7
    lead_containment: float = 0.7
    max_entries: int = 50_000
    keep_assignments: timedelta = timedelta(days=30)


@dataclass(frozen=True, eq=False)
class Signature:
    full: U32
    lead: U32
    n_full: int  # distinct shingles
    n_lead: int
    n_words: int  # words of the text

    def to_bytes(self) -> bytes:
        return self.full.tobytes() + self.lead.tobytes()

    @classmethod
    def from_bytes(cls, blob: bytes, n_full: int, n_lead: int, n_words: int) -> Signature:
        sig = np.frombuffer(blob, dtype=np.uint32)
        return cls(sig[:PERMUTATIONS], sig[PERMUTATIONS:], n_full, n_lead, n_words)


def words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower())


def _shingles(tokens: Sequence[str]) -> U64:
    """Distinct 64-bit hashes of the 4-word shingles (one shingle if there are fewer words)."""
    if not tokens:
        return np.empty(0, dtype=np.uint64)
    hashes = np.fromiter((zlib.crc32(w.encode()) for w in tokens), np.uint64, len(tokens))
    k = min(SHINGLE, len(hashes))
    n = len(hashes) - k + 1
    acc = np.zeros(n, dtype=np.uint64)
    for j in range(k):
        acc += hashes[j : j + n] * _MIX[j]
    return np.unique(acc ^ (acc >> np.uint64(31)))


def _minhash(shingles: U64, permutations: int) -> U32:
    if not len(shingles):
        return np.full(permutations, 0xFFFFFFFF, dtype=np.uint32)
    x = (shingles ^ (shingles >> np.uint64(32))) & np.uint64(0xFFFFFFFF)
    mixed = np.multiply.outer(x, _A[:permutations]) + _B[:permutations]
    sig: U32 = (mixed >> np.uint64(32)).min(axis=0).astype(np.uint32)
    return sig


def signature(title: str, text: str) -> Signature:
    body = words(_DATELINE.sub("", text, count=1))
    full = np.union1d(_shingles(words(title)), _shingles(body))
    lead = _shingles(body[:LEAD_WORDS])
    return Signature(
        _minhash(full, PERMUTATIONS), _minhash(lead, LEAD_PERMUTATIONS),
        len(full), len(lead), len(body),
    )


def jaccard(a: U32, b: U32) -> float:
    return float(np.count_nonzero(a == b)) / len(a)


def contained(j: float, n_a: int, n_b: int) -> float:
    """Share of the smaller set inside the other, from their Jaccard similarity and sizes."""
    small = min(n_a, n_b)
    return min(1.0, j * (n_a + n_b) / ((1.0 + j) * small)) if small else 0.0


def same_story(a: Signature, b: Signature, cfg: ClusterConfig) -> bool:
    smaller = min(a.n_full, b.n_full)
    if smaller < MIN_SHINGLES:
        return False
    j = jaccard(a.full, b.full)
    in_full = contained(j, a.n_full, b.n_full)
    if j >= cfg.threshold or (in_full >= cfg.containment and smaller >= 3 * MIN_SHINGLES):
        return True
    short = min(a.n_words, b.n_words) <= SUMMARY_WORDS
    return (short or in_full >= 0.5) and _lead_contained(a, b, cfg)


def _lead_contained(a: Signature, b: Signature, cfg: ClusterConfig) -> bool:
    if min(a.n_lead, b.n_lead) < 2 * MIN_SHINGLES:
        return False
    return contained(jaccard(a.lead, b.lead), a.n_lead, b.n_lead) >= cfg.lead_containment


def band_keys(sig: Signature) -> list[int]:
    """LSH bucket keys: one per band of each signature, salted by band."""
    full = sig.full.reshape(FULL_BANDS, -1).astype(np.uint64)
    lead = sig.lead.reshape(LEAD_BANDS, -1).astype(np.uint64)
    keys = np.concatenate([
        (full * _BAND_MIX[: full.shape[1]]).sum(axis=1),
        (lead * _BAND_MIX[: lead.shape[1]]).sum(axis=1),
    ])
    return [int(k) for k in keys ^ _BAND_SALT]


def event_time(article: RawArticle) -> datetime:
    """When the article happened: ``published``, but never after it was fetched."""
    if article.published is None:
        return article.fetched
    return min(article.published, article.fetched)


@dataclass(frozen=True)
class Entry:
    article_id: str
    story_id: str
    ts: float  # event time, seconds since the epoch
    sig: Signature


class StoryIndex:
    """In-memory LSH index of the entries within the window, evicting the oldest."""

    def __init__(self, max_entries: int) -> None:
        self._max = max_entries
        self._entries: dict[str, Entry] = {}
        self._buckets: dict[int, list[str]] = {}
        self._by_time: list[tuple[float, str]] = []

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, article_id: str) -> Entry | None:
        return self._entries.get(article_id)

    def add(self, entry: Entry) -> None:
        if entry.article_id in self._entries:
            return
        self._entries[entry.article_id] = entry
        for key in band_keys(entry.sig):
            self._buckets.setdefault(key, []).append(entry.article_id)
        heapq.heappush(self._by_time, (entry.ts, entry.article_id))
        while len(self._entries) > self._max:
            self._remove(heapq.heappop(self._by_time)[1])

    def candidates(self, sig: Signature) -> Iterator[Entry]:
        seen: set[str] = set()
        for key in band_keys(sig):
            for aid in self._buckets.get(key, ()):
                if aid not in seen:
                    seen.add(aid)
                    yield self._entries[aid]

    def evict_before(self, ts: float) -> None:
        while self._by_time and self._by_time[0][0] < ts:
            self._remove(heapq.heappop(self._by_time)[1])

    def _remove(self, article_id: str) -> None:
        entry = self._entries.pop(article_id)
        for key in band_keys(entry.sig):
            bucket = self._buckets[key]
            bucket.remove(article_id)
            if not bucket:
                del self._buckets[key]


class StoryClusterer:
    """Assigns story ids; see the module docstring. Not thread-safe (one consume loop)."""

    def __init__(
        self, config: ClusterConfig | None = None, state: SqliteStoryState | None = None
    ) -> None:
        self.config = config or ClusterConfig()
        self._window = self.config.window.total_seconds()
        self._state = state
        self._index = StoryIndex(self.config.max_entries)
        self._newest = float("-inf")
        self._pending: list[Entry] = []
        if state is not None:
            self._load(state)

    @classmethod
    def open(cls, path: Path, config: ClusterConfig | None = None) -> StoryClusterer:
        """A clusterer whose state lives in the SQLite file ``path`` (created if missing)."""
        return cls(config, SqliteStoryState(path))

    def _load(self, state: SqliteStoryState) -> None:
        for entry in state.load(self._window, self.config.max_entries):
            self._index.add(entry)
            self._newest = max(self._newest, entry.ts)

    def __len__(self) -> int:
        return len(self._index)

    def assign_batch(self, articles: Sequence[RawArticle]) -> list[str]:
        """Story ids for ``articles`` in order; the state is saved before this returns."""
        ids = [self.assign(a.article_id, a.title, a.text, event_time(a)) for a in articles]
        self.commit()
        return ids

    def assign(self, article_id: str, title: str, text: str, when: datetime) -> str:
        known = self._known(article_id)
        if known is not None:
            return known
        entry = self._match(Entry(article_id, article_id, when.timestamp(), signature(title, text)))
        self._pending.append(entry)
        self._newest = max(self._newest, entry.ts)
        self._index.evict_before(self._newest - self._window)
        if entry.sig.n_full and entry.ts >= self._newest - self._window:
            self._index.add(entry)
        return entry.story_id

    def _known(self, article_id: str) -> str | None:
        entry = self._index.get(article_id)
        if entry is not None:
            return entry.story_id
        for pending in self._pending:
            if pending.article_id == article_id:
                return pending.story_id
        return self._state.lookup(article_id) if self._state else None

    def _match(self, new: Entry) -> Entry:
        matches = [
            e for e in self._index.candidates(new.sig)
            if abs(e.ts - new.ts) <= self._window and same_story(new.sig, e.sig, self.config)
        ]
        if not matches:
            return new
        first = min(matches, key=lambda e: (e.ts, e.article_id))
        return Entry(new.article_id, first.story_id, new.ts, new.sig)

    def commit(self) -> None:
        """Persist the assignments made since the last commit and prune, in one transaction."""
        if self._state is not None and self._pending:
            self._state.save(self._pending, *self._horizons())
        self._pending = []

    def _horizons(self) -> tuple[float, float]:
        """Signatures before the first and assignments before the second are dropped."""
        keep = self.config.keep_assignments.total_seconds()
        return self._newest - self._window, self._newest - keep

    def close(self) -> None:
        self.commit()
        if self._state is not None:
            self._state.close()


_SCHEMA = """
CREATE TABLE IF NOT EXISTS story_articles (
    article_id TEXT PRIMARY KEY,
    story_id TEXT NOT NULL,
    ts REAL NOT NULL,
    sig BLOB,
    n_full INTEGER NOT NULL DEFAULT 0,
    n_lead INTEGER NOT NULL DEFAULT 0,
    n_words INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS story_articles_ts ON story_articles (ts);
"""


class SqliteStoryState:
    """Signatures and assignments in one SQLite table (WAL); ``sig`` is NULL once pruned."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        if self._db.execute("PRAGMA user_version").fetchone()[0] != SIGNATURE_VERSION:
            self._db.execute("UPDATE story_articles SET sig = NULL")  # other hashing: unusable
            self._db.execute(f"PRAGMA user_version = {SIGNATURE_VERSION}")

    def load(self, window: float, limit: int) -> list[Entry]:
        rows = self._db.execute(
            "SELECT article_id, story_id, ts, sig, n_full, n_lead, n_words FROM story_articles"
            " WHERE sig IS NOT NULL AND ts >= (SELECT MAX(ts) FROM story_articles) - ?"
            " ORDER BY ts DESC LIMIT ?",
            (window, limit),
        ).fetchall()
        return [
            Entry(aid, sid, ts, Signature.from_bytes(blob, n_full, n_lead, n_words))
            for aid, sid, ts, blob, n_full, n_lead, n_words in reversed(rows)
        ]

    def lookup(self, article_id: str) -> str | None:
        row = self._db.execute(
            "SELECT story_id FROM story_articles WHERE article_id = ?", (article_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def save(self, entries: Sequence[Entry], sigs_before: float, rows_before: float) -> None:
        rows = [
            (e.article_id, e.story_id, e.ts, e.sig.to_bytes() if e.sig.n_full else None,
             e.sig.n_full, e.sig.n_lead, e.sig.n_words)
            for e in entries
        ]
        with self._transaction():
            self._db.executemany(
                "INSERT OR IGNORE INTO story_articles VALUES (?, ?, ?, ?, ?, ?, ?)", rows
            )
            self._db.execute(
                "UPDATE story_articles SET sig = NULL WHERE ts < ? AND sig IS NOT NULL",
                (sigs_before,),
            )
            self._db.execute("DELETE FROM story_articles WHERE ts < ?", (rows_before,))

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()
