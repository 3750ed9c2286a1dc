"""Alert workers on real Kafka and Elasticsearch, each its own OS process (``newsmon alert``).

* Two workers in one consumer group and a replay of the tagged topic: each (rule, story)
  reaches the local webhook exactly once.
* A worker killed (SIGKILL) while its webhook request hangs, then restarted: the alert is
  delivered exactly once — the pending ledger entry is taken over after its lease.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from newsmon.bus import TAGGED_TOPIC
from newsmon.schema import Actor, TaggedArticle, Topic, article_id, encode
from tests.helpers import WebhookReceiver, serve

pytestmark = pytest.mark.integration

NOW = datetime(2025, 5, 11, 12, tzinfo=UTC)


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def tagged(story: int, n: int) -> TaggedArticle:
    url = f"https://wire{n}.example/story{story}/{n}"
    return TaggedArticle(
        article_id=article_id(url), url=url, title=f"Ceasefire talks, story {story} part {n}",
        text="Putin and Zelensky discuss a ceasefire.", source=f"Wire {n}",
        published=NOW, fetched=NOW + timedelta(minutes=n), story_id=f"story-{story}",
        tagged=NOW + timedelta(minutes=n),
        actors=(Actor(name="Vladimir Putin", type="person", salience=0.9),),
        topics=(Topic(name="peace_talks", score=0.9),),
    )


class Workers:
    def __init__(self, env: dict[str, str], logdir: Path) -> None:
        self.env, self.logdir = env, logdir
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = (self.logdir / f"alert{len(self.procs)}.log").open("ab")
        proc = subprocess.Popen([sys.executable, "-m", "newsmon", "alert"], env=self.env,
                                stdout=log, stderr=log)
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                         for p in sorted(self.logdir.glob("alert*.log")))


@pytest.fixture
def setup(services: Any, unique: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    from newsmon.adapters.kafka_bus import KafkaBus

    ns = f"t{unique}-"
    env = {**os.environ, "NEWSMON_BUS": services.bus, "NEWSMON_STORE": services.store,
           "NEWSMON_NAMESPACE": ns, "NEWSMON_RULES": str(tmp_path / "rules.yaml"),
           "NEWSMON_DATA_DIR": str(tmp_path / "data"), "NEWSMON_METRICS_PORT": "0",
           "NEWSMON_LOG_FORMAT": "json"}
    bus = KafkaBus(services.bus, prefix=ns)
    bus.ensure_topics()
    workers = Workers(env, tmp_path)
    try:
        yield {"bus": bus, "workers": workers, "ns": ns, "tmp": tmp_path}
    finally:
        workers.stop()
        print(workers.logs())
        bus.close()


def write_rules(path: Path, hook: str, extra: str = "") -> None:
    path.write_text(
        "- name: talks\n  query: 'ceasefire AND actor:\"Vladimir Putin\"'\n"
        f"  channels:\n    - {{type: webhook, url: '{hook}'{extra}}}\n"
        "- name: zelensky\n  query: zelensky\n"
        f"  channels:\n    - {{type: webhook, url: '{hook}'{extra}}}\n"
    )


def publish(bus: Any, articles: list[TaggedArticle]) -> None:
    for a in articles:
        bus.publish(TAGGED_TOPIC, a.article_id, encode(a))
    bus.flush()


def test_two_workers_and_a_replay_deliver_each_rule_story_once(
    setup: dict[str, Any], services: Any
) -> None:
    receiver = WebhookReceiver()
    with serve(receiver) as base:
        write_rules(setup["tmp"] / "rules.yaml", f"{base}/hook")
        workers = setup["workers"]
        workers.start(), workers.start()
        articles = [tagged(story, n) for story in range(6) for n in range(3)]
        publish(setup["bus"], articles)
        expected = {(rule, f"story-{s}") for rule in ("talks", "zelensky") for s in range(6)}

        def delivered() -> bool:
            return len(receiver.calls) >= len(expected)

        wait_for(delivered, 90, "12 deliveries\n" + workers.logs())
        publish(setup["bus"], articles)  # the replay: every record a second time
        time.sleep(8)
        got = [(c["rule"], c["story_id"]) for c in receiver.calls]
        assert sorted(got) == sorted(expected), workers.logs()
        assert all(p.poll() is None for p in workers.procs), "a worker died"

    from index.layout import load_layout
    from newsmon.adapters.es_store import ElasticsearchStore

    store = ElasticsearchStore(services.store, load_layout(setup["ns"]))
    entries = store.alerts({"kind": "alert"})
    assert len(entries) == 12 and {e["status"] for e in entries} == {"sent"}
    assert {e["size"] for e in entries} == {3}, "each entry grew with its story"
    store.close()


class StallFirst:
    """A webhook receiver whose first request hangs until released and then fails (so it
    is not a delivery); later requests are recorded and acknowledged."""

    def __init__(self) -> None:
        self.inner = WebhookReceiver()
        self.stalled = threading.Event()
        self.release = threading.Event()
        self.first = True
        self.lock = threading.Lock()

    def __call__(self, req: BaseHTTPRequestHandler) -> None:
        with self.lock:
            first, self.first = self.first, False
        if first:
            self.stalled.set()
            self.release.wait(60)
            req.send_response(503)
            req.end_headers()
            return
        self.inner(req)


def test_worker_killed_mid_send_then_restarted_delivers_once(setup: dict[str, Any]) -> None:
    receiver = StallFirst()
    with serve(receiver) as base:
        # one attempt, 3 s timeout: the pending alert's lease is 3 + 0.5 + 5 s
        write_rules(setup["tmp"] / "rules.yaml", f"{base}/hook", ", attempts: 1, timeout: 3")
        workers = setup["workers"]
        first = workers.start()
        publish(setup["bus"], [tagged(1, 0)])
        assert receiver.stalled.wait(60), "no request reached the receiver\n" + workers.logs()
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        receiver.release.set()
        workers.start()
        wait_for(lambda: len(receiver.inner.calls) >= 2, 90,
                 "both alerts after the restart\n" + workers.logs())
        time.sleep(5)
        got = sorted((c["rule"], c["story_id"]) for c in receiver.inner.calls)
        assert got == [("talks", "story-1"), ("zelensky", "story-1")], workers.logs()
        assert "alert claimed" in workers.logs(), "the orphaned pending alert was taken over"
