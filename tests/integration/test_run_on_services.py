"""`newsmon run --once` with Kafka + Elasticsearch URLs: every stage in one process against the
real services, the same stage code as the services and the embedded default."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import FeedServer, serve

pytestmark = pytest.mark.integration

DEMO_FEED = Path(__file__).resolve().parents[2] / "deploy" / "demo" / "peace-talks.rss"
RULE = 'ceasefire AND actor:"Vladimir Putin"'


def test_run_once_on_kafka_and_elasticsearch(services: Any, unique: str, tmp_path: Path) -> None:
    from index.layout import load_layout
    from newsmon.adapters.es_store import ElasticsearchStore

    server = FeedServer()
    server.set("/wire.rss", DEMO_FEED.read_bytes())
    ns = f"t{unique}-"
    with serve(server) as base:
        (tmp_path / "feeds.yaml").write_text(f"- {{url: '{base}/wire.rss', name: Wire}}\n")
        (tmp_path / "rules.yaml").write_text(f"- name: putin-ceasefire\n  query: '{RULE}'\n")
        env = {
            **os.environ,
            "NEWSMON_BUS": services.bus, "NEWSMON_STORE": services.store,
            "NEWSMON_NAMESPACE": ns, "NEWSMON_DATA_DIR": str(tmp_path / "data"),
            "NEWSMON_FEEDS": str(tmp_path / "feeds.yaml"),
            "NEWSMON_RULES": str(tmp_path / "rules.yaml"),
            "NEWSMON_METRICS_PORT": "0", "NEWSMON_LOG_FORMAT": "text",
        }
        for _ in range(2):
            run = subprocess.run(
                [sys.executable, "-m", "newsmon", "run", "--once"], env=env,
                capture_output=True, text=True, timeout=300, check=False,
            )
            assert run.returncode == 0, run.stderr[-3000:]
    store = ElasticsearchStore(services.store, load_layout(ns))
    try:
        store.refresh()
        assert store.count() == 15
        assert store.count("topic:peace_talks") >= 10
        # One alert per story that matches the rule (which stories match is the tagger's).
        stories = {d["story_id"] for d in store.search(RULE, limit=100).hits}
        sent = [a for a in store.alerts() if a.get("status") == "sent"]
        assert len(sent) == len(stories) >= 2, store.alerts()
    finally:
        store.client.indices.delete(index=f"{ns}*", ignore_unavailable=True)
        store.close()
