"""The analyst page in a real browser (Debian's headless Chromium, driven by Playwright) over a
store filled by ``newsmon run --once`` on the demo feed, a mirror of it (the same items under
other URLs, three hours later: syndicated copies, which the tagger puts in the same story when
they are recent) and a feed that answers 500.

An analyst searches, opens a story, opens an actor, sees the alert that fired and why (and
silences its rule with the token), sees the broken feed, and gets a message — not a trace —
for a bad query and for a store that is down. The numbers on the pages are those of
``newsmon search --json`` for the same query. Screenshots of each step are kept under
``test-artifacts/web/`` (the first one also serves as ``docs/web.png``).

Without Chromium or Playwright these tests are skipped on a developer's machine and fail in CI
(``CI=true``): ``deploy/local/test`` installs Debian's ``chromium`` package.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import FeedServer, serve

ROOT = Path(__file__).resolve().parents[2]
DEMO_FEED = ROOT / "deploy" / "demo" / "peace-talks.rss"
ARTIFACTS = ROOT / "test-artifacts" / "web"
TOKEN = "e2e-token-7f3a"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    for candidate in (
        os.environ.get("NEWSMON_TEST_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def missing(reason: str) -> None:
    """Fail in CI (the browser is part of the test setup there), skip elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: deploy/local/test installs it (apt-get install chromium)")
    pytest.skip(reason)


@dataclass
class Workbench:
    url: str
    env: dict[str, str]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "newsmon", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def search_count(self, query: str) -> int:
        """What ``newsmon search QUERY --json`` finds: one line per article."""
        done = self.cli("search", query, "--json", "--limit", "10000")
        assert done.returncode == 0, done.stderr
        return len(done.stdout.splitlines())


def start_web(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    out = log.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "newsmon", "web", "--port", "0"],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"newsmon web: open (http://\S+)", log.read_text())
        if found:
            return proc, found.group(1).rstrip("/")
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"newsmon web did not start:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def mirrored(feed: str) -> bytes:
    """The demo feed as another outlet syndicates it: other URLs, three hours later."""

    def later(m: re.Match[str]) -> str:
        when = parsedate_to_datetime(m.group(1)) + timedelta(hours=3)
        return f"<pubDate>{format_datetime(when)}</pubDate>"

    text = re.sub(r"<pubDate>([^<]+)</pubDate>", later, feed)
    text = re.sub(r"<(link|guid)([^>]*)>https?://", r"<\1\2>https://mirror.example/", text)
    return text.replace("newsmon demo wire", "newsmon mirror wire").encode()


@pytest.fixture(scope="module")
def feeds() -> Iterator[str]:
    server = FeedServer()
    server.set("/wire.rss", DEMO_FEED.read_bytes())
    server.set("/mirror.rss", mirrored(DEMO_FEED.read_text("utf-8")))

    def handler(req: Any) -> None:
        if req.path == "/broken.rss":
            req.send_response(500)
            req.send_header("Content-Length", "0")
            req.end_headers()
            return
        server(req)

    with serve(handler) as base:
        yield base


@pytest.fixture(scope="module")
def workbench(tmp_path_factory: pytest.TempPathFactory, feeds: str) -> Iterator[Workbench]:
    tmp = tmp_path_factory.mktemp("web")
    (tmp / "feeds.yaml").write_text(
        f"- {{url: '{feeds}/wire.rss', name: 'Demo wire', tags: [demo]}}\n"
        f"- {{url: '{feeds}/mirror.rss', name: 'Mirror wire'}}\n"
        f"- {{url: '{feeds}/broken.rss', name: 'Broken wire'}}\n"
    )
    shutil.copy(ROOT / "deploy" / "demo" / "rules.yaml", tmp / "rules.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    env.update(
        NEWSMON_DATA_DIR=str(tmp / "data"),
        NEWSMON_FEEDS=str(tmp / "feeds.yaml"),
        NEWSMON_RULES=str(tmp / "rules.yaml"),
        NEWSMON_LOG_FORMAT="text",
        NEWSMON_METRICS_PORT="0",
        NEWSMON_WEB_TOKEN=TOKEN,
    )
    bench = Workbench("", env)
    filled = bench.cli("run", "--once")
    assert filled.returncode == 0, filled.stderr[-3000:]
    assert "ALERT" in filled.stderr
    proc, url = start_web(env, tmp / "web.log")
    bench.url = url
    try:
        yield bench
    finally:
        assert stop(proc) == 0, (tmp / "web.log").read_text()[-2000:]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        missing("Chromium is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Playwright for Python is not installed")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    tab.errors = errors
    yield tab
    context.close()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def shown_total(page: Any) -> int:
    return int(page.locator("#total").get_attribute("data-total"))


