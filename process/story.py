"""Story clustering: near-duplicates (wire copies re-headlined, trimmed, lightly edited) share
a ``story_id``.

Each article gets two MinHash signatures over 4-word shingles of normalised words (NFKC, lower
case, ``\\w+``, a leading wire dateline such as ``LONDON (Reuters) -`` dropped): ``full`` over
title and text, ``lead`` over the first :data:`LEAD_WORDS` words of the text. LSH banding on
both finds candidates; a candidate is the same story when the estimated Jaccard similarity of
the full signatures is ≥ ``threshold`` (another headline, boilerplate, small edits), or when the
shorter article is contained in the longer one (estimated from Jaccard and the set sizes): by
≥ ``containment`` over the full text, or by ≥ ``lead_containment`` over the lead if the shorter
is itself a summary (≤ :data:`SUMMARY_WORDS` words) or is half contained in the full text
(copies cut to their first paragraphs or to an RSS description).

An article joins the story of its earliest matching article; otherwise it founds a story whose
id is its own ``article_id``, so a replay in the same order gives the same ids. Assignments are
remembered: a redelivered ``article_id`` keeps its story. Only articles within ``window`` of
each other (event time: ``published``, never after ``fetched``) are compared; signatures older
than the newest event time minus ``window`` are evicted, at most ``max_entries`` kept.

:meth:`StoryClusterer.open` keeps signatures and assignments in SQLite (WAL), written in one
transaction per batch, loaded on start; assignments outlive signatures (``keep_assignments``).

Limitation: the state is per processor instance. The raw topic is keyed by ``article_id``, so
with several ``newsmon process`` instances the copies of a story land on instances that cannot
see each other's articles, and each founds its own story. Clustering across instances needs a
shared store for the LSH buckets or one story-assigning instance (keying the raw topic by a
content hash would bring only exact copies together); with one instance (the embedded default,
small deployments) clustering is complete.
"""

from __future__ import annotations

import hashlib
import heapq
import re
import sqlite3
import unicodedata
import zlib
from collections.abc import Iterator, Sequence
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
FULL_BANDS = 32  # x 4 rows: a candidate with p ≈ 0.87 at Jaccard 0.5, 0.99 at 0.6, 0.23 at 0.3
LEAD_BANDS = 32  # x 2 rows: p ≈ 0.9 at Jaccard 0.3, the lead of a 20-word summary
LEAD_WORDS = 40
SUMMARY_WORDS = 3 * LEAD_WORDS  # a text this short may be a summary/teaser of a longer one
MAX_WORDS = 5_000  # of the text: bounds the work and memory for one huge page
MIN_SHINGLES = 5  # fewer (a short title alone) never matches anything
SIGNATURE_VERSION = 1  # bump when anything above or the hashing changes: stored ones are dropped

_WORD = re.compile(r"\w+")
_DATELINE = re.compile(
    r"^\s*(?:[A-Z][\w.,'’ /-]{0,60}?\s*)?\((?:Reuters|AP|AFP|dpa|UPI|Bloomberg|Xinhua|"
    r"TASS|Interfax|CNN|ANSA|EFE)\)\s*[-–—:]*\s*"
)


def _constants(label: str, count: int, odd: int = 0) -> U64:
    """Fixed pseudo-random 64-bit constants (from SHA-256: the same on every machine)."""
    digests = (hashlib.sha256(f"newsmon:{label}:{i}".encode()).digest() for i in range(count))
    return np.array([int.from_bytes(d[:8], "little") | odd for d in digests], dtype=np.uint64)


_MIX = _constants("shingle", SHINGLE)
_A, _B = _constants("a", PERMUTATIONS, odd=1), _constants("b", PERMUTATIONS)
_BAND_MIX = _constants("band", 4)
_BAND_SALT = _constants("band-salt", FULL_BANDS + LEAD_BANDS)


@dataclass(frozen=True)
class ClusterConfig:
    window: timedelta = timedelta(hours=72)
    threshold: float = 0.5
    containment: float = 0.7
    lead_containment: float = 0.7
    max_entries: int = 30_000  # about 6 kB each in memory
    keep_assignments: timedelta = timedelta(days=30)


@dataclass(frozen=True, eq=False)
class Signature:
    full: U32
    lead: U32
    n_full: int  # distinct shingles
    n_lead: int
    n_words: int  # words of the text

    def to_bytes(self) -> bytes | None:
        """What is stored; nothing for a signature too short to ever match."""
        return self.full.tobytes() + self.lead.tobytes() if self.n_full >= MIN_SHINGLES else None

    @classmethod
    def from_bytes(cls, blob: bytes, n_full: int, n_lead: int, n_words: int) -> Signature:
        sig = np.frombuffer(blob, dtype=np.uint32)
        return cls(sig[:PERMUTATIONS], sig[PERMUTATIONS:], n_full, n_lead, n_words)


