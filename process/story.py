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
each other (event time: ``published``, never after ``fetched``) are compared.

**The truth is the story store** (:mod:`newsmon.stories`: the same SQLite file as the
articles in the embedded default, ``news-story-*`` indices in Elasticsearch with services),
shared by every processor, so copies of a story that land on different partitions and
processors get one story id, and a restart or a rebalance changes nothing. Per batch: read the
band claims of the new articles' LSH keys (real-time) and the records of their claimants;
join the earliest verified match (or an earlier article of the same batch); create the
records; claim the bands (create-if-absent: the first writer wins). **Two near-duplicates
processed at the same moment on two processors** both find nothing and found two stories;
their claims then collide. The rule, for a founder that lost a band to a verified
near-duplicate (a *rival*): if some rival has settled, joined another article's story, or
never lost a band to this founder (it saw no race and keeps its story), the founder takes the
final story of the earliest such rival (waiting for it to settle); if every rival lost a band
to it as well (each sees the other), both take the story of the earlier (event time, then id)
of the two. Both sides reach the same answer whichever claimed which band; a wait is bounded
by ``settle_timeout``. Each record says when it is ``settled``; a joiner of an unsettled
founder waits for it to settle. All waits of one batch end together, ``settle_timeout`` after
it starts. **A processor that dies** between creating its records and settling them (perhaps
before claiming their bands) leaves them unsettled: the processor the articles are redelivered
to waits up to ``orphan_timeout`` for them and then runs the protocol for them again (the other
articles of its batch see their stored records), joining whatever their near-duplicates
founded meanwhile. A processor that finds another one created an article's record first never
decides, settles or writes that record: it waits for the other's decision. What can still split
a story: a joiner whose founder's processor died takes the founder's unsettled story when its
wait ends, and the founder's redelivery may then join a rival that raced it (two founders
racing *and* a kill within seconds); three or more founders racing at once where one pair's
view differs from a third's; a processor stalled for longer than ``orphan_timeout`` in the
middle of a batch while its articles are redelivered (story records are written without
compare-and-set); and a cross-lingual link made after a near-duplicate in the first language
joined the founder on another processor within the seconds of tagging.
Band claims are pruned after ``window``, records after ``keep_assignments``.
"""

from __future__ import annotations

import hashlib
import re
import time
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt

from newsmon.schema import RawArticle, Tags
from newsmon.stories import MemoryStories, StoryRecord, StoryStore, with_story

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
    keep_assignments: timedelta = timedelta(days=30)
    semantic_threshold: float = 0.9  # cosine + entity_weight x entity Jaccard, across languages
    entity_weight: float = 0.3
    semantic_window: timedelta = timedelta(hours=72)
    semantic_candidates: int = 20  # nearest by cosine whose entities are compared
    settle_timeout: timedelta = timedelta(seconds=5)  # waits for other processors, per batch
    #: a redelivered article's record still unsettled after this long is taken over: its
    #: processor died (Kafka moves a dead member's partitions only after its 10 s session
    #: timeout; a live processor settles its records within its batch)
    orphan_timeout: timedelta = timedelta(seconds=20)
    prune_every: timedelta = timedelta(minutes=10)  # event time between prunes of the store


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


def story_band_keys(sig: Signature) -> list[str]:
    """The band keys as the story store holds them: text, with the signature version (keys
    of signatures hashed otherwise never meet)."""
    return [f"v{SIGNATURE_VERSION}-{k:x}" for k in band_keys(sig)]


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


class StoryClusterer:
    """Assigns story ids with a :class:`~newsmon.stories.StoryStore` as the truth (see the
    module docstring). One instance per processor; any number of processors may share the
    store. Not thread-safe (one consume loop)."""

    def __init__(
        self,
        config: ClusterConfig | None = None,
        store: StoryStore | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Without ``store`` the stories live in memory (one process: tests)."""
        self.config = config or ClusterConfig()
        self.store: StoryStore = store if store is not None else MemoryStories()
        self._window = self.config.window.total_seconds()
        self._sleep = sleep
        self._fresh: dict[str, StoryRecord] = {}  # assigned in this batch, not yet linked
        self._decided: dict[str, str] = {}  # this batch's articles another processor decided
        self._pending: set[str] = set()  # records created here and not yet settled (a retry)
        self._deadline = 0.0  # the end of this batch's waits for other processors
        self._newest = float("-inf")
        self._pruned = float("-inf")
        self.indexed = 0  # articles this clusterer assigned that can be matched (have bands)

    @classmethod
    def open(cls, path: Path, config: ClusterConfig | None = None) -> StoryClusterer:
        """A clusterer whose stories live in the SQLite file ``path`` (created if missing)."""
        from newsmon.adapters.sqlite_stories import SqliteStories

        return cls(config, SqliteStories(path))

    def __len__(self) -> int:
        return self.indexed

    def assign_batch(
        self,
        articles: Sequence[RawArticle],
        vectors: Sequence[F32 | None] | None = None,
        langs: Sequence[str] | None = None,
        *,
        commit: bool = True,
    ) -> list[str]:
        """Story ids for ``articles`` in order, by their words; recorded in the store before
        this returns. ``vectors``/``langs``: each article's embedding and language, where
        known (for :meth:`link_batch`). ``commit=False``: :meth:`link_batch` follows."""
        vecs = vectors if vectors is not None else [None] * len(articles)
        lng = langs if langs is not None else [""] * len(articles)
        known = self.store.records(a.article_id for a in articles)
        orphans = self._orphans(known)
        self._deadline = time.monotonic() + self.config.settle_timeout.total_seconds()
        new: dict[str, tuple[StoryRecord, Signature, list[str]]] = {}
        for a, vec, lang in zip(articles, vecs, lng, strict=True):
            if (a.article_id in known and a.article_id not in orphans) or a.article_id in new:
                continue
            sig = signature(a.title, a.text)
            rec = StoryRecord(
                a.article_id, a.article_id, event_time(a).timestamp(),
                sig.to_bytes() or b"", sig.n_full, sig.n_lead, sig.n_words, _unit(vec), lang,
            )
            new[a.article_id] = (rec, sig, story_band_keys(sig))
        if new:
            self._assign_new(new, orphans)
        self._newest = max([self._newest, *(r.ts for r, _, _ in new.values())])
        self._maybe_prune()
        self.indexed += sum(1 for aid, (_, _, keys) in new.items() if keys and aid not in orphans)
        ids = [
            rec.story_id
            if (rec := self._fresh.get(a.article_id)) is not None
            else self._decided.get(a.article_id)
            or (known.get(a.article_id) or _missing(a)).story_id
            for a in articles
        ]
        if commit:
            self.commit()
        return ids

    def _orphans(self, known: dict[str, StoryRecord]) -> set[str]:
        """Redelivered articles whose record never settled: their processor is still at it
        (wait for it, up to ``orphan_timeout``) or died between creating the record and
        settling it, perhaps before claiming its bands — then this processor runs the protocol
        for them again (their stored story id is no decision). Records this clusterer created
        itself in a batch that failed half-way are taken over at once. ``known`` is
        refreshed."""
        unsettled = {a for a, r in known.items() if not r.settled}
        own = unsettled & self._pending
        waiting = unsettled - own
        deadline = time.monotonic() + self.config.orphan_timeout.total_seconds()
        while waiting and time.monotonic() < deadline:
            self._sleep(0.05)
            fresh = self.store.records(waiting)
            known.update(fresh)
            waiting = {a for a in waiting if not (a in fresh and fresh[a].settled)}
        return waiting | own

    def _assign_new(
        self,
        new: dict[str, tuple[StoryRecord, Signature, list[str]]],
        orphans: AbstractSet[str] = frozenset(),
    ) -> None:
        """Join the story of the earliest matching article (stored, or earlier in this
        batch); create the records (``orphans`` have one: it is overwritten); claim the
        bands; settle the founders."""
        owners = self.store.band_owners(k for _, _, keys in new.values() for k in keys)
        # an orphan's stored record too: an article before it in the batch may match it
        stored = self.store.records(set(owners.values()) - (set(new) - orphans))
        claimed_here: dict[str, str] = {}  # band key -> first article of this batch with it
        records: dict[str, StoryRecord] = {}
        for aid, (rec, sig, keys) in new.items():
            cands = {owners[k] for k in keys if k in owners} | {
                claimed_here[k] for k in keys if k in claimed_here
            }
            match = self._earliest_match(rec, sig, cands, stored, records)
            if match is not None:
                rec = with_story(rec, match.story_id, settled=match.settled)
            records[aid] = rec
            for k in keys:
                claimed_here.setdefault(k, aid)
        created = self.store.create_records([r for a, r in records.items() if a not in orphans])
        mine = created | (orphans & records.keys())
        self._pending |= created
        if len(mine) < len(records):  # another processor created it first (a redelivery):
            for aid in set(records) - mine:  # its story is that processor's to decide
                self._decided[aid] = self._story_of_id(aid)
            records = {a: r for a, r in records.items() if a in mine}
            claimed_here = {k: a for k, a in claimed_here.items() if a in mine}
        claims = {k: aid for k, aid in claimed_here.items() if k not in owners}
        winners = self.store.claim_bands(claims) if claims else {}
        records = self._settle(records, new, winners, claimed_here, owners)
        self.store.update_records(list(records.values()))
        self._pending -= records.keys()
        self._fresh.update(records)

    def _earliest_match(
        self, rec: StoryRecord, sig: Signature, cands: Iterable[str],
        stored: Mapping[str, StoryRecord], here: Mapping[str, StoryRecord],
    ) -> StoryRecord | None:
        found = [
            c for aid in cands
            if (c := here.get(aid) or stored.get(aid)) is not None and c.sig
            and abs(c.ts - rec.ts) <= self._window and c.article_id != rec.article_id
        ]
        for c in sorted(found, key=lambda c: (c.ts, c.article_id)):
            if same_story(sig, _signature(c), self.config):
                return c
        return None

    def _settle(
        self,
        records: dict[str, StoryRecord],
        new: Mapping[str, tuple[StoryRecord, Signature, list[str]]],
        winners: Mapping[str, str],
        claimed_here: Mapping[str, str],
        owners: Mapping[str, str],
    ) -> dict[str, StoryRecord]:
        """Founders that raced another processor's near-duplicate for a band: both sides
        take the story of the earlier (event time, then id) of the verified winners, so the
        race ends in one story whoever claimed which band. Joiners of an unsettled story wait
        (bounded) for it to settle."""
        rivals: dict[str, set[str]] = {}
        for key, winner in winners.items():
            aid = claimed_here[key]
            if winner != aid:
                rivals.setdefault(aid, set()).add(winner)
        others = self.store.records({w for ws in rivals.values() for w in ws} - set(records))
        order = lambda r: (r.ts, r.article_id)  # noqa: E731
        for aid, ws in rivals.items():
            rec = records[aid]
            if rec.story_id != aid:
                continue  # a joiner: its story came from an earlier article
            sig = new[aid][1]
            won = {k for k in new[aid][2] if winners.get(k, owners.get(k)) == aid}
            follow, mutual = [], []
            for w in ws:
                o = others.get(w)
                if o is None or not o.sig or o.story_id == aid:
                    continue  # no record yet (cannot be) or it joined this very story
                theirs = _signature(o)
                if not same_story(sig, theirs, self.config):
                    continue
                if o.settled or o.story_id != o.article_id or not won & set(
                    story_band_keys(theirs)
                ):
                    follow.append(o)  # decided, a joiner, or it never lost a band to us
                else:
                    mutual.append(o)  # each lost a band to the other: both see the race
            if follow:
                first = min(follow, key=order)
                records[aid] = with_story(rec, self._story_of(first), settled=True)
            elif mutual:
                first = min([*mutual, rec], key=order)
                if first.article_id != aid:
                    records[aid] = with_story(rec, self._story_of(first), settled=True)
        for aid, rec in records.items():
            if not rec.settled:
                if rec.story_id == aid:
                    records[aid] = with_story(rec, aid, settled=True)
                else:  # joined an unsettled founder (of another processor)
                    founder = records.get(rec.story_id)
                    story = founder.story_id if founder else self._story_of_id(rec.story_id)
                    records[aid] = with_story(rec, story, settled=True)
        return records

    def _story_of(self, rec: StoryRecord) -> str:
        return rec.story_id if rec.settled else self._story_of_id(rec.article_id)

    def _story_of_id(self, article_id: str) -> str:
        """The story of ``article_id`` once it has settled: waits until the batch's deadline
        (``settle_timeout`` from its start, for all waits together), then takes what it has
        (its processor may have died; see the module docstring)."""
        deadline = self._deadline
        while True:
            rec = self.store.records([article_id]).get(article_id)
            if rec is None or rec.settled or time.monotonic() >= deadline:
                return rec.story_id if rec is not None else article_id
            self._sleep(0.05)

    def link_batch(
        self,
        article_ids: Sequence[str],
        entities: Sequence[Iterable[str]],
        vectors: Sequence[F32 | None] | None = None,
    ) -> list[str]:
        """After tagging: record each article's entities (and embedding, if not given to
        :meth:`assign_batch`) and give an article that founded its story in this batch the
        story of the most alike article in another language (see the module docstring);
        returns the story ids in order, all recorded in the store."""
        cfg = self.config
        window = cfg.semantic_window.total_seconds()
        moved: dict[str, str] = {}
        vecs = vectors if vectors is not None else [None] * len(article_ids)
        changed: dict[str, StoryRecord] = {}
        for aid, ents, vec in zip(article_ids, entities, vecs, strict=True):
            rec = self._fresh.get(aid)
            if rec is None:
                continue  # redelivered: its story is decided
            if rec.vec is None and vec is not None:
                rec = replace(rec, vec=_unit(vec))
            rec = replace(rec, ents=frozenset(ents))
            if rec.story_id == aid and rec.vec is not None and rec.ents:
                best = max(
                    ((cos + cfg.entity_weight * _jaccard(rec.ents, old.ents), old)
                     for old, cos in self.store.nearest(
                         rec.vec, rec.ts - window, rec.ts + window, rec.lang,
                         cfg.semantic_candidates)
                     if old.article_id != aid and old.story_id not in moved),
                    key=lambda pair: pair[0],
                    default=None,
                )
                if best is not None and best[0] >= cfg.semantic_threshold:
                    moved[aid] = best[1].story_id
                    rec = with_story(rec, best[1].story_id)
            self._fresh[aid] = changed[aid] = rec
        for aid, rec in self._fresh.items():  # joined a moved founder by their words: follow
            if rec.story_id in moved and aid not in moved:
                self._fresh[aid] = changed[aid] = with_story(rec, moved[rec.story_id])
        if changed:
            self.store.update_records(list(changed.values()))
        ids = [
            r.story_id if (r := self._fresh.get(a)) else self._recorded(a) for a in article_ids
        ]
        self.commit()
        return ids

    def assign(
        self, article_id: str, title: str, text: str, when: datetime,
        vec: F32 | None = None, lang: str = "",
    ) -> str:
        """One article (tests and tools); the state is kept as by :meth:`assign_batch`."""
        art = RawArticle(article_id=article_id, url=f"urn:{article_id}", title=title,
                         text=text, published=when, fetched=when)
        (story,) = self.assign_batch([art], [vec], [lang], commit=False)
        return story

    def _recorded(self, article_id: str) -> str:
        rec = self.store.records([article_id]).get(article_id)
        return rec.story_id if rec is not None else article_id

    def commit(self) -> None:
        """End of a batch: the records are in the store already."""
        self._fresh = {}
        self._decided = {}

    def _maybe_prune(self) -> None:
        """Every ``prune_every``: drop band claims older than the window, records older than
        ``keep_assignments`` (a redelivered article older than that founds a story again)."""
        every = self.config.prune_every.total_seconds()
        if self._newest - self._pruned < every or self._newest == float("-inf"):
            return
        self._pruned = self._newest
        keep = self.config.keep_assignments.total_seconds()
        self.store.prune(self._newest - self._window, self._newest - keep)

    def close(self) -> None:
        self.commit()
        self.store.close()


def _signature(rec: StoryRecord) -> Signature:
    return Signature.from_bytes(rec.sig, rec.n_full, rec.n_lead, rec.n_words)


def _missing(article: RawArticle) -> StoryRecord:
    """An article too short to sign that the store lost (never happens but costs nothing)."""
    return StoryRecord(article.article_id, article.article_id, 0.0)
