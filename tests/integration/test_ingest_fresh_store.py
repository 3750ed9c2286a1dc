"""The issue's scenario on real Kafka and Elasticsearch: ingest ran (its data_dir marks every
item seen), the services are reset (a new namespace: fresh topics, fresh indices), one
feed's articles are already back in the store, and ``newsmon ingest`` starts again with the
old data_dir. It must notice that the store lacks the other feeds' articles, say so loudly,
and publish them again — and only them. And the pipeline's backlog the check waits for: only
records published before the grace and not yet committed by the stages count.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from newsmon.bus import RAW_TOPIC
from newsmon.schema import RawArticle, article_id, decode
from tests.unit.ingest.feedserver import rss, running_server, with_etag

pytestmark = pytest.mark.integration

FEEDS = ("a", "b", "c")


def items(feed: str) -> list[tuple[str, str]]:
    return [(f"{feed} story {i}", f"https://{feed}.example.org/story/{i}") for i in range(3)]


def test_a_reset_store_gets_what_the_old_seen_state_hid(
    services: Any, unique: str, tmp_path: Path
) -> None:
    from index.layout import load_layout
    from newsmon.adapters.es_store import ElasticsearchStore
    from newsmon.adapters.kafka_bus import KafkaBus

    old, new = f"t{unique}-old-", f"t{unique}-new-"
    with running_server() as server:
        for feed in FEEDS:
            server.routes[f"/{feed}"] = with_etag(rss(items(feed)), f'"{feed}"')
        feeds = tmp_path / "feeds.yaml"
        feeds.write_text("".join(f"- url: {server.url('/' + f)}\n" for f in FEEDS))
        env = {
            **os.environ,
            "NEWSMON_BUS": services.bus,
            "NEWSMON_FEEDS": str(feeds),
            "NEWSMON_DATA_DIR": str(tmp_path / "data"),
            "NEWSMON_METRICS_PORT": "0",
            "NEWSMON_INGEST__HOST_SPACING": "0",
            "NEWSMON_INGEST__FULL_TEXT_MIN_CHARS": "0",
            "NEWSMON_INGEST__STORE_CHECK_GRACE": "0",
            "NEWSMON_LOG_FORMAT": "text",
        }
        first = subprocess.run(
            [sys.executable, "-m", "newsmon", "ingest", "--once"],
            env={**env, "NEWSMON_NAMESPACE": old, "NEWSMON_STORE": "memory://"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert first.returncode == 0, first.stderr[-3000:]

        store = ElasticsearchStore(services.store, load_layout(new))  # the reset services
        store.ensure_schema()
        store.write_articles(
            [{"article_id": article_id(u), "title": t, "url": u} for t, u in items("a")]
        )
        store.refresh()
        bus = KafkaBus(services.bus, prefix=new)
        bus.ensure_topics()
        consumer = bus.consumer("fresh-check", [RAW_TOPIC])
        log = tmp_path / "ingest.log"
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "newsmon", "ingest"],
                env={**env, "NEWSMON_NAMESPACE": new, "NEWSMON_STORE": services.store},
                stdout=out,
                stderr=out,
            )
        got: list[str] = []
        try:
            expected = {article_id(u) for f in ("b", "c") for _, u in items(f)}
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and not expected <= set(got):
                got += [decode(RawArticle, r.value).article_id for r in consumer.poll(100, 0.5)]
            time.sleep(3)  # anything more would arrive now
            got += [decode(RawArticle, r.value).article_id for r in consumer.poll(100, 0.5)]
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
            consumer.close()
            bus.close()
            store.drop()
            store.close()
    text = log.read_text(errors="replace")
    assert sorted(got) == sorted(expected), text[-3000:]
    assert "store lacks articles the ingest's seen-state calls published" in text


def test_records_older_than_the_grace_and_not_consumed_make_the_check_wait(
    services: Any, unique: str
) -> None:
    from newsmon.adapters.kafka_admin import unconsumed_before
    from newsmon.adapters.kafka_bus import KafkaBus

    ns = f"t{unique}-"
    groups = {"newsmon-process": (RAW_TOPIC,)}
    bus = KafkaBus(services.bus, prefix=ns)
    bus.ensure_topics()
    try:
        for i in range(5):
            bus.publish(RAW_TOPIC, f"k{i}", b"{}")
        bus.flush()
        time.sleep(1.5)
        cut = time.time() - 0.5  # the five are older than this, the next two are not
        for i in range(2):
            bus.publish(RAW_TOPIC, f"n{i}", b"{}")
        bus.flush()
        assert unconsumed_before(services.bus, groups, cut, ns) == 5
        assert unconsumed_before(services.bus, groups, time.time() + 60, ns) == 7
        consumer = bus.consumer("newsmon-process", [RAW_TOPIC])
        got = 0
        deadline = time.monotonic() + 30
        while got < 7 and time.monotonic() < deadline:
            got += len(consumer.poll(100, 0.5))
        consumer.commit()
        consumer.close()
        assert unconsumed_before(services.bus, groups, time.time() + 60, ns) == 0
    finally:
        bus.close()
