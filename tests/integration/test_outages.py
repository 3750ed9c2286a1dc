"""Outages on a private Kafka + Elasticsearch pair (other tests share the default pair, so
nothing here stops *that* one): Elasticsearch stopped for 60 s mid-run, the Kafka broker
stopped and started mid-run, and the poller with Kafka down.

While a dependency is down the stages back off (bounded, jittered: ``runtime.Backoff``) and
report it: a ``transient failure`` log line, ``newsmon_stage_transient_errors_total`` and
``newsmon_stage_backing_off``, ``/healthz`` 503. When it is back they resume and lose nothing:
the chaos harness's end checks (every article in Elasticsearch exactly once, every
(rule, story) alerted exactly once, only the injected poison in the dead-letter topic) pass.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chaos.harness import ChaosConfig, run
from chaos.services import PrivateServices
from chaos.stack import Stack
from tests.helpers import FeedServer, rss, serve

#: above each test's own bounds (outage + readiness waits + settle_timeout), so a run that does
#: not settle fails with its result line and the stages' logs rather than a bare pytest-timeout
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def private(private_services: PrivateServices) -> Iterator[PrivateServices]:
    yield private_services
    private_services.ensure_up()  # a failed test may have left one stopped; later tests need both


def _sample(metrics: str, name: str, stage: str) -> float:
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith(name + "{") and f'stage="{stage}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


class Observer:
    """Polls ``/healthz`` of some stages on a thread and remembers every status seen, and
    every reason a 503 gave (a stage's reason can change during an outage: a slow health
    check of another dependency can follow the one that is down)."""

    def __init__(self, stack: Stack, stages: tuple[str, ...]) -> None:
        self.stack, self.stages = stack, stages
        self.seen: dict[str, set[int | None]] = {s: set() for s in stages}
        self.problems: dict[str, list[str]] = {s: [] for s in stages}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Observer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(20)

    def _loop(self) -> None:
        while not self._stop.is_set():
            for stage in self.stages:
                code, body = self.stack.health(stage)
                self.seen[stage].add(code)
                if code == 503 and body not in self.problems[stage]:
                    self.problems[stage].append(body)
            self._stop.wait(1.0)


def _ready(stack: Stack, stage: str, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if stack.health(stage)[0] == 200:
            return time.monotonic() - started
        time.sleep(0.5)
    raise AssertionError(f"{stage} not ready {timeout:.0f}s after the outage\n{stack.logs()}")


def test_elasticsearch_down_for_60s_mid_run(private: PrivateServices, tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    def outage(stack: Stack) -> None:
        time.sleep(10)  # the pipeline is busy
        with Observer(stack, ("index", "alert", "process")) as obs:
            seen["stop_s"] = private.run("stop-es")
            stopped = time.monotonic()
            time.sleep(60)
            seen["metrics_index"] = stack.metrics("index")
            seen["metrics_alert"] = stack.metrics("alert")
            seen["metrics_process"] = stack.metrics("process")
            seen["start_s"] = private.run("start-es")
            seen["down_s"] = time.monotonic() - stopped
            seen["index_ready_s"] = _ready(stack, "index", 120)
            seen["alert_ready_s"] = _ready(stack, "alert", 120)
            seen["process_ready_s"] = _ready(stack, "process", 120)
        seen["health"], seen["problems"] = obs.seen, obs.problems
        seen["logs"] = stack.log_text("index") + stack.log_text("alert") + stack.log_text("process")

    result = run(ChaosConfig(
        bus=private.bus, store=private.store, articles=150, kills=0, release_seconds=100,
        disrupt=outage, workdir=tmp_path, settle_timeout=300,
    ))
    print(result.line(), {k: v for k, v in seen.items() if k.endswith("_s")})
    assert result.ok and result.crashes == 0 and result.clean_exits, result.line()
    assert seen["down_s"] >= 60
    assert 503 in seen["health"]["index"] and 503 in seen["health"]["alert"]
    # story identity lives in Elasticsearch too: the processors wait for it, never fall back
    # to a story id of their own
    assert 503 in seen["health"]["process"]
    assert any("story" in p for p in seen["problems"]["process"]), seen["problems"]["process"]
    assert any("elasticsearch" in p for p in seen["problems"]["index"]), seen["problems"]["index"]
    # the processors meet the outage first (their story store), and nothing new reaches the
    # indexer meanwhile: the processor is the stage seen backing off and recovering
    metrics = seen["metrics_process"]
    assert _sample(metrics, "newsmon_stage_transient_errors_total", "process") > 0
    assert _sample(metrics, "newsmon_stage_backing_off", "process") == 1
    assert "transient failure stage=process" in seen["logs"]
    assert "recovered stage=process" in seen["logs"]


def test_kafka_broker_restarted_mid_run(private: PrivateServices, tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    def outage(stack: Stack) -> None:
        time.sleep(10)
        with Observer(stack, ("ingest", "process", "index", "alert")) as obs:
            seen["stop_s"] = private.run("stop-kafka")
            stopped = time.monotonic()
            time.sleep(20)
            seen["metrics_process"] = stack.metrics("process")
            seen["start_s"] = private.run("start-kafka")
            seen["down_s"] = time.monotonic() - stopped
            seen["ready_s"] = max(_ready(stack, s, 120) for s in ("process", "index", "alert"))
        seen["health"] = obs.seen

    result = run(ChaosConfig(
        bus=private.bus, store=private.store, articles=150, kills=0, release_seconds=60,
        disrupt=outage, workdir=tmp_path, settle_timeout=300,
    ))
    print(result.line(), {k: v for k, v in seen.items() if k.endswith("_s")})
    assert result.ok and result.crashes == 0 and result.clean_exits, result.line()
    for stage in ("ingest", "process", "index", "alert"):
        assert 503 in seen["health"][stage] or None in seen["health"][stage], stage
    assert 503 in seen["health"]["process"]


def test_a_producer_whose_batches_expired_in_flight_is_replaced(
    private: PrivateServices, unique: str
) -> None:
    """The broker hangs (SIGSTOP) with produce requests in flight until their delivery timeout
    passes. kafka-python then resets the idempotent producer's id and never sends again (the
    chaos run's ingest stayed stuck for minutes after Kafka was back): the bus must replace the
    producer, deliver once the broker answers, and close without raising."""
    from newsmon.adapters.kafka_bus import KafkaBus
    from newsmon.bus import RAW_TOPIC
    from newsmon.errors import TransientError

    def senders() -> int:  # kafka-python's producer I/O threads
        return sum(t.name.endswith("-network-thread") for t in threading.enumerate())

    prefix, before = f"t{unique}-", senders()
    bus = KafkaBus(private.bus, prefix=prefix, request_timeout_ms=1500, delivery_timeout_ms=3000)
    bus.ensure_topics([RAW_TOPIC])
    try:
        bus.publish(RAW_TOPIC, "before", b"before")
        bus.flush()
        with private.kafka_frozen():
            for i in range(30):
                bus.publish(RAW_TOPIC, f"frozen-{i}", b"x" * 1000)
            with pytest.raises(TransientError, match="did not acknowledge 30 records"):
                bus.flush(timeout=6)
        thawed = time.monotonic()
        while True:  # a wedged producer never delivers; a replaced one does within seconds
            try:
                bus.publish(RAW_TOPIC, "after", b"after")
                bus.flush(timeout=5)
                break
            except TransientError:
                assert time.monotonic() - thawed < 60, "no delivery 60 s after the broker woke"
        with private.kafka_frozen():
            bus.publish(RAW_TOPIC, "at-close", b"at-close")
            started = time.monotonic()
            bus.close()  # undeliverable: gives up after its bound, does not raise
            assert time.monotonic() - started < 20
            assert senders() == before, "the old producers' I/O threads were stopped"
    finally:
        bus.close()
    consumer = KafkaBus(private.bus, prefix=prefix).consumer(f"check-{unique}", [RAW_TOPIC])
    got: set[str | None] = set()
    deadline = time.monotonic() + 30
    while "after" not in got and time.monotonic() < deadline:
        got |= {r.key for r in consumer.poll(timeout=1.0)}
    consumer.close()
    assert {"before", "after"} <= got


def test_poller_marks_nothing_seen_until_published(
    private: PrivateServices, tmp_path: Path, unique: str
) -> None:
    from ingest.poller import FeedPoller
    from ingest.state import FeedState
    from newsmon.adapters.kafka_bus import KafkaBus
    from newsmon.bus import RAW_TOPIC
    from newsmon.config import FeedConfig, Settings
    from newsmon.errors import TransientError
    from newsmon.schema import article_id

    feed_server = FeedServer()
    with serve(feed_server) as base:
        items = [
            {"title": f"Talks resume in Istanbul, round {i}", "text": "Delegations met again.",
             "link": f"{base}/story/{i}", "published": datetime(2025, 5, 11, 9, i, tzinfo=UTC)}
            for i in range(5)
        ]
        feed_server.set("/feed.xml", rss(items))
        prefix = f"t{unique}-"
        bus = KafkaBus(private.bus, prefix=prefix)
        bus.ensure_topics()
        settings = Settings(bus=private.bus, data_dir=tmp_path, store="memory://")
        state = FeedState(tmp_path / "ingest.sqlite3")
        feeds = [FeedConfig(url=f"{base}/feed.xml", full_text=False)]
        poller = FeedPoller(feeds, bus, state, settings)
        try:
            private.run("stop-kafka")
            with pytest.raises(TransientError):
                poller.poll_all(datetime.now(UTC))
            ids = {article_id(item["link"]) for item in items}
            assert len(ids) == 5 and state.unseen(ids) == ids, "nothing marked seen"
            private.run("start-kafka")
            report = _poll_until_published(poller)
            assert report.new_items == 5 and state.unseen(ids) == set()
        finally:
            poller.close()
            bus.close()
            private.ensure_up()
        consumer = KafkaBus(private.bus, prefix=prefix).consumer("check", [RAW_TOPIC])
        got: set[str] = set()
        deadline = time.monotonic() + 30
        while len(got) < 5 and time.monotonic() < deadline:
            got |= {r.key for r in consumer.poll(timeout=1.0) if r.key}
        consumer.close()
        assert got == ids


def _poll_until_published(poller: Any) -> Any:
    from newsmon.errors import TransientError

    deadline = time.monotonic() + 90
    while True:
        try:
            return poller.poll_all(datetime.now(UTC))
        except TransientError:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)

