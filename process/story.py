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

Across languages MinHash sees nothing (another script, other words). Once an article is tagged,
:meth:`StoryClusterer.link_batch` gives one that founded its own story the story of the most
alike article *in another language* within ``semantic_window``: alike by the cosine of their
title-and-lead embeddings (:mod:`process.semantic`, the multilingual model the topic layer
uses) plus ``entity_weight`` × the Jaccard overlap of their principal actors and places
(canonical names: the same in every language), at least ``semantic_threshold``. The English
and the Russian report of the same meeting share a story. Within one language this is never
used: two reports of the same talks a day apart are alike in meaning and names but are
different stories, which only the wording tells apart. Measured on labelled English /
Russian-Ukrainian pairs in docs/quality.md; the bar is set for precision, since a wrong link
merges two stories and their alerts.

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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt

from newsmon.schema import RawArticle, Tags

U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]
F32 = npt.NDArray[np.float32]

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
    max_entries: int = 30_000  # about 6 kB each in memory (+1.5 kB with an embedding)
    keep_assignments: timedelta = timedelta(days=30)
    semantic_threshold: float = 0.9  # cosine + entity_weight x entity Jaccard, across languages
    entity_weight: float = 0.3
    semantic_window: timedelta = timedelta(hours=72)
    semantic_candidates: int = 20  # nearest by cosine whose entities are compared


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


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _unit(vec: F32 | None) -> F32 | None:
    """``vec`` as float32 of length 1; None for none or a zero vector (an empty text)."""
    if vec is None:
        return None
    v = np.asarray(vec, dtype=np.float32)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else None


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


def story_entities(tags: Tags) -> set[str]:
    """What :meth:`StoryClusterer.link_batch` compares across languages: the principal actors
    and the places (canonical names, the same in every language)."""
    return {a.name for a in tags.actors if a.salience >= 0.5} | {p.name for p in tags.places}


def event_time(article: RawArticle) -> datetime:
    """When the article happened: ``published``, but never after it was fetched."""
    return min(article.published or article.fetched, article.fetched)


@dataclass(frozen=True, eq=False)
class Entry:
    article_id: str
    story_id: str
    ts: float  # event time, seconds since the epoch
    sig: Signature
    vec: F32 | None = None  # unit embedding of title + lead, if the article has one
    lang: str = ""
    ents: frozenset[str] = frozenset()  # principal actors and places, once tagged

    @property
    def indexable(self) -> bool:
        """Whether anything can ever match it."""
        return self.sig.n_full >= MIN_SHINGLES or self.vec is not None


class VectorIndex:
    """The entries' embeddings in one growing matrix (a free slot list reuses rows), so that
    the nearest neighbour of a new article is one matrix-vector product."""

    def __init__(self, dim: int = 384) -> None:
        self._vecs = np.zeros((64, dim), dtype=np.float32)
        self._ts = np.full(64, np.nan)
        self._ids: list[str | None] = [None] * 64
        self._langs: list[str] = [""] * 64
        self._slot: dict[str, int] = {}
        self._free = list(range(63, -1, -1))

    def __len__(self) -> int:
        return len(self._slot)

    def add(self, entry: Entry) -> None:
        if entry.vec is None or entry.article_id in self._slot:
            return
        if not self._free:
            self._grow()
        i = self._free.pop()
        self._vecs[i], self._ts[i] = entry.vec, entry.ts
        self._ids[i], self._langs[i] = entry.article_id, entry.lang
        self._slot[entry.article_id] = i

    def remove(self, article_id: str) -> None:
        i = self._slot.pop(article_id, None)
        if i is not None:
            self._ts[i], self._ids[i] = np.nan, None
            self._free.append(i)

    def nearest(
        self, vec: F32, ts: float, window: float, lang: str, n: int
    ) -> list[tuple[str, float]]:
        """The ``n`` most similar entries in another language within ``window`` seconds of
        ``ts``, with their cosines, most similar first."""
        if not self._slot:
            return []
        sims = self._vecs @ vec
        ok = np.abs(self._ts - ts) <= window  # NaN (free slot) compares False
        ok &= np.array([bool(other) and other != lang for other in self._langs])
        if not ok.any():
            return []
        sims = np.where(ok, sims, -2.0)
        top = np.argsort(-sims)[: min(n, int(ok.sum()))]
        return [(aid, float(sims[i])) for i in top.tolist() if (aid := self._ids[i]) is not None]

    def _grow(self) -> None:
        n = len(self._ids)
        self._vecs = np.vstack([self._vecs, np.zeros_like(self._vecs)])
        self._ts = np.concatenate([self._ts, np.full(n, np.nan)])
        self._ids += [None] * n
        self._langs += [""] * n
        self._free = list(range(2 * n - 1, n - 1, -1))


