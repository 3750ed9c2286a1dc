"""The alert stage on the in-memory twins: realert, growth, per-channel retries, leases,
silences, digests."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alert.rules import Rule, alert_id
from alert.silences import silence, unsilence
from alert.stage import MAX_ROUNDS, RETRY_FOR, AlertStage
from newsmon.bus import TAGGED_TOPIC, Record
from newsmon.errors import PermanentError, TransientError
from newsmon.query import compile_query
from newsmon.schema import Actor, TaggedArticle, article_id, encode
from newsmon.store import MemoryStore

T0 = datetime(2025, 5, 11, 12, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Recording:
    kind = "test"
    budget = 1.0

    def __init__(self, label: str = "rec", fail: list[type[Exception]] | None = None) -> None:
        self.label, self.fail = label, list(fail or [])
        self.sent: list[Mapping[str, Any]] = []

    def send(self, payload: Mapping[str, Any]) -> None:
        if self.fail:
            raise self.fail.pop(0)("boom")
        self.sent.append(payload)


class Crash(BaseException):
    """A process dying mid-send."""


def rec(story: str, n: int, minutes: int = 0, source: str = "Wire") -> Record:
    url = f"https://ex.org/{story}/{n}"
    a = TaggedArticle(
        article_id=article_id(url), url=url, title=f"ceasefire {story} {n}", source=source,
        fetched=T0 + timedelta(minutes=minutes), tagged=T0, story_id=story,
        published=T0, actors=(Actor(name="Vladimir Putin", type="person", salience=0.9),),
    )
    return Record(TAGGED_TOPIC, 0, n, a.article_id, encode(a))


def rule(*channels: Any, **kw: Any) -> Rule:
    return Rule("r", "ceasefire", compile_query("ceasefire"), tuple(channels), **kw)


def test_one_alert_per_story_in_the_window_then_a_new_generation() -> None:
    store, ch, clock = MemoryStore(), Recording(), Clock()
    stage = AlertStage(store, [rule(ch, realert=timedelta(hours=1))], clock)
    stage.handle([rec("s1", 1), rec("s1", 2, 10, "Other"), rec("s2", 3)])
    assert sorted(p["story_id"] for p in ch.sent) == ["s1", "s2"]
    entry = store.get_alert(alert_id("r", "s1"))
    assert entry is not None and entry["size"] == 2 and entry["sources"] == ["Wire", "Other"]
    stage.handle([rec("s1", 1), rec("s1", 2, 10)])  # replay
    assert len(ch.sent) == 2
    stage.handle([rec("s1", 4, 70)])  # the story is still running 70 minutes later
    assert [p["story_id"] for p in ch.sent] == ["s1", "s2", "s1"]
    assert store.get_alert(alert_id("r", "s1", 1)) is not None
    stage.handle([rec("s1", 1), rec("s1", 4, 70)])  # replay of both generations
    assert len(ch.sent) == 3


def test_partial_failure_never_resends_a_channel_that_succeeded() -> None:
    store, ok, flaky = MemoryStore(), Recording("ok"), Recording("flaky", [TransientError])
    stage = AlertStage(store, [rule(ok, flaky)], Clock())
    with pytest.raises(TransientError):
        stage.handle([rec("s1", 1)])
    entry = store.get_alert(alert_id("r", "s1"))
    assert entry is not None and entry["status"] == "pending"
    assert entry["deliveries"]["0"]["status"] == "sent"
    stage.handle([rec("s1", 1)])  # the batch retried by the consume loop
    assert (len(ok.sent), len(flaky.sent)) == (1, 1)
    assert store.get_alert(alert_id("r", "s1"))["status"] == "sent"  # type: ignore[index]


def test_permanent_failure_and_giving_up_are_recorded() -> None:
    store = MemoryStore()
    refused = Recording("refused", [PermanentError])
    down = Recording("down", [TransientError] * (MAX_ROUNDS + 1))
    ok = Recording("ok")
    clock = Clock()
    stage = AlertStage(store, [rule(refused, down, ok)], clock)
    for _ in range(MAX_ROUNDS):  # the rounds came quickly: not given up before RETRY_FOR
        with pytest.raises(TransientError):
            stage.handle([rec("s1", 1)])
    clock.now += RETRY_FOR
    stage.handle([rec("s1", 1)])
    entry = store.get_alert(alert_id("r", "s1"))
    assert entry is not None and entry["status"] == "partial" and len(ok.sent) == 1
    assert {k: v["status"] for k, v in entry["deliveries"].items()} == {
        "0": "failed", "1": "failed", "2": "sent"}
    assert "boom" in entry["error"]


def test_orphaned_pending_alert_is_taken_over_once_after_its_lease() -> None:
    store, clock = MemoryStore(), Clock()
    dying = Recording("dying", [Crash])
    with pytest.raises(Crash):
        AlertStage(store, [rule(dying)], clock).handle([rec("s1", 1)])
    b_ch, c_ch = Recording("b"), Recording("c")
    b = AlertStage(store, [rule(b_ch)], clock)
    c = AlertStage(store, [rule(c_ch)], clock)
    with pytest.raises(TransientError, match="another worker"):
        b.handle([rec("s1", 1)])  # the lease is still running: wait
    clock.now += rule(dying).lease + timedelta(seconds=1)
    b.handle([rec("s1", 1)])
    c.handle([rec("s1", 1)])
    assert (len(b_ch.sent), len(c_ch.sent)) == (1, 0)
    assert store.get_alert(alert_id("r", "s1") + "~lease1") is not None


def test_racing_claims_let_exactly_one_worker_send() -> None:
    store, clock = MemoryStore(), Clock()
    with pytest.raises(Crash):
        AlertStage(store, [rule(Recording("x", [Crash]))], clock).handle([rec("s1", 1)])
    clock.now += timedelta(minutes=5)
    aid = alert_id("r", "s1")
    store.record_alert(aid + "~lease1", {"kind": "lease"})  # another worker's claim won
    ch = Recording()
    with pytest.raises(TransientError, match="claimed"):
        AlertStage(store, [rule(ch)], clock).handle([rec("s1", 1)])
    assert ch.sent == []


def test_silence_suppresses_on_every_worker_until_lifted() -> None:
    store, ch, clock = MemoryStore(), Recording(), Clock()
    silence(store, "r", T0 + timedelta(hours=1), "noisy", T0)
    stage = AlertStage(store, [rule(ch)], clock)
    stage.handle([rec("s1", 1)])
    assert ch.sent == [] and store.get_alert(alert_id("r", "s1")) is None
    assert unsilence(store, "r", T0)
    clock.now += timedelta(seconds=11)  # the silence cache refreshes
    stage.handle([rec("s1", 1)])
    assert len(ch.sent) == 1


def test_digest_sends_one_message_per_period_once() -> None:
    store, clock = MemoryStore(), Clock()
    ch1, ch2 = Recording(), Recording()
    kw = {"digest": "hourly"}
    a, b = AlertStage(store, [rule(ch1, **kw)], clock), AlertStage(store, [rule(ch2, **kw)], clock)
    a.handle([rec("s1", 1), rec("s2", 2)])
    b.handle([rec("s3", 3), rec("s1", 4)])
    assert ch1.sent == ch2.sent == []
    clock.now += timedelta(hours=1, minutes=1)
    a.tick()
    b.tick()
    a.tick()
    sent = ch1.sent + ch2.sent
    assert len(sent) == 1 and sent[0]["kind"] == "digest"
    assert sorted(i["story_id"] for i in sent[0]["items"]) == ["s1", "s2", "s3"]
    statuses = {e["status"] for e in store.alerts({"kind": "alert"})}
    assert statuses == {"digested"}


def test_own_retry_and_a_takeover_that_read_the_same_entry_never_both_send() -> None:
    # Two alerters: a story's articles reach both (they are keyed by article_id). A's channel
    # failed; while A backs off its lease runs out and B claims the entry. A's retry read the
    # entry before B's claim was written: it must not send as well.
    store, clock = MemoryStore(), Clock()
    a_ch, b_ch = Recording("a", [TransientError]), Recording("b")
    a, b = AlertStage(store, [rule(a_ch)], clock), AlertStage(store, [rule(b_ch)], clock)
    with pytest.raises(TransientError):
        a.handle([rec("s1", 1)])
    aid = alert_id("r", "s1")
    stale = store.get_alert(aid)  # what A's retry read, owner A, lease over
    assert stale is not None and stale["status"] == "pending"
    clock.now += rule(a_ch).lease + timedelta(seconds=1)
    b.handle([rec("s1", 2)])  # B takes the orphaned-looking entry over and sends
    with pytest.raises(TransientError, match="claimed"):
        a._resume(rule(a_ch), aid, stale)
    assert (len(a_ch.sent), len(b_ch.sent)) == (0, 1)
    a.handle([rec("s1", 1)])  # A's batch retried once more: sent already, suppressed
    assert (len(a_ch.sent), len(b_ch.sent)) == (0, 1)


def test_a_claim_whose_ledger_update_failed_is_still_ours_on_the_retry() -> None:
    store, clock, ch = MemoryStore(), Clock(), Recording("a", [TransientError])
    stage = AlertStage(store, [rule(ch)], clock)
    with pytest.raises(TransientError):
        stage.handle([rec("s1", 1)])
    aid = alert_id("r", "s1")
    store.record_alert(aid + "~lease1", {"kind": "lease", "owner": stage._owner})
    stage.handle([rec("s1", 1)])  # the entry still says epoch 0: the claim of 1 is ours
    assert len(ch.sent) == 1


def _orphaned_digest(store: MemoryStore, clock: Clock) -> None:
    """A digest whose sender died mid-send: its entry is pending, leased to the dead one."""
    dying = AlertStage(store, [rule(Recording("x", [Crash]), digest="hourly")], clock)
    dying.handle([rec("s1", 1)])
    clock.now += timedelta(hours=1, minutes=1)
    with pytest.raises(Crash):
        dying.tick()


class StaleReads:
    """A store whose first read of one ledger entry returns an earlier copy: the other worker
    read it just before this one's write landed."""

    def __init__(self, store: MemoryStore, aid: str, stale: dict[str, Any]) -> None:
        self._store, self._aid, self._stale = store, aid, stale

    def get_alert(self, aid: str) -> dict[str, Any] | None:
        if aid == self._aid and self._stale:
            stale, self._stale = self._stale, {}
            return stale
        return self._store.get_alert(aid)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_an_orphaned_digest_is_claimed_by_exactly_one_of_two_workers() -> None:
    store, clock = MemoryStore(), Clock()
    _orphaned_digest(store, clock)
    clock.now += timedelta(minutes=1)  # the dead sender's lease has run out
    did = next(e["alert_id"] for e in store.alerts({"kind": "digest"}))
    stale = store.get_alert(did)
    assert stale is not None and stale["status"] == "pending"
    ch1, ch2 = Recording("1"), Recording("2")
    a = AlertStage(store, [rule(ch1, digest="hourly")], clock)
    b = AlertStage(StaleReads(store, did, stale), [rule(ch2, digest="hourly")], clock)  # type: ignore[arg-type]
    a.tick()
    b.tick()  # read the entry still pending, before a's sending was recorded
    sent = ch1.sent + ch2.sent
    assert len(sent) == 1 and sent[0]["kind"] == "digest"


def test_a_digest_leased_to_another_worker_is_sent_once_the_lease_runs_out() -> None:
    store, clock = MemoryStore(), Clock()
    _orphaned_digest(store, clock)
    ch = Recording()
    restarted = AlertStage(store, [rule(ch, digest="hourly")], clock)
    restarted.tick()  # still leased to the dead worker: not sent, and not given up on
    assert ch.sent == []
    clock.now += timedelta(minutes=1)
    restarted.tick()
    assert len(ch.sent) == 1 and ch.sent[0]["kind"] == "digest"
