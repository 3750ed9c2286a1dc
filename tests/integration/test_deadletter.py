"""Dead letters and ``newsmon status`` on real Kafka + Elasticsearch, services as processes.

Poison records are dead-lettered by ``process``; ``newsmon deadletter list|show|replay`` read
and re-publish them (attempts incremented; a letter is never replayed twice); ``newsmon status``
reports every service ready, the group lag, the dead letters and the stored article; every
service (ingest included) answers ``/healthz`` and ``/metrics``; SIGTERM stops all with 0.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chaos.stack import STAGES, Stack, wait_for
from newsmon.bus import RAW_TOPIC
from tests.helpers import FeedServer, rss, seed_article, serve

pytestmark = pytest.mark.integration


@pytest.fixture
def stack(services: Any, unique: str, tmp_path: Path) -> Iterator[Stack]:
    feed_server = FeedServer()
    with serve(feed_server) as base:
        title, text = seed_article()
        item = {"title": title, "text": text, "link": f"{base}/2025/05/11/istanbul",
                "published": datetime(2025, 5, 11, 9, 30, tzinfo=UTC)}
        feed_server.set("/feed.xml", rss([item]))
        (tmp_path / "feeds.yaml").write_text(f"- url: {base}/feed.xml\n  interval: 2\n")
        env = {
            **os.environ,
            "NEWSMON_BUS": services.bus,
            "NEWSMON_STORE": services.store,
            "NEWSMON_NAMESPACE": f"t{unique}-",
            "NEWSMON_FEEDS": str(tmp_path / "feeds.yaml"),
            "NEWSMON_DATA_DIR": str(tmp_path / "data"),
            "NEWSMON_LOG_FORMAT": "json",
        }
        s = Stack(env, tmp_path / "logs")
        try:
            yield s
        finally:
            codes = s.stop()
            print(s.logs())
            assert all(c == 0 for c in codes.values()), f"unclean exit: {codes}"


def newsmon(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "newsmon", *args], env=stack.env, capture_output=True, text=True,
        timeout=120, check=False,
    )


def listed(stack: Stack) -> list[dict[str, Any]]:
    out = newsmon(stack, "deadletter", "list", "--json")
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_dead_letters_replay_and_status(stack: Stack, services: Any, unique: str) -> None:
    from newsmon.adapters.kafka_bus import KafkaBus

    bus = KafkaBus(services.bus, prefix=f"t{unique}-")
    bus.ensure_topics()
    for key in ("poison-a", "poison-b"):
        bus.publish(RAW_TOPIC, key, b"\x00not an article")
    bus.flush()
    bus.close()
    stack.start(*STAGES)

    first = wait_for(lambda: len(found := listed(stack)) >= 2 and found, 90, "two dead letters")
    assert {(d["key"], d["stage"], d["attempts"]) for d in first} == {
        ("poison-a", "process", 1), ("poison-b", "process", 1)}
    shown = newsmon(stack, "deadletter", "show", "poison-a")
    assert shown.returncode == 0 and "RawArticle" in json.loads(shown.stdout)["error"]
    assert newsmon(stack, "deadletter", "show", first[0]["ref"]).returncode == 0

    dry = newsmon(stack, "deadletter", "replay", "--stage", "process", "--dry-run")
    assert "would replay stage=process letters=2" in dry.stdout, dry.stderr
    done = newsmon(stack, "deadletter", "replay", "--stage", "process")
    assert "replayed stage=process letters=2" in done.stdout, done.stderr
    # still poison: dead-lettered again, as attempt 2
    again = wait_for(lambda: len(found := listed(stack)) >= 4 and found, 60, "re-dead-lettered")
    assert sorted(d["attempts"] for d in again) == [1, 1, 2, 2]
    second = newsmon(stack, "deadletter", "replay")
    lines = second.stdout.splitlines()
    assert "replayed stage=process letters=2" in lines[0]  # only the two new letters
    new_refs = {d["ref"] for d in again if d["attempts"] == 2}
    assert set(lines[0].split()[3:]) == new_refs
    assert all("letters=0" in line for line in lines[1:])

    wait_for(lambda: newsmon(stack, "search", "Istanbul").stdout.startswith("1 "), 90,
             "the feed article stored")
    ports = ",".join(f"{s}={p}" for s, p in stack.ports.items())
    status = newsmon(stack, "status", "--json", "--ports", ports)
    report = json.loads(status.stdout)
    assert status.returncode == 0 and report["healthy"], report
    assert all(report["services"][s]["ready"] for s in STAGES)
    assert report["services"]["process"]["dead_letters"] >= 2
    assert report["kafka"]["topics"]["news.deadletter.v1"] >= 4
    assert set(report["kafka"]["groups"]) == {"newsmon-process", "newsmon-index", "newsmon-alert"}
    assert report["store"]["articles"] == 1
    text = newsmon(stack, "status", "--ports", ports)
    assert "newsmon: healthy" in text.stdout and "ingest   ready" in text.stdout
    assert '"stage": "ingest"' in stack.log_text("ingest")