def test_search_with_highlights_facets_and_the_cli_count(page: Any, workbench: Workbench) -> None:
    page.goto(workbench.url + "/search")
    page.fill("#q", "Istanbul AND topic:peace_talks")
    page.press("#q", "Enter")
    page.wait_for_selector("#total")
    assert shown_total(page) == workbench.search_count("Istanbul AND topic:peace_talks") > 0
    assert page.locator(".hit em").first.inner_text().lower() == "istanbul"
    page.wait_for_selector(".chart.drawn canvas")
    shot(page, "01-search")
    actor = page.locator('[data-facet="actor"] a[data-value]').first
    value = actor.get_attribute("data-value")
    count = int(actor.locator("xpath=following-sibling::span[@class='count']").inner_text())
    actor.click()
    page.wait_for_selector("#total")
    assert shown_total(page) == count
    assert page.input_value("#q") == f'(Istanbul AND topic:peace_talks) AND actor:"{value}"'
    assert shown_total(page) == workbench.search_count(page.input_value("#q"))
    everything = page.goto(workbench.url + "/search")
    assert everything is not None and everything.status == 200
    assert shown_total(page) == workbench.search_count("*:*") == 30
    assert not page.errors, page.errors


def test_export_downloads_the_result(page: Any, workbench: Workbench) -> None:
    page.goto(workbench.url + "/search?q=ceasefire")
    with page.expect_download() as info:
        page.click("text=CSV")
    lines = Path(info.value.path()).read_text("utf-8").strip().splitlines()
    assert lines[0].startswith("published,title,") and len(lines) - 1 == shown_total(page)


def test_a_bad_query_shows_the_parsers_message_at_its_column(
    page: Any, workbench: Workbench
) -> None:
    page.goto(workbench.url + "/search")
    page.fill("#q", "Istanbul AND (ceasefire OR")
    page.press("#q", "Enter")
    problem = page.wait_for_selector("#query-error")
    text = problem.inner_text()
    assert "syntax error: unexpected end of query" in text and "column 27" in text
    caret = page.locator("#query-error .mark").inner_text()
    assert caret == " " * 26 + "^"
    assert "Traceback" not in page.content()
    shot(page, "02-bad-query")
    page.fill("#q", "colour:red OR " + "x " * 6000)
    page.press("#q", "Enter")
    assert "at most 4,000 are accepted" in page.wait_for_selector("#query-error").inner_text()
    page.fill("#q", "colour:red")
    page.press("#q", "Enter")
    assert "unknown field 'colour'" in page.wait_for_selector("#query-error").inner_text()


def test_open_a_story(page: Any, workbench: Workbench) -> None:
    page.goto(workbench.url + "/stories?order=size")
    assert shown_total(page) == 30
    first = page.locator("a.story-link").first
    title = first.inner_text()
    first.click()
    page.wait_for_selector("#story-title")
    assert page.inner_text("#story-title") == title
    story_id = page.url.rsplit("/", 1)[1]
    articles = int(page.inner_text("#story-articles"))
    assert articles == workbench.search_count(f'story_id:"{story_id}"') >= 2  # original + copy
    sources = page.locator("dl.facts div", has_text="sources").locator("dd").inner_text()
    assert int(sources) >= 2
    page.wait_for_selector(".chart.drawn canvas")  # how it grew: the copy came 3 h later
    shot(page, "03-story")
    assert not page.errors, page.errors


