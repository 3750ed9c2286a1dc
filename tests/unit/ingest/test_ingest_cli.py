"""``newsmon feeds import|export|add|check|status`` through the real CLI entry point."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from ingest.feedsfile import read_opml
from ingest.poller import FeedPoller
from ingest.state import STATE_FILE, FeedState
from newsmon.bus import MemoryBus
from newsmon.cli import main
from newsmon.config import IngestSettings, Settings, load_feeds
from tests.unit.ingest.feedserver import FeedServer, rss, send, static

OPML = b"""<?xml version="1.0"?>
<opml version="2.0"><head><title>subs</title></head><body>
  <outline text="World">
    <outline type="rss" text="BBC World" xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"
             category="europe"/>
    <outline type="rss" title="DW" text="dw" xmlUrl="https://rss.dw.com/rdf/rss-en-world"/>
  </outline>
  <outline type="rss" text="bad" xmlUrl="not a url"/>
  <outline type="rss" text="UN" xmlUrl="https://news.un.org/feed/subscribe/en/news/all/rss.xml"/>
</body></opml>"""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    feeds = tmp_path / "feeds.yaml"
    monkeypatch.setenv("NEWSMON_FEEDS", str(feeds))
    monkeypatch.setenv("NEWSMON_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NEWSMON_ALLOW_PRIVATE_ADDRESSES", "false")
    return feeds


def test_read_opml_folders_become_tags() -> None:
    feeds = read_opml(OPML)
    assert [f.display_name for f in feeds] == ["BBC World", "DW", "UN"]
    assert feeds[0].tags == ("World", "europe") and feeds[2].tags == ()


def test_opml_with_entities_is_refused() -> None:
    from newsmon.errors import ConfigError

    evil = b'<!DOCTYPE x [<!ENTITY a "aaaa">]><opml><body><outline xmlUrl="&a;"/></body></opml>'
    with pytest.raises(ConfigError):
        read_opml(evil)


def test_import_merges_without_duplicates_and_keeps_comments(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env.write_text("# my feeds\n- url: https://rss.dw.com/rdf/rss-en-world\n  name: DW\n")
    (tmp_path / "subs.opml").write_bytes(OPML)
    assert main(["feeds", "import", str(tmp_path / "subs.opml")]) == 0
    assert "2 feeds added, 1 already present" in capsys.readouterr().out
    assert main(["feeds", "import", str(tmp_path / "subs.opml")]) == 0
    assert "0 feeds added, 3 already present" in capsys.readouterr().out
    feeds = load_feeds(env)
    assert [f.display_name for f in feeds] == ["DW", "BBC World", "UN"]
    assert env.read_text().startswith("# my feeds\n")


def test_add_then_export_round_trips(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "feeds",
        "add",
        "https://kyivindependent.com/news-archive/rss/",
        "--name",
        "Kyiv Independent",
        "--tag",
        "ukraine",
        "--interval",
        "600",
        "--no-full-text",
    ]
    assert main(args) == 0
    assert main(args) == 0
    assert "already present" in capsys.readouterr().out
    [feed] = load_feeds(env)
    assert (feed.tags, feed.interval, feed.full_text) == (("ukraine",), 600, False)
    assert main(["feeds", "export"]) == 0
    again = read_opml(capsys.readouterr().out.encode())
    assert [(f.url, f.display_name, f.tags) for f in again] == [
        (feed.url, "Kyiv Independent", ("ukraine",))
    ]


def test_add_rejects_a_bad_url(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["feeds", "add", "ftp://example.org/x"]) == 2
    assert "url" in capsys.readouterr().err


def test_check_prints_what_would_be_published_without_side_effects(
    env: Path, tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    feed_server.routes["/f"] = static(rss([("Talks", "https://example.org/1")], title="Wire"))
    assert main(["feeds", "check", feed_server.url("/f")]) == 0
    out = capsys.readouterr().out
    assert "Wire: HTTP 200" in out and "1 articles" in out and "https://example.org/1" in out
    assert main(["feeds", "check", "--json", feed_server.url("/f")]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "Talks"
    assert not (tmp_path / "data").exists()
    feed_server.routes["/bad"] = static(b"nope", 404)
    assert main(["feeds", "check", feed_server.url("/bad")]) == 1


def test_status_shows_records(
    env: Path, tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    feed_server.routes["/ok"] = static(rss([("Talks", "https://example.org/1")]))
    feed_server.routes["/gone"] = static(b"", 410)
    ok_url, gone_url = feed_server.url("/ok"), feed_server.url("/gone")
    env.write_text(f"- url: {ok_url}\n  name: OK\n- url: {gone_url}\n")
    settings = Settings(
        data_dir=tmp_path / "data", ingest=IngestSettings(host_spacing=0, full_text_min_chars=0)
    )
    poller = FeedPoller(
        load_feeds(env), MemoryBus(), tmp_path / "data" / STATE_FILE, settings, rng=random.Random(1)
    )
    poller.poll_all(datetime.now(UTC))
    poller.close()
    assert main(["feeds", "status", "--json"]) == 0
    ok, gone = json.loads(capsys.readouterr().out)
    assert (ok["name"], ok["items_seen"], ok["failures"], ok["gone"]) == ("OK", 1, 0, False)
    assert ok["last_success"] and ok["next_poll"] and ok["stale"] is False
    assert (gone["gone"], gone["error_kind"], gone["failures"], gone["next_poll"]) == (
        True,
        "gone",
        1,
        None,
    )
    assert main(["feeds", "status"]) == 0
    text = capsys.readouterr().out
    assert "[gone, failing]" in text and "never (gone)" in text


def test_resume_brings_back_a_gone_feed_even_into_a_running_poller(
    env: Path, tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    feed_server.routes["/gone"] = static(b"", 410)
    gone_url = feed_server.url("/gone")
    env.write_text(f"- url: {gone_url}\n  name: Back\n")
    settings = Settings(
        data_dir=tmp_path / "data", ingest=IngestSettings(host_spacing=0, full_text_min_chars=0)
    )
    bus = MemoryBus()
    poller = FeedPoller(
        load_feeds(env), bus, tmp_path / "data" / STATE_FILE, settings, rng=random.Random(1)
    )
    now = datetime.now(UTC)
    poller.poll_all(now)
    assert poller.poll_due(now + timedelta(days=1)).feeds == ()  # gone: never polled again
    feed_server.routes["/gone"] = static(rss([("Back again", "https://example.org/back")]))

    assert main(["feeds", "resume", gone_url]) == 0
    assert "resumed" in capsys.readouterr().out
    assert main(["feeds", "status", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["gone"], row["failures"], row["next_poll"]) == (False, 0, None)
    assert row["resumed"] and row["error_kind"] == "gone"  # what happened stays visible

    [report] = poller.poll_due(now + timedelta(seconds=1)).feeds  # the same, running poller
    poller.close()
    assert (report.status, report.new_items) == ("ok", 1)
    assert main(["feeds", "status"]) == 0
    assert "[ok]" in (out := capsys.readouterr().out) and "resumed by operator" in out


def test_resume_resets_the_failure_backoff(
    env: Path, tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.routes["/down"] = static(b"", 503)
    url = feed_server.url("/down")
    env.write_text(f"- url: {url}\n")
    settings = Settings(
        data_dir=tmp_path / "data", ingest=IngestSettings(host_spacing=0, full_text_min_chars=0)
    )
    state = tmp_path / "data" / STATE_FILE
    poller = FeedPoller(load_feeds(env), MemoryBus(), state, settings, rng=random.Random(1))
    now = datetime.now(UTC)
    for _ in range(3):
        poller.poll_all(now)
    poller.close()
    before = FeedState(state)
    assert before.get(url).consecutive_failures == 3
    before.close()
    assert main(["feeds", "resume", url]) == 0
    after = FeedState(state)
    record = after.get(url)
    after.close()
    assert (record.consecutive_failures, record.next_poll, record.gone) == (0, None, False)


def test_a_resume_that_lands_while_the_feed_is_polled_is_not_undone(
    env: Path, tmp_path: Path, feed_server: FeedServer
) -> None:
    url = feed_server.url("/flaky")
    env.write_text(f"- url: {url}\n")
    settings = Settings(
        data_dir=tmp_path / "data", ingest=IngestSettings(host_spacing=0, full_text_min_chars=0)
    )
    poller = FeedPoller(
        load_feeds(env), MemoryBus(), tmp_path / "data" / STATE_FILE, settings, rng=random.Random(1)
    )
    now = datetime.now(UTC)
    feed_server.routes["/flaky"] = static(b"", 503)
    poller.poll_all(now)  # a failure: backed off

    def resumed_then_gone(handler: BaseHTTPRequestHandler) -> None:
        assert main(["feeds", "resume", url]) == 0  # the operator, mid-poll
        send(handler, 410)

    feed_server.routes["/flaky"] = resumed_then_gone
    [report] = poller.poll_all(now).feeds
    assert (report.status, report.gone) == ("error", True)
    feed_server.routes["/flaky"] = static(rss([("Back", "https://example.org/back")]))
    [report] = poller.poll_due(now + timedelta(seconds=1)).feeds  # the resume holds: due now
    poller.close()
    assert (report.status, report.new_items) == ("ok", 1)


def test_resume_of_an_unknown_feed_is_a_clear_error(env: Path, tmp_path: Path) -> None:
    FeedState(tmp_path / "data" / STATE_FILE).close()
    assert main(["feeds", "resume", "https://never.example/feed"]) != 0