class StoryIndex:
    """In-memory LSH index of the entries within the window, evicting the oldest."""

    def __init__(self, max_entries: int) -> None:
        self._max = max_entries
        self._entries: dict[str, Entry] = {}
        self._buckets: dict[int, str | list[str]] = {}  # most buckets hold one article
        self._by_time: list[tuple[float, str]] = []
        self.vectors = VectorIndex()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, article_id: str) -> Entry | None:
        return self._entries.get(article_id)

    def add(self, entry: Entry) -> None:
        if entry.article_id in self._entries:
            return
        self._entries[entry.article_id] = entry
        self.vectors.add(entry)
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

    def nearest(self, new: Entry, window: float, n: int) -> list[tuple[Entry, float]]:
        """The entries most similar in meaning in another language (:class:`VectorIndex`)."""
        if new.vec is None:
            return []
        found = self.vectors.nearest(new.vec, new.ts, window, new.lang, n)
        return [(self._entries[aid], cos) for aid, cos in found]

    def replace(self, entry: Entry) -> None:
        """Swap the stored entry of ``entry.article_id`` (a new story id, its entities, its
        embedding)."""
        if entry.article_id in self._entries:
            self._entries[entry.article_id] = entry
            self.vectors.remove(entry.article_id)
            self.vectors.add(entry)

    def _remove(self, article_id: str) -> None:
        entry = self._entries.pop(article_id)
        self.vectors.remove(article_id)
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
        self._fresh: dict[str, Entry] = {}  # assigned since the last commit
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

    def assign_batch(
        self,
        articles: Sequence[RawArticle],
        vectors: Sequence[F32 | None] | None = None,
        langs: Sequence[str] | None = None,
        *,
        commit: bool = True,
    ) -> list[str]:
        """Story ids for ``articles`` in order (by their words); the state is saved before
        this returns unless ``commit=False`` (then :meth:`link_batch` or :meth:`commit`
        saves it). ``vectors``/``langs``: each article's embedding and language, if known."""
        vecs = vectors if vectors is not None else [None] * len(articles)
        lng = langs if langs is not None else [""] * len(articles)
        ids = [
            self.assign(a.article_id, a.title, a.text, event_time(a), v, lang)
            for a, v, lang in zip(articles, vecs, lng, strict=True)
        ]
        if commit:
            self.commit()
        return ids

    def link_batch(
        self,
        article_ids: Sequence[str],
        entities: Sequence[Iterable[str]],
        vectors: Sequence[F32 | None] | None = None,
    ) -> list[str]:
        """After tagging: record each article's entities (and embedding, if not given to
        :meth:`assign`) and give an article that founded its story in this batch the story of
        the most alike article in another language (see the module docstring); returns the
        story ids in order and saves the state."""
        cfg = self.config
        window = cfg.semantic_window.total_seconds()
        moved: dict[str, str] = {}
        vecs = vectors if vectors is not None else [None] * len(article_ids)
        for aid, ents, vec in zip(article_ids, entities, vecs, strict=True):
            entry = self._index.get(aid) or self._fresh.get(aid)
            if entry is None:
                continue
            if vec is not None and entry.vec is None and aid in self._fresh:
                entry = replace(entry, vec=_unit(vec))
                if not self._index.get(aid) and entry.ts >= self._newest - self._window:
                    self._index.add(entry)
            entry = replace(entry, ents=frozenset(ents))
            founded = entry.story_id == aid and aid in self._fresh  # here, not redelivered
            if founded and entry.vec is not None and entry.ents:
                best = max(
                    ((cos + cfg.entity_weight * _jaccard(entry.ents, old.ents), old)
                     for old, cos in self._index.nearest(entry, window, cfg.semantic_candidates)
                     if old.article_id != aid and old.story_id not in moved),
                    key=lambda pair: pair[0],
                    default=None,
                )
                if best is not None and best[0] >= cfg.semantic_threshold:
                    moved[aid] = best[1].story_id
            self._update(entry)
        if moved:  # members that joined a moved founder by their words follow it
            for e in list(self._fresh.values()):
                if e.story_id in moved:
                    self._update(replace(e, story_id=moved[e.story_id]))
        ids = [e.story_id if (e := self._fresh.get(a)) else self._known(a) or a
               for a in article_ids]
        self.commit()
        return ids

    def _update(self, entry: Entry) -> None:
        self._index.replace(entry)
        if entry.article_id in self._fresh:
            self._fresh[entry.article_id] = entry
        self._pending = [entry if p.article_id == entry.article_id else p for p in self._pending]

    def assign(
        self,
        article_id: str,
        title: str,
        text: str,
        when: datetime,
        vec: F32 | None = None,
        lang: str = "",
    ) -> str:
        known = self._known(article_id)
        if known is not None:
            return known
        vec = _unit(vec)
        new = Entry(article_id, article_id, when.timestamp(), signature(title, text), vec, lang)
        entry = self._match(new)
        self._fresh[article_id] = entry
        if self._state is not None:
            self._pending.append(entry)
        self._newest = max(self._newest, entry.ts)
        self._index.evict_before(self._newest - self._window)
        if entry.indexable and entry.ts >= self._newest - self._window:
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
                return replace(new, story_id=old.story_id)
        return new

    def commit(self) -> None:
        """Persist the assignments made since the last commit and prune, in one transaction."""
        if self._state is not None and self._pending:
            self._state.save(self._pending, *self._horizons())
        self._pending = []
        self._fresh = {}

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
    n_full INTEGER NOT NULL, n_lead INTEGER NOT NULL, n_words INTEGER NOT NULL,
    vec BLOB, lang TEXT NOT NULL DEFAULT '', ents TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS story_articles_ts ON story_articles (ts);
