"""The story store: story identity held where every processor sees it.

Two kinds of record, both keyed so that the engine itself decides races:

- **band claims**: ``key`` (an LSH band key of an article's MinHash signature, as text) →
  the first article that claimed it. A claim is *create-if-absent* (Elasticsearch
  ``op_type=create``, SQLite ``INSERT OR IGNORE``): the first writer wins, later writers learn
  the winner. Real-time: no refresh needed to see a claim.
- **story records**: ``article_id`` → its story id, event time, signature and, where known,
  embedding, language and entities, and ``settled`` (its story will not change any more).
  Written (created) before the article's bands are claimed, so a band's winner always has a
  record; updated by the processor that owns the article while it settles.

The clustering protocol built on these lives in :mod:`process.story`; this module holds the
records, the port and the in-memory twin. Adapters: :mod:`newsmon.adapters.sqlite_stories`
(the embedded default, in the SQLite store's file) and :mod:`newsmon.adapters.es_stories`.
A store that cannot be reached raises :class:`~newsmon.errors.TransientError`: the processor
backs off and retries the batch, it never falls back to a story id of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True, eq=False)
class StoryRecord:
    article_id: str
    story_id: str
    ts: float  # event time, seconds since the epoch
    sig: bytes = b""  # the MinHash signature (full + lead, uint32), empty if too short
    n_full: int = 0
    n_lead: int = 0
    n_words: int = 0
    vec: F32 | None = None  # unit embedding of title + lead (float32)
    lang: str = ""
    ents: frozenset[str] = frozenset()
    settled: bool = False


class StoryStore(Protocol):
    def ensure_schema(self) -> None: ...

    def records(self, article_ids: Iterable[str]) -> dict[str, StoryRecord]:
        """The records of those ids that have one (real-time)."""
        ...

    def create_records(self, records: Sequence[StoryRecord]) -> set[str]:
        """Create each record unless its article has one; returns the ids created."""
        ...

    def update_records(self, records: Sequence[StoryRecord]) -> None:
        """Overwrite the records (story, settled, embedding, entities)."""
        ...

    def claim_bands(self, claims: Mapping[str, str]) -> dict[str, str]:
        """Claim each band key for an article (create-if-absent); returns the winner of every
        key: the claimant where it was first, the earlier claimant otherwise."""
        ...

    def band_owners(self, keys: Iterable[str]) -> dict[str, str]:
        """The article that claimed each key, for the keys claimed (real-time)."""
        ...

    def nearest(
        self, vec: F32, since: float, until: float, lang: str, k: int
    ) -> list[tuple[StoryRecord, float]]:
        """The ``k`` records with an embedding, in a language other than ``lang``, with event
        time in [since, until], most similar (cosine) first."""
        ...

    def prune(self, bands_before: float, records_before: float) -> None:
        """Forget band claims of articles older than ``bands_before`` and records older than
        ``records_before`` (event time)."""
        ...

    def close(self) -> None: ...


@dataclass
class MemoryStories:
    """The in-memory twin (tests; thread-safe: several processors in one test process)."""

    _records: dict[str, StoryRecord] = field(default_factory=dict)
    _bands: dict[str, tuple[str, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def ensure_schema(self) -> None:
        pass

    def records(self, article_ids: Iterable[str]) -> dict[str, StoryRecord]:
        with self._lock:
            return {a: r for a in article_ids if (r := self._records.get(a)) is not None}

    def create_records(self, records: Sequence[StoryRecord]) -> set[str]:
        created = set()
        with self._lock:
            for r in records:
                if r.article_id not in self._records:
                    self._records[r.article_id] = r
                    created.add(r.article_id)
        return created

    def update_records(self, records: Sequence[StoryRecord]) -> None:
        with self._lock:
            for r in records:
                self._records[r.article_id] = r

    def claim_bands(self, claims: Mapping[str, str]) -> dict[str, str]:
        with self._lock:
            out = {}
            for key, article_id in claims.items():
                if key not in self._bands:
                    rec = self._records.get(article_id)
                    self._bands[key] = (article_id, rec.ts if rec else 0.0)
                out[key] = self._bands[key][0]
            return out

    def band_owners(self, keys: Iterable[str]) -> dict[str, str]:
        with self._lock:
            return {k: v[0] for k in keys if (v := self._bands.get(k)) is not None}

    def nearest(
        self, vec: F32, since: float, until: float, lang: str, k: int
    ) -> list[tuple[StoryRecord, float]]:
        with self._lock:
            found = [
                (r, float(r.vec @ vec))
                for r in self._records.values()
                if r.vec is not None and r.lang and r.lang != lang and since <= r.ts <= until
            ]
        return sorted(found, key=lambda p: -p[1])[:k]

    def prune(self, bands_before: float, records_before: float) -> None:
        with self._lock:
            self._bands = {k: v for k, v in self._bands.items() if v[1] >= bands_before}
            self._records = {a: r for a, r in self._records.items() if r.ts >= records_before}

    def close(self) -> None:
        pass


def with_story(record: StoryRecord, story_id: str, settled: bool = True) -> StoryRecord:
    return replace(record, story_id=story_id, settled=settled)