def test_open_an_actor(page: Any, workbench: Workbench) -> None:
    page.goto(workbench.url + "/search?q=ceasefire")
    page.locator("a.tag.actor", has_text="Vladimir Putin").first.click()
    page.wait_for_selector("#actor-name")
    assert page.inner_text("#actor-name") == "Vladimir Putin"
    assert shown_total(page) == workbench.search_count('actor:"Vladimir Putin"')
    page.wait_for_selector(".chart.drawn canvas")
    partners = page.locator('[data-facet="co-mentions"] li a[href^="/actor/"]').all_inner_texts()
    assert partners and "Vladimir Putin" not in partners
    shot(page, "04-actor")
    assert not page.errors, page.errors


def test_see_an_alert_and_silence_its_rule(page: Any, workbench: Workbench) -> None:
    page.goto(workbench.url + "/alerts")
    firing = page.locator('.firing[data-rule="putin-ceasefire"]').first
    assert "ceasefire" in firing.locator(".matched").inner_text()
    assert firing.locator(".fragments em").count() > 0
    assert page.locator('form[action="/alerts/silence"]').count() == 0  # not signed in
    shot(page, "05-alerts")
    page.click("text=Sign in")
    page.fill('input[name="token"]', TOKEN)
    page.click('button:has-text("Sign in")')
    page.wait_for_url("**/alerts")
    row = page.locator("#rule-putin-ceasefire")
    row.locator('input[name="reason"]').fill("summit day")
    row.locator('button:has-text("silence")').click()
    page.wait_for_selector("#notice")
    assert "silenced" in page.locator("#rule-putin-ceasefire").inner_text()
    listed = workbench.cli("alerts", "list", "--json")
    rules = {r["name"]: r for r in map(json.loads, listed.stdout.splitlines())}
    assert (
        rules["putin-ceasefire"]["silenced_until"] and not rules["istanbul-talks"]["silenced_until"]
    )
    shot(page, "06-alert-silenced")
    page.locator("#rule-putin-ceasefire").locator('button:has-text("lift silence")').click()
    page.wait_for_selector("#notice")
    assert "sends again" in page.inner_text("#notice")


def test_see_a_broken_feed(page: Any, workbench: Workbench) -> None:
    page.goto(workbench.url + "/feeds")
    broken = page.locator('tr.feed[data-state="failing"]')
    assert "Broken wire" in broken.inner_text() and "HTTP 500" in broken.inner_text()
    healthy = page.locator('tr.feed[data-state="ok"]', has_text="Demo wire")
    assert healthy.locator("td.num a").inner_text() == "15"  # its articles in the store
    shot(page, "07-feeds")


def test_an_unreachable_store_is_a_banner(page: Any, workbench: Workbench, tmp_path: Path) -> None:
    env = {**workbench.env, "NEWSMON_STORE": "http://127.0.0.1:1"}
    proc, url = start_web(env, tmp_path / "web.log")
    try:
        response = page.goto(url + "/search?q=ceasefire")
        assert response is not None and response.status == 200
        banner = page.locator(".banner.error").inner_text()
        assert "cannot be reached" in banner and "127.0.0.1:1" in banner
        page.goto(url + "/feeds")  # what needs no store still shows
        assert "Broken wire" in page.inner_text("main")
        shot(page, "08-store-down")
    finally:
        assert stop(proc) == 0


def test_newsmon_run_serves_the_page_and_stops_with_it(
    workbench: Workbench, tmp_path: Path
) -> None:
    import httpx

    env = {**workbench.env, "NEWSMON_WEB_PORT": "0"}
    env.pop("NEWSMON_WEB_TOKEN")
    log = tmp_path / "run.log"
    out = log.open("wb")
    # port 0 means "no page" for `newsmon run`: pick a free one for it
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        env["NEWSMON_WEB_PORT"] = str(probe.getsockname()[1])
    proc = subprocess.Popen(
        [sys.executable, "-m", "newsmon", "run"], env=env, stdout=out, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 120
        while "web: the analyst page is at" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.2)
        url = re.search(r"page is at (\S+)", log.read_text()).group(1)  # type: ignore[union-attr]
        page = httpx.get(url + "search", timeout=10)
        assert page.status_code == 200 and 'data-total="30"' in page.text
    finally:
        assert stop(proc) == 0, log.read_text()[-2000:]
