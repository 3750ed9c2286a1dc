"""The story protocol's hard interleavings, scripted step by step on the in-memory store:
a race one side never sees, and a processor that dies half-way through a batch. Each test
fails on the protocol before these cases were handled (a split group)."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from newsmon.schema import RawArticle
from newsmon.stories import MemoryStories, StoryRecord
from process.story import ClusterConfig, StoryClusterer
from tests.unit.process.test_story import dev_articles, rewire

T0 = datetime(2025, 5, 11, 12, tzinfo=UTC)
FAST = ClusterConfig(settle_timeout=timedelta(seconds=0.3), orphan_timeout=timedelta(seconds=0.3))


class Killed(Exception):
    """kill -9 at that step: the processor does nothing more."""


class Scripted(MemoryStories):
    """The shared store, with a hook before each step, per thread name."""

    def __init__(self) -> None:
        super().__init__()
        self.before: dict[tuple[str, str], Callable[[], object]] = {}

    def _hook(self, step: str) -> None:
        hook = self.before.get((threading.current_thread().name, step))
        if hook is not None:
            hook()

    def band_owners(self, keys: Iterable[str]) -> dict[str, str]:
        out = super().band_owners(keys)
        self._hook("after_owners")
        return out

    def claim_bands(self, claims: Mapping[str, str]) -> dict[str, str]:
        self._hook("claim")
        return super().claim_bands(claims)

    def update_records(self, records: Sequence[StoryRecord]) -> None:
        self._hook("update")
        super().update_records(records)


def _pair() -> tuple[RawArticle, RawArticle]:
    """An article and its wire copy, the copy published ten minutes later."""
    src = dev_articles()[3]
    title, text = rewire(src["title"], src["text"], random.Random(1))

    def art(aid: str, t: str, body: str, minutes: int) -> RawArticle:
        when = T0 + timedelta(minutes=minutes)
        return RawArticle(article_id=aid.ljust(32, "0"), url=f"urn:{aid}", title=t, text=body,
                          published=when, fetched=when)

    return art("a", src["title"], src["text"], 0), art("b", title, text, 10)


def _in_threads(*jobs: tuple[str, Callable[[], None]]) -> None:
    errors: list[BaseException] = []

    def wrap(job: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                job()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        return run

    threads = [threading.Thread(target=wrap(job), name=name) for name, job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors


def _race(store: MemoryStories, early: RawArticle, late: RawArticle) -> dict[str, str]:
    """``early`` on processor P1 and ``late`` on P2 at once: their story ids."""
    got: dict[str, str] = {}

    def process(art: RawArticle) -> Callable[[], None]:
        def run() -> None:
            got[art.article_id] = StoryClusterer(FAST, store).assign_batch([art])[0]

        return run

    _in_threads(("P1", process(early)), ("P2", process(late)))
    return got


def test_a_race_only_the_loser_sees_ends_in_the_winners_story() -> None:
    """Both read the bands before either claims; the later article claims every band first,
    sees no race and keeps its story; the earlier one loses every band it shares. By the old
    rule ("the earlier of the two") the loser kept its own story: two stories."""
    store = Scripted()
    early, late = _pair()
    read = threading.Barrier(2)
    late_claimed = threading.Event()
    store.before[("P1", "after_owners")] = read.wait
    store.before[("P2", "after_owners")] = read.wait
    store.before[("P1", "claim")] = lambda: late_claimed.wait(10)
    store.before[("P2", "update")] = late_claimed.set  # P2 claimed and settles first
    got = _race(store, early, late)
    assert got[early.article_id] == got[late.article_id] == late.article_id
    records = store.records(got)
    assert all(r.settled and r.story_id == late.article_id for r in records.values())


def test_mutual_losers_agree_on_the_earlier() -> None:
    """Claims interleaved band by band: the copy claims half its bands, the original all of
    its own, the copy the rest. Each lost a band to the other, both see the race and take the
    earlier article's story (the copy waits for the original to settle)."""
    p2_half, p1_done = threading.Event(), threading.Event()

    class Interleaved(Scripted):
        def claim_bands(self, claims: Mapping[str, str]) -> dict[str, str]:
            keys = sorted(claims)
            if threading.current_thread().name == "P2":
                out = MemoryStories.claim_bands(self, {k: claims[k] for k in keys[0::2]})
                p2_half.set()
                p1_done.wait(10)
                rest = MemoryStories.claim_bands(self, {k: claims[k] for k in keys[1::2]})
                return {**out, **rest}
            p2_half.wait(10)
            out = MemoryStories.claim_bands(self, claims)
            p1_done.set()
            return out

    store = Interleaved()
    early, late = _pair()
    read = threading.Barrier(2)
    store.before[("P1", "after_owners")] = read.wait
    store.before[("P2", "after_owners")] = read.wait
    got = _race(store, early, late)
    won = {aid for aid, _ in store._bands.values()}
    assert won == {early.article_id, late.article_id}  # the race was mutual
    assert got[early.article_id] == got[late.article_id] == early.article_id


def _killed_before(store: Scripted, step: str, article: RawArticle) -> None:
    """Processor P1 takes ``article`` and is killed right before ``step``."""

    def die() -> None:
        raise Killed(step)

    store.before[("P1", step)] = die
    died: list[BaseException] = []

    def p1() -> None:
        try:
            StoryClusterer(FAST, store).assign_batch([article])
        except Killed as exc:
            died.append(exc)

    _in_threads(("P1", p1))
    assert died, f"P1 was not killed before {step}"


