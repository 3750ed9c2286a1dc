"""The stages wired on the in-memory twins: poison messages, transient failures, alerts once."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from alert.rules import Rule
from alert.stage import AlertStage
from index.stage import IndexStage
from newsmon.bus import DEADLETTER_TOPIC, RAW_TOPIC, TAGGED_TOPIC, MemoryBus
from newsmon.errors import TransientError
from newsmon.query import compile_query
from newsmon.runtime import consume_forever, drain
from newsmon.schema import Actor, RawArticle, Tags, Topic, article_id, encode
from newsmon.store import MemoryStore
from process.stage import ProcessStage

NOW = datetime(2025, 5, 11, 12, tzinfo=UTC)


class FakeTagger:
    def tag_batch(self, items: Sequence[tuple[str, str]]) -> list[Tags]:
        out = []
        for title, text in items:
            words = f"{title} {text}".lower()
            topics = (
                (Topic(name="peace_talks", score=0.9, evidence=("ceasefire",)),)
                if "ceasefire" in words
                else ()
            )
            actors = (
                (Actor(name="Vladimir Putin", type="person", country="RU", salience=0.8),)
                if "putin" in words
                else ()
            )
            out.append(Tags(topics=topics, actors=actors))
        return out


class RecordingChannel:
    kind = "test"

    def __init__(self, fail_times: int = 0) -> None:
        self.sent: list[Mapping[str, Any]] = []
        self.fail_times = fail_times

    def send(self, payload: Mapping[str, Any]) -> None:
        if self.fail_times:
            self.fail_times -= 1
            raise TransientError("receiver down")
        self.sent.append(payload)


def raw(url: str, title: str, text: str = "") -> RawArticle:
    return RawArticle(
        article_id=article_id(url), url=url, title=title, text=text, source="Ex", fetched=NOW
    )


def publish_raw(bus: MemoryBus, *articles: RawArticle) -> None:
    for a in articles:
        bus.publish(RAW_TOPIC, a.article_id, encode(a))


def run_stages(bus: MemoryBus, *stages: Any) -> None:
    for stage in stages:
        consumer = bus.consumer(f"newsmon-{stage.name}", stage.topics)
        drain(stage, bus, consumer)


def test_article_flows_through_and_poison_goes_to_dead_letter() -> None:
    bus, store = MemoryBus(), MemoryStore()
    publish_raw(bus, raw("https://ex.com/1", "Putin rejects ceasefire"))
    bus.publish(RAW_TOPIC, "bad", b"{not json")
    publish_raw(bus, raw("https://ex.com/2", "Markets rally"))
    channel = RecordingChannel()
    rule = Rule(
        "r",
        'ceasefire AND actor:"Vladimir Putin"',
        compile_query('ceasefire AND actor:"Vladimir Putin"'),
        (channel,),
    )
    run_stages(
        bus,
        ProcessStage(bus, FakeTagger(), lambda: NOW),
        IndexStage(store, lambda: NOW),
        AlertStage(store, [rule], lambda: NOW),
    )
    dead = bus.records(DEADLETTER_TOPIC)
    assert len(dead) == 1 and dead[0].key == "bad"
    assert dead[0].headers["stage"] == b"process" and b"RawArticle" in dead[0].headers["error"]
    assert store.count() == 2
    assert store.search("topic:peace_talks").hits[0]["title"] == "Putin rejects ceasefire"
    assert len(channel.sent) == 1
    assert {
        "rule",
        "story_id",
        "article_id",
        "title",
        "url",
        "published",
        "matched",
        "actors",
    } <= channel.sent[0].keys()


def test_replay_and_second_worker_never_double_send() -> None:
    bus, store = MemoryBus(), MemoryStore()
    publish_raw(bus, raw("https://ex.com/1", "Putin and ceasefire"))
    run_stages(bus, ProcessStage(bus, FakeTagger(), lambda: NOW))
    ch1, ch2 = RecordingChannel(), RecordingChannel()
    q = compile_query("ceasefire")
    s1 = AlertStage(store, [Rule("r", "ceasefire", q, (ch1,))], lambda: NOW)
    s2 = AlertStage(store, [Rule("r", "ceasefire", q, (ch2,))], lambda: NOW)
    records = bus.records(TAGGED_TOPIC)
    s1.handle(records)
    s1.handle(records)  # replay
    s2.handle(records)  # another worker
    assert len(ch1.sent) + len(ch2.sent) == 1
    assert store.alerts()[0]["status"] == "sent"


def test_transient_channel_failure_is_retried_without_loss_or_duplicate() -> None:
    bus, store = MemoryBus(), MemoryStore()
    publish_raw(bus, raw("https://ex.com/1", "ceasefire now"))
    run_stages(bus, ProcessStage(bus, FakeTagger(), lambda: NOW))
    channel = RecordingChannel(fail_times=2)
    stage = AlertStage(
        store, [Rule("r", "ceasefire", compile_query("ceasefire"), (channel,))], lambda: NOW
    )
    consumer = bus.consumer("newsmon-alert", stage.topics)
    stop = threading.Event()

    def idle() -> None:
        stop.set()

    import newsmon.runtime as rt

    original = rt.Backoff.next_delay
    rt.Backoff.next_delay = lambda self: 0.0  # type: ignore[method-assign]
    try:
        consume_forever(stage, bus, consumer, stop, poll_timeout=0.01, on_idle=idle)
    finally:
        rt.Backoff.next_delay = original  # type: ignore[method-assign]
    assert len(channel.sent) == 1
    assert consumer.lag() == 0


def test_index_stage_counts_replays_as_duplicates() -> None:
    bus, store = MemoryBus(), MemoryStore()
    publish_raw(bus, raw("https://ex.com/1", "a"), raw("https://ex.com/2", "b"))
    run_stages(bus, ProcessStage(bus, FakeTagger(), lambda: NOW))
    idx = IndexStage(store, lambda: NOW)
    idx.handle(bus.records(TAGGED_TOPIC))
    idx.handle(bus.records(TAGGED_TOPIC))
    assert (idx.written, idx.duplicates, store.count()) == (2, 2, 2)


def test_process_stage_publishes_keyed_by_article_id() -> None:
    bus = MemoryBus()
    a = raw("https://ex.com/x?utm_source=y", "t")
    publish_raw(bus, a)
    run_stages(bus, ProcessStage(bus, FakeTagger(), lambda: NOW))
    out = bus.records(TAGGED_TOPIC)
    assert [r.key for r in out] == [a.article_id]


@pytest.mark.parametrize("payload", [b"", b"[]", b'{"article_id": 1}'])
def test_every_stage_dead_letters_garbage(payload: bytes) -> None:
    bus, store = MemoryBus(), MemoryStore()
    bus.publish(TAGGED_TOPIC, "k", payload)
    run_stages(bus, IndexStage(store), AlertStage(store, []))
    stages = sorted(r.headers["stage"] for r in bus.records(DEADLETTER_TOPIC))
    assert stages == [b"alert", b"index"]


class TickingStage:
    name = "ticking"
    topics = (TAGGED_TOPIC,)

    def __init__(self, failures: int = 0) -> None:
        self.ticks = 0
        self.failures = failures

    def handle(self, records: Sequence[Any]) -> list[Any]:
        return []

    def tick(self) -> None:
        self.ticks += 1
        if self.failures:
            self.failures -= 1
            raise TransientError("ledger unreachable")


def test_handoff_tick_runs_stage_clocks_and_survives_a_store_outage() -> None:
    from newsmon.embedded import HandOffBus

    handoff = HandOffBus(MemoryBus())
    stage = TickingStage(failures=1)
    handoff.attach([stage], batch_size=10)
    handoff.tick()  # the store is down: logged, not raised (the digest is retried next tick)
    handoff.tick()
    assert stage.ticks == 2 and stage.failures == 0