def words(text: str) -> list[str]:
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return _WORD.findall(text.lower())


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
    """The minimum of each hash ``(a * x + b) >> 32`` (x: the shingle hash folded to 32 bits)."""
    if not len(shingles):
        return np.full(permutations, 0xFFFFFFFF, dtype=np.uint32)
    x = (shingles ^ (shingles >> np.uint64(32))) & np.uint64(0xFFFFFFFF)
    mixed = np.multiply.outer(x, _A[:permutations])
    mixed += _B[:permutations]  # in place: a third of the time of fresh arrays
    mixed >>= np.uint64(32)
    sig: U32 = mixed.min(axis=0).astype(np.uint32)
    return sig


def signature(title: str, text: str) -> Signature:
    body = words(_DATELINE.sub("", text, count=1))[:MAX_WORDS]
    full = np.union1d(_shingles(words(title)), _shingles(body))
    lead = _shingles(body[:LEAD_WORDS])
    sigs = _minhash(full, PERMUTATIONS), _minhash(lead, LEAD_PERMUTATIONS)
    return Signature(*sigs, len(full), len(lead), len(body))


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
    """Distinct LSH bucket keys, one per band of each signature that could match anything: an
    article too short to match is never a candidate."""
    keys: list[U64] = []
    if sig.n_full >= MIN_SHINGLES:
        keys.append(_bands(sig.full, _BAND_SALT[:FULL_BANDS]))
    if sig.n_lead >= 2 * MIN_SHINGLES:
        keys.append(_bands(sig.lead, _BAND_SALT[FULL_BANDS:]))
    return list({int(k) for part in keys for k in part})


def _bands(sig: U32, salt: U64) -> U64:
    rows = sig.reshape(len(salt), -1).astype(np.uint64)
    keys: U64 = (rows * _BAND_MIX[: rows.shape[1]]).sum(axis=1) ^ salt
    return keys


def event_time(article: RawArticle) -> datetime:
    """When the article happened: ``published``, but never after it was fetched."""
    return min(article.published or article.fetched, article.fetched)


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
        self._buckets: dict[int, str | list[str]] = {}  # most buckets hold one article
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
            held = self._buckets.setdefault(key, entry.article_id)
            if isinstance(held, list):
                held.append(entry.article_id)
            elif held != entry.article_id:
                self._buckets[key] = [held, entry.article_id]
        heapq.heappush(self._by_time, (entry.ts, entry.article_id))
        while len(self._entries) > self._max:
            self._remove(heapq.heappop(self._by_time)[1])

    def candidates(self, sig: Signature) -> Iterator[Entry]:
        seen: set[str] = set()
        for key in band_keys(sig):
            held = self._buckets.get(key, ())
            for aid in [held] if isinstance(held, str) else held:
                if aid not in seen:
                    seen.add(aid)
                    yield self._entries[aid]

    def evict_before(self, ts: float) -> None:
        while self._by_time and self._by_time[0][0] < ts:
            self._remove(heapq.heappop(self._by_time)[1])

    def _remove(self, article_id: str) -> None:
        entry = self._entries.pop(article_id)
        for key in band_keys(entry.sig):
            held = self._buckets[key]
            if isinstance(held, str):
                del self._buckets[key]
            else:
                held.remove(article_id)
                if len(held) == 1:
                    self._buckets[key] = held[0]


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
        if self._state is not None:
            self._pending.append(entry)
        self._newest = max(self._newest, entry.ts)
        self._index.evict_before(self._newest - self._window)
        if entry.sig.n_full >= MIN_SHINGLES and entry.ts >= self._newest - self._window:
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
        """``new`` with the story of the earliest matching article within the window."""
        near = [e for e in self._index.candidates(new.sig) if abs(e.ts - new.ts) <= self._window]
        for old in sorted(near, key=lambda e: (e.ts, e.article_id)):
            if same_story(new.sig, old.sig, self.config):
                return Entry(new.article_id, old.story_id, new.ts, new.sig)
        return new

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
    article_id TEXT PRIMARY KEY, story_id TEXT NOT NULL, ts REAL NOT NULL, sig BLOB,
    n_full INTEGER NOT NULL, n_lead INTEGER NOT NULL, n_words INTEGER NOT NULL);
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
            (e.article_id, e.story_id, e.ts, e.sig.to_bytes(), e.sig.n_full, e.sig.n_lead,
             e.sig.n_words)
            for e in entries
        ]
        with self._db:  # one transaction: commits, or rolls back on an exception
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT OR IGNORE INTO story_articles VALUES (?, ?, ?, ?, ?, ?, ?)", rows
            )
            self._db.execute(
                "UPDATE story_articles SET sig = NULL WHERE ts < ? AND sig IS NOT NULL",
                (sigs_before,),
            )
            self._db.execute("DELETE FROM story_articles WHERE ts < ?", (rows_before,))

    def close(self) -> None:
        self._db.close()
