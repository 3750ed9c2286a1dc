"""Two ``newsmon ingest`` instances on real Kafka share 30 feeds on ten loopback hosts
(127.0.0.1-10) whose items keep coming; one is killed (SIGKILL) mid-run.

The server tells which process asked (the client socket's owner, read from ``/proc``), so the
test sees, per feed, the sequence of instances that polled it. Checked: every feed is polled
by exactly one instance at a time (A alone, then A or B once B joined, then A again after B
died — never interleaved); the survivor polls the dead one's feeds within the group's session
timeout (plus a poll interval); every item ever listed reaches the raw topic; an item appears
twice only on a feed the killed instance owned (published, its record not yet shared: what
at-least-once allows).
"""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from newsmon.adapters.kafka_table import SESSION_TIMEOUT_MS
from newsmon.bus import RAW_TOPIC
from newsmon.schema import RawArticle, article_id, decode
from tests.integration.test_alert_workers import wait_for
from tests.unit.ingest.feedserver import rss, running_server, send

pytestmark = pytest.mark.integration

FEEDS = 30
HOSTS = 10  # feeds are placed by host: each host's feeds go to one instance
NEW_ITEM_EVERY = 3.0  # seconds: each feed lists one more item this often
LISTED = 12  # items a feed lists (the newest)
INTERVAL = 2  # seconds between polls of a feed


def socket_owner(client_port: int, server_port: int, pids: list[int]) -> int | None:
    """The pid (among ``pids``) holding the client end of a loopback TCP connection."""
    inode = None
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            local, remote = fields[1].split(":")[1], fields[2].split(":")[1]
            if int(local, 16) == client_port and int(remote, 16) == server_port:
                inode = fields[9]
                break
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return pid
        except OSError:
            continue
    return None


