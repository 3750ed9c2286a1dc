"""`newsmon run` on the embedded default (memory bus, SQLite store), as a user runs it.

No Kafka, no Elasticsearch: a local feed server publishes the seed article and a dozen other
real items; ``run --once`` makes them searchable and prints the alert once; a second run adds
nothing; a run killed with SIGKILL mid-way and started again ends with every item stored once.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from newsmon.adapters.sqlite_store import SqliteStore
from tests.helpers import FeedServer, rss, seed_article, serve

DEMO_FEED = Path(__file__).resolve().parents[2] / "deploy" / "demo" / "peace-talks.rss"
RULE_QUERY = 'ceasefire AND actor:"Vladimir Putin"'
RULES = f"""\
- name: putin-ceasefire
  query: '{RULE_QUERY}'
  channels: [{{type: log}}]
"""


def env_for(tmp: Path, feeds: str) -> dict[str, str]:
    (tmp / "feeds.yaml").write_text(feeds)
    (tmp / "rules.yaml").write_text(RULES)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    return {
        **env,
        "NEWSMON_DATA_DIR": str(tmp / "data"),
        "NEWSMON_FEEDS": str(tmp / "feeds.yaml"),
        "NEWSMON_RULES": str(tmp / "rules.yaml"),
        "NEWSMON_LOG_FORMAT": "text",
        "NEWSMON_METRICS_PORT": "0",
        "NEWSMON_WEB_PORT": "0",  # no page (tests/e2e/test_web_browser.py covers it)
    }


def newsmon(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "newsmon", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def store_of(tmp: Path) -> SqliteStore:
    return SqliteStore(tmp / "data" / "newsmon.db")


def test_run_once_then_again_adds_nothing(tmp_path: Path) -> None:
    server = FeedServer()
    server.set("/wire.rss", DEMO_FEED.read_bytes())
    with serve(server) as base:
        env = env_for(tmp_path, f"- {{url: '{base}/wire.rss', name: Wire}}\n")
        first = newsmon(env, "run", "--once")
        assert first.returncode == 0, first.stderr[-3000:]
        alerts = re.findall(r"ALERT\b[^\n]*rule=putin-ceasefire", first.stderr)
        store = store_of(tmp_path)
        assert store.count() == 15
        # One alert per story that matches the rule (which stories match is the tagger's
        # business: the seed article's is one of them).
        matching = store.search(RULE_QUERY, limit=100).hits
        stories = {doc["story_id"] for doc in matching}
        assert any("Zelensky Invites Putin" in doc["title"] for doc in matching)
        assert len(alerts) == len(stories) >= 2, first.stderr[-3000:]
        found = newsmon(env, "search", "Istanbul AND topic:peace_talks", "--json")
        assert found.returncode == 0 and len(found.stdout.splitlines()) == 3
        second = newsmon(env, "run", "--once")
        assert second.returncode == 0, second.stderr[-3000:]
        assert "ALERT" not in second.stderr
        assert store.count() == 15
        assert len(store.alerts()) == len(stories)


def many_items(base: str, feed: int, n: int) -> bytes:
    title, text = seed_article()
    items: list[dict[str, Any]] = [
        {
            "title": f"{title} (update {feed}.{i})",
            "text": f"Update {feed}.{i}. {text}",
            "link": f"{base}/articles/{feed}/{i}",
            "published": datetime(2025, 5, 11, 9, i % 60, tzinfo=UTC),
        }
        for i in range(n)
    ]
    return rss(items, title=f"Feed {feed}")


def test_kill_9_mid_run_then_restart_stores_every_item_once(tmp_path: Path) -> None:
    server = FeedServer()
    with serve(server) as base:
        for feed in range(3):
            server.set(f"/f{feed}.rss", many_items(base, feed, 40))
        feeds = "".join(f"- {{url: '{base}/f{feed}.rss', interval: 3600}}\n" for feed in range(3))
        env = {**env_for(tmp_path, feeds), "NEWSMON_BATCH_SIZE": "8"}
        log = (tmp_path / "run.log").open("w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "newsmon", "run"], env=env, stdout=log, stderr=log
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # kill once the first batches are stored
            if "indexed written=" in (tmp_path / "run.log").read_text():
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        partial = store_of(tmp_path).count()
        assert 0 < partial < 120, f"the kill should land mid-run (stored {partial})"
        again = newsmon(env, "run", "--once")
        assert again.returncode == 0, again.stderr[-3000:]
        store = store_of(tmp_path)
        assert store.count() == 120
        urls = [h["url"] for h in store.search("*", limit=1000).hits]
        assert len(urls) == len(set(urls)) == 120


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_stops_cleanly(tmp_path: Path, signum: int) -> None:
    server = FeedServer()
    server.set("/wire.rss", DEMO_FEED.read_bytes())
    with serve(server) as base:
        env = env_for(tmp_path, f"- {{url: '{base}/wire.rss', interval: 3600}}\n")
        log = (tmp_path / "run.log").open("w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "newsmon", "run"], env=env, stdout=log, stderr=log
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and store_of(tmp_path).count() < 15:
            time.sleep(0.2)
        proc.send_signal(signum)
        assert proc.wait(timeout=30) == 0, (tmp_path / "run.log").read_text()[-2000:]
        assert store_of(tmp_path).count() == 15


def test_backfill_loads_an_archive_with_bad_lines_reported(tmp_path: Path) -> None:
    archive = tmp_path / "archive.jsonl"
    dev = (Path(__file__).resolve().parents[1] / "fixtures" / "dev" / "articles.jsonl").read_text()
    archive.write_text(dev + "not json\n" + '{"title": "no url nor id"}\n')
    env = env_for(tmp_path, "[]\n")
    done = newsmon(env, "backfill", str(archive), "--no-progress")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "published=39 skipped=2" in done.stderr
    assert "line=40" in done.stderr and "line=41" in done.stderr
    assert store_of(tmp_path).count() == 39
    again = newsmon(env, "backfill", str(archive), "--no-progress")
    assert again.returncode == 0 and store_of(tmp_path).count() == 39