"""


def _sig_blob(entry: Entry) -> bytes | None:
    """The stored signature; an article matchable only by its embedding keeps one too, so
    that it is loaded again (the loader reads rows that still have a signature)."""
    blob = entry.sig.to_bytes()
    if blob is None and entry.vec is not None:
        blob = entry.sig.full.tobytes() + entry.sig.lead.tobytes()
    return blob


class SqliteStoryState:
    """Signatures and assignments in one SQLite table (WAL); ``sig`` is NULL once pruned."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(story_articles)")}
        for column, kind in (("vec", "BLOB"), ("lang", "TEXT NOT NULL DEFAULT ''"),
                             ("ents", "TEXT NOT NULL DEFAULT ''")):
            if column not in columns:  # a state file of a version before this column
                self._db.execute(f"ALTER TABLE story_articles ADD COLUMN {column} {kind}")
        if self._db.execute("PRAGMA user_version").fetchone()[0] != SIGNATURE_VERSION:
            self._db.execute("UPDATE story_articles SET sig = NULL")  # other hashing: unusable
            self._db.execute(f"PRAGMA user_version = {SIGNATURE_VERSION}")

    def load(self, window: float, limit: int) -> list[Entry]:
        rows = self._db.execute(
            "SELECT article_id, story_id, ts, sig, n_full, n_lead, n_words, vec, lang, ents"
            " FROM story_articles"
            " WHERE sig IS NOT NULL AND ts >= (SELECT MAX(ts) FROM story_articles) - ?"
            " ORDER BY ts DESC LIMIT ?",
            (window, limit),
        ).fetchall()
        return [
            Entry(aid, sid, ts, Signature.from_bytes(blob, n_full, n_lead, n_words),
                  _unit(np.frombuffer(vec, dtype=np.float16).astype(np.float32)) if vec else None,
                  lang, frozenset(ents.split("\t")) if ents else frozenset())
            for aid, sid, ts, blob, n_full, n_lead, n_words, vec, lang, ents in reversed(rows)
        ]

    def lookup(self, article_id: str) -> str | None:
        row = self._db.execute(
            "SELECT story_id FROM story_articles WHERE article_id = ?", (article_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def save(self, entries: Sequence[Entry], sigs_before: float, rows_before: float) -> None:
        rows = [
            (e.article_id, e.story_id, e.ts, _sig_blob(e), e.sig.n_full, e.sig.n_lead,
             e.sig.n_words, e.vec.astype(np.float16).tobytes() if e.vec is not None else None,
             e.lang, "\t".join(sorted(e.ents)))
            for e in entries
        ]
        with self._db:  # one transaction: commits, or rolls back on an exception
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT OR IGNORE INTO story_articles (article_id, story_id, ts, sig, n_full,"
                " n_lead, n_words, vec, lang, ents) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            self._db.execute(
                "UPDATE story_articles SET sig = NULL, vec = NULL WHERE ts < ? AND sig IS NOT NULL",
                (sigs_before,),
            )
            self._db.execute("DELETE FROM story_articles WHERE ts < ?", (rows_before,))

    def close(self) -> None:
        self._db.close()