class Wires:
    """Feeds that gain an item every few seconds until frozen; records who polled them."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.frozen: float | None = None
        self.pids: list[int] = []
        self.polls: list[tuple[float, int, int | None]] = []  # (time, feed, pid)
        self.served: dict[int, set[str]] = defaultdict(set)
        self.lock = threading.Lock()

    def count(self, feed: int) -> int:
        elapsed = (self.frozen or time.monotonic()) - self.started
        return 3 + int((elapsed + feed * 0.1) // NEW_ITEM_EVERY)

    def handler(self, feed: int) -> Callable[[http.server.BaseHTTPRequestHandler], None]:
        def handle(h: http.server.BaseHTTPRequestHandler) -> None:
            port = h.server.server_address[1]
            pid = socket_owner(h.client_address[1], port, list(self.pids))
            count = self.count(feed)
            etag = f'"{feed}-{count}"'
            with self.lock:
                self.polls.append((time.monotonic(), feed, pid))
            if h.headers.get("If-None-Match") == etag:
                send(h, 304, headers={"ETag": etag})
                return
            items = [
                (f"Wire {feed} story {i}", f"https://w{feed}.example.org/story/{i}")
                for i in range(max(0, count - LISTED), count)
            ]
            with self.lock:
                self.served[feed].update(link for _, link in items)
            send(h, 200, rss(items[::-1]), {"ETag": etag})

        return handle

    def sequence(self, feed: int, since: float = 0.0) -> list[int | None]:
        with self.lock:
            return [pid for t, f, pid in self.polls if f == feed and t >= since]

    def first_poll(self, feed: int, pid: int, since: float) -> float | None:
        with self.lock:
            return next(
                (t for t, f, p in self.polls if f == feed and p == pid and t >= since), None
            )


def runs(sequence: list[int | None]) -> list[int | None]:
    """``[a, a, b, b, a]`` → ``[a, b, a]``."""
    return [p for i, p in enumerate(sequence) if i == 0 or sequence[i - 1] != p]


def test_two_instances_share_the_feeds_and_the_survivor_takes_over(
    services: Any, unique: str, tmp_path: Path
) -> None:
    from newsmon.adapters.kafka_bus import KafkaBus

    namespace = f"t{unique}-"
    wires = Wires()
    with ExitStack() as stack:
        servers = [stack.enter_context(running_server(f"127.0.0.{h + 1}")) for h in range(HOSTS)]
        for n in range(FEEDS):
            servers[n % HOSTS].routes[f"/w{n}"] = wires.handler(n)
        feeds = tmp_path / "feeds.yaml"
        feeds.write_text(
            "".join(
                f"- url: {servers[n % HOSTS].url(f'/w{n}')}\n  interval: {INTERVAL}\n"
                for n in range(FEEDS)
            )
        )
        env = {
            **os.environ,
            "NEWSMON_BUS": services.bus,
            "NEWSMON_STORE": "memory://",
            "NEWSMON_NAMESPACE": namespace,
            "NEWSMON_FEEDS": str(feeds),
            "NEWSMON_METRICS_PORT": "0",
            "NEWSMON_INGEST__HOST_SPACING": "0",
            "NEWSMON_INGEST__HOST_CONCURRENCY": "8",
            "NEWSMON_INGEST__FULL_TEXT_MIN_CHARS": "0",
            "NEWSMON_LOG_FORMAT": "text",
        }
        bus = KafkaBus(services.bus, prefix=namespace)
        bus.ensure_topics()
        consumer = bus.consumer("scaleout-check", [RAW_TOPIC])
        published: list[str] = []

        def collect() -> set[str]:
            for record in consumer.poll(1000, timeout=0.3):
                published.append(decode(RawArticle, record.value).article_id)
            return set(published)

        procs: dict[str, subprocess.Popen[bytes]] = {}

        def start(name: str) -> int:
            log = (tmp_path / f"ingest-{name}.log").open("ab")
            env_n = {**env, "NEWSMON_DATA_DIR": str(tmp_path / f"data-{name}")}
            procs[name] = subprocess.Popen(
                [sys.executable, "-m", "newsmon", "ingest"], env=env_n, stdout=log, stderr=log
            )
            wires.pids.append(procs[name].pid)
            return procs[name].pid

        def logs() -> str:
            return "\n".join(
                f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                for p in sorted(tmp_path.glob("ingest-*.log"))
            )

        try:
            a = start("a")
            wait_for(
                lambda: all(wires.sequence(n) for n in range(FEEDS)), 60, "A polls all\n" + logs()
            )
            b = start("b")
            joined = time.monotonic()

            def b_working() -> bool:
                mine = [n for n in range(FEEDS) if b in wires.sequence(n, joined)]
                return len(mine) >= FEEDS // HOSTS

            wait_for(b_working, 60, "B takes its share\n" + logs())
            time.sleep(3 * INTERVAL)
            b_feeds = {n for n in range(FEEDS) if wires.sequence(n, joined)[-1:] == [b]}
            assert b_feeds and len(b_feeds) < FEEDS
            killed = time.monotonic()
            os.kill(b, signal.SIGKILL)  # mid-run: rounds in flight, records maybe unshared
            procs["b"].wait(10)

            def taken_over() -> bool:
                return all(wires.first_poll(n, a, killed) for n in b_feeds)

            wait_for(taken_over, 60, "A takes B's feeds over\n" + logs())
            takeover = max((wires.first_poll(n, a, killed) or 0) - killed for n in b_feeds)
            time.sleep(2 * NEW_ITEM_EVERY)
            wires.frozen = frozen = time.monotonic()  # no more new items from now on

            def final_served() -> bool:  # every feed has served its last items since
                return all(wires.first_poll(n, a, frozen + 0.5) for n in range(FEEDS))

            wait_for(final_served, 30, "A polls every feed after the freeze\n" + logs())
            everything = {article_id(u) for links in wires.served.values() for u in links}
            wait_for(lambda: everything <= collect(), 60, "every item on the raw topic\n" + logs())
            time.sleep(2 * INTERVAL)
            collect()
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in procs.values():
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            consumer.close()
            bus.close()

    print(
        f"takeover after kill: {takeover:.1f}s; feeds of B: {len(b_feeds)}; "
        f"items: {len(everything)}; records: {len(published)}"
    )
    for n in range(FEEDS):  # one owner at a time: A, then B (B's feeds), then A again
        expected = [a, b, a] if n in b_feeds else [a]
        # a request whose sender cannot be read within a second of the kill is B's last one:
        # the kernel tears its socket down with the process before the handler looks it up
        seq = [
            pid
            for t, f, pid in wires.polls
            if f == n and not (pid is None and abs(t - killed) < 1.0)
        ]
        assert runs(seq) == expected, (n, runs(seq), logs())
    assert takeover <= SESSION_TIMEOUT_MS / 1000 + 2 * INTERVAL + 3, logs()
    twice = Counter(published) - Counter(set(published))
    urls = {article_id(u): n for n, links in wires.served.items() for u in links}
    links = {article_id(u): u for links in wires.served.values() for u in links}
    print("published twice:", sorted(links[i].split("//")[1] for i in twice))
    assert set(published) == everything, "every item served, and nothing else"
    assert {urls[i] for i in twice} <= b_feeds, "only the killed instance's feeds repeat"
    assert sum(twice.values()) <= 2 * len(b_feeds), "at most its last poll per feed again"
    for n in range(FEEDS):  # a host's feeds stay together: its politeness holds
        assert (n in b_feeds) == (n % HOSTS in {m % HOSTS for m in b_feeds})
