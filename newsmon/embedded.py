"""``newsmon run``: every stage in one process, with the same stage code as the services.

On the embedded default (``memory://`` bus) the hand-off is synchronous: the poller publishes
a round of new articles and calls ``flush()``, which here drains process → index → alert before
it returns. The poller marks items seen only after ``flush()`` returned, so an item is marked
seen only once it was tagged, stored and matched: a crash at any moment re-polls instead of
losing. With a Kafka URL the consuming stages run in threads against Kafka instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from newsmon.bus import Bus, Consumer, Membership, MemoryBus
from newsmon.config import FeedConfig, Settings
from newsmon.errors import TransientError
from newsmon.runtime import Stage, consume_forever, drain
from newsmon.store import ArticleStore
from newsmon.wiring import make_bus, make_store, make_story_store

log = logging.getLogger(__name__)


class HandOffBus:
    """A :class:`MemoryBus` whose ``flush`` runs the downstream stages to completion."""

    def __init__(self, inner: MemoryBus) -> None:
        self.inner = inner
        self.stages: list[tuple[Stage, Consumer]] = []
        self._draining = False

    def attach(self, stages: Sequence[Stage], batch_size: int) -> None:
        self._batch = batch_size
        self.stages = [(s, self.inner.consumer(f"newsmon-{s.name}", s.topics)) for s in stages]

    def tick(self) -> None:
        """Let the stages' clocks run while no article arrives (the alert stage's digests)."""
        for stage, _ in self.stages:
            tick = getattr(stage, "tick", None)
            if tick is None:
                continue
            try:
                tick()
            except TransientError as exc:  # the store is down: the digest is retried next tick
                log.warning("tick failed stage=%s error=%s", stage.name, exc)

    def publish(
        self, topic: str, key: str | None, value: bytes, headers: Mapping[str, bytes] | None = None
    ) -> None:
        self.inner.publish(topic, key, value, headers)

    def flush(self, timeout: float = 30.0) -> None:
        if self._draining:  # a stage flushing its own output: nothing to wait for in memory
            return
        self._draining = True
        try:
            for stage, consumer in self.stages:
                try:
                    drain(stage, self, consumer, batch_size=self._batch)
                except TransientError:
                    consumer.rewind()
                    raise
        finally:
            self._draining = False

    def consumer(self, group: str, topics: Sequence[str]) -> Consumer:
        return self.inner.consumer(group, topics)

    def member(self, group: str, topic: str) -> Membership:
        return self.inner.member(group, topic)

    def ensure_topics(self, topics: Sequence[str] = ()) -> None:
        self.inner.ensure_topics(topics) if topics else self.inner.ensure_topics()

    def check(self) -> None:
        return None

    def close(self) -> None:
        return None


def build_stages(
    settings: Settings, bus: Bus, store: ArticleStore, rules: Sequence[Any]
) -> list[Stage]:
    from alert.stage import AlertStage
    from index.stage import IndexStage
    from process.stage import ProcessStage
    from process.story import StoryClusterer
    from process.tagger import Tagger

    clusterer = StoryClusterer(store=make_story_store(settings))
    process = ProcessStage(bus, Tagger.load(), clusterer=clusterer)
    return [process, IndexStage.from_settings(store, settings), AlertStage(store, rules)]


@contextmanager
def pipeline_bus(settings: Settings, rules: Sequence[Any]) -> Iterator[Bus]:
    """A bus to publish raw articles into. On the embedded default its ``flush`` runs every
    stage (tag, store, match); on Kafka it is the plain bus and the services do the rest."""
    bus, store = make_bus(settings), make_store(settings)
    store.ensure_schema()
    bus.ensure_topics()
    try:
        if isinstance(bus, MemoryBus):
            handoff = HandOffBus(bus)
            handoff.attach(build_stages(settings, handoff, store, rules), settings.batch_size)
            yield handoff
        else:
            yield bus
    finally:
        bus.close()
        store.close()


def run_all(
    settings: Settings,
    feeds: Sequence[FeedConfig],
    rules: Sequence[Any],
    stop: threading.Event,
    *,
    once: bool = False,
    store: ArticleStore | None = None,
) -> None:
    """``store``: one the caller opened and closes (``newsmon run`` shares it with the page)."""
    from ingest.service import run_ingest

    owned = store is None
    bus, store = make_bus(settings), store if store is not None else make_store(settings)
    store.ensure_schema()
    bus.ensure_topics()
    log.info(
        "run feeds=%d rules=%d bus=%s store=%s",
        len(feeds),
        len(rules),
        settings.bus,
        settings.store,
    )
    from newsmon.console import RunView

    try:
        with RunView():
            if isinstance(bus, MemoryBus):
                handoff = HandOffBus(bus)
                handoff.attach(build_stages(settings, handoff, store, rules), settings.batch_size)
                # the store is checked against the seen-state (the hand-off is synchronous:
                # nothing is ever in flight)
                run_ingest(
                    settings, feeds, handoff, stop, once=once, on_idle=handoff.tick, store=store
                )
            else:
                stages = build_stages(settings, bus, store, rules)
                _run_on_kafka(settings, feeds, bus, stages, stop, once)
    finally:
        bus.close()
        if owned:
            store.close()


def _run_on_kafka(
    settings: Settings,
    feeds: Sequence[FeedConfig],
    bus: Bus,
    stages: Sequence[Stage],
    stop: threading.Event,
    once: bool,
) -> None:
    """All stages in one process against real services: consumers in threads."""
    from ingest.service import run_ingest

    consumers = [bus.consumer(f"newsmon-{s.name}", s.topics) for s in stages]
    if once:
        run_ingest(settings, feeds, bus, stop, once=True)
        for stage, consumer in zip(stages, consumers, strict=True):
            _drain_until_caught_up(stage, bus, consumer, settings.batch_size)
            consumer.close()
        return
    threads = [
        threading.Thread(
            target=consume_forever,
            args=(s, bus, c, stop),
            kwargs={"batch_size": settings.batch_size, "on_idle": getattr(s, "tick", None)},
            name=f"stage-{s.name}",
            daemon=True,
        )
        for s, c in zip(stages, consumers, strict=True)
    ]
    for t in threads:
        t.start()
    run_ingest(settings, feeds, bus, stop)
    for t in threads:
        t.join(timeout=60)
    for c in consumers:
        c.close()


def _drain_until_caught_up(
    stage: Stage, bus: Bus, consumer: Consumer, batch_size: int, timeout: float = 120.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        drain(stage, bus, consumer, batch_size=batch_size)
        if consumer.lag() == 0:
            return
    raise TransientError(f"stage {stage.name} did not catch up within {timeout:.0f}s")
