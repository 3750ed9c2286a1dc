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
FAST = ClusterConfig(settle_timeout=timedelta(seconds=0.3))


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


@pytest.mark.parametrize("dies_before", ["claim", "update"])
def test_a_processor_killed_mid_batch_leaves_no_split(dies_before: str) -> None:
    """P1 creates the early article's record and dies before claiming its bands (or before
    settling it); the copy reaches P2 meanwhile; then the early article is redelivered to P2.
    Before: the copy founded its own story and the redelivery kept the dead one's: two."""
    store = Scripted()
    early, late = _pair()

    def die() -> None:
        raise Killed(dies_before)

    store.before[("P1", dies_before)] = die
    died: list[BaseException] = []

    def p1() -> None:
        try:
            StoryClusterer(FAST, store).assign_batch([early])
        except Killed as exc:
            died.append(exc)

    _in_threads(("P1", p1))
    assert died
    assert store.records([early.article_id])[early.article_id].settled is False
    p2 = StoryClusterer(FAST, store)
    copy_story = p2.assign_batch([late])[0]
    redelivered = p2.assign_batch([early])[0]
    assert redelivered == copy_story
    assert all(r.settled for r in store.records([early.article_id, late.article_id]).values())
    assert StoryClusterer(FAST, store).assign_batch([early, late]) == [copy_story, copy_story]
