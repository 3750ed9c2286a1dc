"""Per-host politeness: concurrency limit and spacing (fake clock), hosts independent."""

from __future__ import annotations

import threading
import time

from ingest.politeness import HostGate, host_key


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_requests_to_one_host_are_spaced() -> None:
    clock = FakeClock()
    gate = HostGate(2, 1.5, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        with gate.slot("https://news.example.org/a"):
            clock.now += 0.5
    assert clock.slept == [1.0, 1.0]


def test_hosts_do_not_wait_for_each_other() -> None:
    clock = FakeClock()
    gate = HostGate(1, 10, clock=clock, sleep=clock.sleep)
    for host in ("a.org", "b.org", "c.org"):
        with gate.slot(f"https://{host}/feed"):
            pass
    assert clock.slept == []


def test_concurrency_per_host_is_capped() -> None:
    gate = HostGate(2, 0.0)
    inside, peak, lock = [0], [0], threading.Lock()

    def work() -> None:
        with gate.slot("http://one.example/x"):
            with lock:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            time.sleep(0.02)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 2


def test_host_key_ignores_case_and_port() -> None:
    assert host_key("https://News.Example.org:8443/x") == "news.example.org"