@pytest.mark.parametrize("dies_before", ["claim", "update"])
def test_a_processor_killed_mid_batch_leaves_no_split(dies_before: str) -> None:
    """P1 creates the early article's record and dies before claiming its bands (or before
    settling it); the copy reaches P2 meanwhile; then the early article is redelivered to P2.
    Before: the copy founded its own story and the redelivery kept the dead one's: two."""
    store = Scripted()
    early, late = _pair()

    _killed_before(store, dies_before, early)
    assert store.records([early.article_id])[early.article_id].settled is False
    p2 = StoryClusterer(FAST, store)
    copy_story = p2.assign_batch([late])[0]
    redelivered = p2.assign_batch([early])[0]
    assert redelivered == copy_story
    assert all(r.settled for r in store.records([early.article_id, late.article_id]).values())
    assert StoryClusterer(FAST, store).assign_batch([early, late]) == [copy_story, copy_story]


def _third() -> RawArticle:
    """Another copy of the pair's story: its first paragraphs, twenty minutes on."""
    from tests.unit.process.test_story import first_paragraphs

    src = dev_articles()[3]
    title, text = first_paragraphs(src["title"], src["text"], random.Random(1))
    when = T0 + timedelta(minutes=20)
    return RawArticle(article_id="c".ljust(32, "0"), url="urn:c", title=title, text=text,
                      published=when, fetched=when)


def _stories(store: MemoryStories) -> dict[str, tuple[str, bool]]:
    return {a: (r.story_id, r.settled) for a, r in store._records.items()}


def test_a_redelivery_beside_a_live_first_run_ends_in_one_story() -> None:
    """P1 claims the original's bands and stalls before settling it; the original is
    redelivered to P2 in a batch behind its copy. The copy must see the original's stored
    record (it was blind to it, founded a story, and the original joined the copy on P2
    while P1 kept it in its own story: two)."""
    store = Scripted()
    early, late = _pair()
    p2: dict[str, list[str]] = {}

    def stall() -> None:
        _in_threads(("P2", lambda: p2.update(ids=StoryClusterer(FAST, store).assign_batch(
            [late, early]))))

    store.before[("P1", "update")] = stall
    p1: dict[str, list[str]] = {}
    _in_threads(("P1", lambda: p1.update(ids=StoryClusterer(FAST, store).assign_batch([early]))))
    a, b = early.article_id, late.article_id
    assert p1["ids"] == [a] and p2["ids"] == [a, a]
    assert _stories(store) == {a: (a, True), b: (a, True)}


def test_a_killed_founder_its_joiner_and_its_redelivery_end_in_one_story() -> None:
    """P1 dies after claiming the original's bands; a copy joins it on P2 (waits, takes its
    story); then P2 gets another copy and the redelivered original in one batch."""
    store = Scripted()
    early, late = _pair()
    third = _third()

    _killed_before(store, "update", early)
    p2 = StoryClusterer(FAST, store)
    got: dict[str, list[str]] = {}
    _in_threads(("P2", lambda: got.update(c=p2.assign_batch([third]),
                                          rest=p2.assign_batch([late, early]))))
    a = early.article_id
    assert got == {"c": [a], "rest": [a, a]}
    assert set(_stories(store).values()) == {(a, True)}


def test_a_redelivery_racing_its_first_run_publishes_what_the_store_holds() -> None:
    """P2 reads the article before P1 created its record and loses the create: P2 must not
    settle P1's record itself nor write it (each published its own idea, the store kept one);
    it waits for P1's decision."""
    store = Scripted()
    late, early = _pair()  # the original ten minutes after its copy
    late = late.model_copy(update={"published": T0 + timedelta(minutes=10),
                                   "fetched": T0 + timedelta(minutes=10)})
    early = early.model_copy(update={"published": T0, "fetched": T0})
    p2_read, p1_created, p1_done = threading.Event(), threading.Event(), threading.Event()
    out: dict[str, str] = {}

    def p2() -> None:
        c = StoryClusterer(FAST, store)
        c.assign_batch([late], commit=False)
        p1_done.wait(10)
        out["p2"] = c.link_batch([late.article_id], [["X"]])[0]

    def p1_after_owners() -> None:
        threading.Thread(target=p2, name="P2").start()
        p2_read.wait(10)

    def p1_claim() -> None:
        p1_created.set()  # meanwhile P3 founds the copy's story and claims it
        _in_threads(("P3", lambda: StoryClusterer(FAST, store).assign_batch([early])))

    store.before[("P1", "after_owners")] = p1_after_owners
    store.before[("P2", "after_owners")] = lambda: (p2_read.set(), p1_created.wait(10))
    store.before[("P1", "claim")] = p1_claim

    def p1() -> None:
        c = StoryClusterer(FAST, store)
        c.assign_batch([late], commit=False)
        out["p1"] = c.link_batch([late.article_id], [["X"]])[0]
        p1_done.set()

    _in_threads(("P1", p1))
    for _ in range(100):
        if "p2" in out:
            break
        threading.Event().wait(0.05)
    stored = store.records([late.article_id])[late.article_id]
    assert out["p1"] == out["p2"] == stored.story_id and stored.settled
