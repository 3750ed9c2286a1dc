"""The alert stage on the in-memory twins: realert, growth, per-channel retries, leases,
silences, digests."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alert.rules import Rule, alert_id
from alert.silences import silence, unsilence
from alert.stage import MAX_ROUNDS, AlertStage
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
    down = Recording("down", [TransientError] * MAX_ROUNDS)
    ok = Recording("ok")
    stage = AlertStage(store, [rule(refused, down, ok)], Clock())
    for _ in range(MAX_ROUNDS - 1):
        with pytest.raises(TransientError):
            stage.handle([rec("s1", 1)])
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
