"""Two alert stages on real Elasticsearch (the ledger's create-only writes) and Kafka.

* The race the ledger must settle: alerter A's webhook failed, A retries its pending entry
  while B — given another article of the same story (articles are keyed by article_id, so a
  story spreads over partitions and alerters) — saw A's lease run out and claimed it. A's
  retry read the entry before B's claim landed. Exactly one of them sends.
* Two ``newsmon alert`` processes, stories spread over every partition, a webhook that fails
  for the first seconds: each (rule, story) is delivered once, every entry ends ``sent``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from alert.rules import Rule, alert_id
from alert.stage import AlertStage
from newsmon.bus import TAGGED_TOPIC, Record
from newsmon.errors import TransientError
from newsmon.query import compile_query
from newsmon.schema import encode
from tests.helpers import WebhookReceiver, serve
from tests.integration.test_alert_workers import Workers, publish, tagged, wait_for, write_rules
from tests.unit.alert.test_alert_stage import Clock, Recording

pytestmark = pytest.mark.integration


@pytest.fixture
def es_store(services: Any, unique: str) -> Iterator[Any]:
    from index.layout import load_layout
    from newsmon.adapters.es_store import ElasticsearchStore

    store = ElasticsearchStore(services.store, load_layout(f"t{unique}-"))
    store.ensure_schema()
    yield store
    store.drop()
    store.close()


def record(story: int, n: int) -> Record:
    article = tagged(story, n)
    return Record(TAGGED_TOPIC, 0, n, article.article_id, encode(article))


def test_a_retry_and_a_takeover_that_read_the_same_entry_send_once(es_store: Any) -> None:
    clock = Clock()
    a_ch, b_ch = Recording("a", [TransientError]), Recording("b")
    talks = Rule("talks", "ceasefire", compile_query("ceasefire"), (a_ch,))
    a = AlertStage(es_store, [talks], clock)
    b = AlertStage(
        es_store, [Rule("talks", "ceasefire", compile_query("ceasefire"), (b_ch,))], clock
    )
    with pytest.raises(TransientError):
        a.handle([record(1, 0)])
    aid = alert_id("talks", "story-1")
    stale = es_store.get_alert(aid)
    assert stale is not None and stale["status"] == "pending"
    clock.now += talks.lease + timedelta(seconds=1)
    b.handle([record(1, 1)])  # the lease ran out: B claims epoch 1 and sends
    with pytest.raises(TransientError, match="claimed"):
        a._resume(talks, aid, stale)  # A's retry, on what it read before B's claim
    a.handle([record(1, 0)])
    assert (len(a_ch.sent), len(b_ch.sent)) == (0, 1)
    entry = es_store.get_alert(aid)
    assert entry is not None and entry["status"] == "sent" and entry["lease_epoch"] == 1


class FailFirst:
    """503 for ``seconds`` from the first request on, then a recording receiver."""

    def __init__(self, seconds: float) -> None:
        self.inner, self.seconds = WebhookReceiver(), seconds
        self.until: float | None = None
        self.refused = 0
        self.lock = threading.Lock()

    def __call__(self, req: BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.until = self.until or time.monotonic() + self.seconds
            failing = time.monotonic() < self.until
            self.refused += failing
        if failing:
            req.rfile.read(int(req.headers.get("Content-Length", "0")))
            req.send_response(503)
            req.end_headers()
            return
        self.inner(req)


@pytest.fixture
def workers(services: Any, unique: str, tmp_path: Path) -> Iterator[tuple[Workers, Any]]:
    import os

    from newsmon.adapters.kafka_bus import KafkaBus

    ns = f"t{unique}-"
    env = {
        **os.environ,
        "NEWSMON_BUS": services.bus,
        "NEWSMON_STORE": services.store,
        "NEWSMON_NAMESPACE": ns,
        "NEWSMON_RULES": str(tmp_path / "rules.yaml"),
        "NEWSMON_DATA_DIR": str(tmp_path / "data"),
        "NEWSMON_METRICS_PORT": "0",
        "NEWSMON_LOG_FORMAT": "json",
    }
    bus = KafkaBus(services.bus, prefix=ns)
    bus.ensure_topics()
    pool = Workers(env, tmp_path)
    try:
        yield pool, bus
    finally:
        pool.stop()
        print(pool.logs())
        bus.close()


def test_two_alerters_with_a_failing_webhook_deliver_each_rule_story_once(
    workers: tuple[Workers, Any], tmp_path: Path, services: Any, unique: str
) -> None:
    pool, bus = workers
    receiver = FailFirst(5.0)
    with serve(receiver) as base:
        write_rules(tmp_path / "rules.yaml", f"{base}/hook", ", attempts: 1, timeout: 2")
        pool.start(), pool.start()
        wait_for(lambda: pool.logs().count("service=alert started") == 2, 60, "both started")
        time.sleep(6)  # both in the group, the partitions split between them
        publish(bus, [tagged(story, n) for story in range(6) for n in range(4)])
        expected = {(rule, f"story-{s}") for rule in ("talks", "zelensky") for s in range(6)}
        wait_for(
            lambda: len(receiver.inner.calls) >= len(expected), 120, "12 deliveries\n" + pool.logs()
        )
        time.sleep(8)  # a second copy would arrive by now
        got = sorted((c["rule"], c["story_id"]) for c in receiver.inner.calls)
        assert got == sorted(expected), pool.logs()
        assert receiver.refused > 0, "the webhook did fail first"

    from index.layout import load_layout
    from newsmon.adapters.es_store import ElasticsearchStore

    store = ElasticsearchStore(services.store, load_layout(f"t{unique}-"))
    entries = store.alerts({"kind": "alert"})
    assert len(entries) == 12 and {e["status"] for e in entries} == {"sent"}
    store.drop()
    store.close()
