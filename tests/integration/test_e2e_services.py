"""End to end on real Kafka and Elasticsearch, every stage its own OS process.

A local server publishes an RSS feed whose item is the seed article; within 60 s the article is
in Elasticsearch exactly once, tagged and with its actors; the rule
``ceasefire AND actor:"Vladimir Putin"`` calls a local webhook exactly once; ``newsmon search``
finds it; polling again (with and without the poller's seen state) adds nothing; a poison
message goes to the dead-letter topic and the pipeline goes on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from newsmon.bus import DEADLETTER_TOPIC, RAW_TOPIC
from tests.helpers import FeedServer, WebhookReceiver, rss, seed_article, serve

pytestmark = pytest.mark.integration

EXPECTED_PERSONS = {
    "Volodymyr Zelensky",
    "Vladimir Putin",
    "Donald Trump",
    "Keir Starmer",
    "Emmanuel Macron",
    "Friedrich Merz",
    "Donald Tusk",
    "Dmitry Peskov",
}


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


class Stack:
    """The four services as subprocesses sharing one environment."""

    def __init__(self, env: dict[str, str], logdir: Path) -> None:
        self.env, self.logdir = env, logdir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, *stages: str) -> None:
        for stage in stages:
            log = (self.logdir / f"{stage}.log").open("ab")
            self.procs[stage] = subprocess.Popen(
                [sys.executable, "-m", "newsmon", stage], env=self.env, stdout=log, stderr=log
            )

    def run(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "newsmon", *args],
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def stop(self) -> dict[str, int | None]:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = {}
        for name, proc in self.procs.items():
            try:
                codes[name] = proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[name] = None
        return codes

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted(self.logdir.glob("*.log"))
        )


@pytest.fixture
def stack(services: Any, unique: str, tmp_path: Path) -> Iterator[tuple[Stack, Any]]:
    feed_server, receiver = FeedServer(), WebhookReceiver()
    with serve(feed_server) as feed_base, serve(receiver) as hook_base:
        title, text = seed_article()
        feed_server.set(
            "/feed.xml",
            rss(
                [
                    {
                        "title": title,
                        "text": text,
                        "link": f"{feed_base}/2025/05/11/istanbul-talks",
                        "published": datetime(2025, 5, 11, 9, 30, tzinfo=UTC),
                    }
                ]
            ),
        )
        (tmp_path / "feeds.yaml").write_text(
            f"- url: {feed_base}/feed.xml\n  name: Test Wire\n  interval: 2\n"
        )
        (tmp_path / "rules.yaml").write_text(
            "- name: putin-ceasefire\n"
            "  query: 'ceasefire AND actor:\"Vladimir Putin\"'\n"
            f'  channels:\n    - {{type: webhook, url: "{hook_base}/hook"}}\n    - {{type: log}}\n'
        )
        env = {
            **os.environ,
            "NEWSMON_BUS": services.bus,
            "NEWSMON_STORE": services.store,
            "NEWSMON_NAMESPACE": f"t{unique}-",
            "NEWSMON_FEEDS": str(tmp_path / "feeds.yaml"),
            "NEWSMON_RULES": str(tmp_path / "rules.yaml"),
            "NEWSMON_DATA_DIR": str(tmp_path / "data"),
            "NEWSMON_POLL_INTERVAL": "2",
            "NEWSMON_LOG_FORMAT": "json",
        }
        s = Stack(env, tmp_path)
        s.start("process", "index", "alert")
        context = {"receiver": receiver, "feed_server": feed_server, "env": env, "tmp": tmp_path}
        try:
            yield s, context
        finally:
            codes = s.stop()
            print(s.logs())
            assert all(c == 0 for c in codes.values()), f"unclean exit: {codes}"


def test_seed_article_from_feed_to_alert(
    stack: tuple[Stack, Any], services: Any, unique: str
) -> None:
    from index.layout import load_layout
    from newsmon.adapters.es_store import ElasticsearchStore
    from newsmon.adapters.kafka_bus import KafkaBus

    s, ctx = stack
    store = ElasticsearchStore(services.store, load_layout(f"t{unique}-"))
    bus = KafkaBus(services.bus, prefix=f"t{unique}-")
    # a poison message first: it must be dead-lettered without stopping the stage
    bus.ensure_topics()
    bus.publish(RAW_TOPIC, "poison", b"\x00not an article")
    bus.flush()
    started = time.monotonic()
    s.start("ingest")

    def indexed() -> list[dict[str, Any]]:
        store.refresh()
        return store.search("*", limit=10).hits

    hits = wait_for(indexed, 60, "the seed article in Elasticsearch" + s.logs())
    print(f"feed to searchable in {time.monotonic() - started:.1f}s")
    assert len(hits) == 1
    doc = hits[0]
    assert doc["title"].startswith("Zelensky Invites Putin to Istanbul")
    assert "peace_talks" in doc["topic"]
    persons = {a["name"] for a in doc["actors"] if a["type"] == "person"}
    assert persons >= EXPECTED_PERSONS, persons
    assert not {"Kyiv", "Zelensky Invites", "Trump Calls"} & persons
    assert set(doc["actor"]) >= EXPECTED_PERSONS, "the principal actors are searchable as actor"

    receiver: WebhookReceiver = ctx["receiver"]
    wait_for(lambda: receiver.calls, 30, "the webhook call")
    call = receiver.calls[0]
    assert call["rule"] == "putin-ceasefire" and call["article_id"] == doc["article_id"]
    assert {"story_id", "title", "url", "published", "matched", "actors"} <= call.keys()

    found = s.run("search", "Istanbul")
    assert found.returncode == 0, found.stderr
    assert "1 articles match" in found.stdout and "Zelensky Invites Putin" in found.stdout
    as_json = s.run("search", 'ceasefire AND actor:"Vladimir Putin"', "--json", "--limit", "5")
    assert as_json.stdout.count("\n") == 1 and doc["article_id"] in as_json.stdout

    # poll again: the running poller (seen state) and a poller with no state at all
    polls = ctx["feed_server"].hits["/feed.xml"]
    wait_for(lambda: ctx["feed_server"].hits["/feed.xml"] >= polls + 2, 20, "two more polls")
    fresh = dict(ctx["env"], NEWSMON_DATA_DIR=str(ctx["tmp"] / "fresh-state"))
    again = s.run("ingest", "--once", env=fresh)
    assert again.returncode == 0, again.stderr
    time.sleep(5)  # let process/index/alert see the re-published copy
    store.refresh()
    assert store.count() == 1
    assert len(receiver.calls) == 1
    assert [a["status"] for a in store.alerts()] == ["sent"]

    # the poison message is in the dead-letter topic with its reason
    dl = bus.consumer("check", [DEADLETTER_TOPIC])
    letters = wait_for(lambda: dl.poll(timeout=1.0), 20, "the dead letter")
    assert letters[0].key == "poison" and letters[0].headers["stage"] == b"process"
    assert b"RawArticle" in letters[0].headers["error"]
    dl.close()
    bus.close()
    store.close()
