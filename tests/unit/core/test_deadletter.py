"""Dead letters on the in-memory bus: list, show, replay once per letter with growing attempts;
the health state and bounded checks of the observe module; the shutdown deadline."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from newsmon import deadletter
from newsmon.bus import DEADLETTER_TOPIC, RAW_TOPIC, TAGGED_TOPIC, MemoryBus, Record
from newsmon.errors import TransientError
from newsmon.observe import HealthServer, StageState, bounded
from newsmon.runtime import DeadLetter, attempts_of, drain
from newsmon.status import parse_metrics, render, service_summary

ROOT = Path(__file__).resolve().parents[3]


class Picky:
    """A stage that dead-letters every record whose value is in ``bad``."""

    def __init__(self, name: str, topic: str, bad: set[bytes]) -> None:
        self.name, self.topics, self.bad = name, (topic,), bad
        self.seen: list[Record] = []

    def handle(self, records: Sequence[Record]) -> list[DeadLetter]:
        self.seen.extend(records)
        return [DeadLetter(r, f"cannot handle {r.value!r}") for r in records if r.value in self.bad]


def run(bus: MemoryBus, stage: Picky) -> None:
    drain(stage, bus, bus.consumer(f"newsmon-{stage.name}", stage.topics))


@pytest.fixture
def bus() -> MemoryBus:
    bus = MemoryBus()
    bus.publish(RAW_TOPIC, "a1", b"good", {"trace": b"t1"})
    bus.publish(RAW_TOPIC, "a2", b"poison")
    bus.publish(TAGGED_TOPIC, "a3", b"bad-doc")
    run(bus, Picky("process", RAW_TOPIC, {b"poison"}))
    run(bus, Picky("index", TAGGED_TOPIC, {b"bad-doc"}))
    return bus


def test_list_and_filter_by_stage(bus: MemoryBus) -> None:
    found = deadletter.letters(bus, timeout=1)
    assert [(lt.ref, lt.key, lt.stage) for lt in found] == [("0:0", "a2", "process"),
                                                            ("0:1", "a3", "index")]
    first = found[0]
    assert first.attempts == 1 and first.source_topic == RAW_TOPIC and first.source_offset == 1
    assert "poison" in first.error
    assert [lt.key for lt in deadletter.letters(bus, stage="index", timeout=1)] == ["a3"]
    assert len(deadletter.letters(bus, limit=1, timeout=1)) == 1
    table = deadletter.format_table(found)
    assert "0:0" in table and "process" in table


def test_show_by_ref_offset_or_key(bus: MemoryBus) -> None:
    found = deadletter.letters(bus, timeout=1)
    assert [lt.key for lt in deadletter.find(found, "0:1")] == ["a3"]
    assert [lt.key for lt in deadletter.find(found, "0")] == ["a2"]
    assert [lt.key for lt in deadletter.find(found, "a3")] == ["a3"]
    assert deadletter.find(found, "nope") == []
    assert found[0].summary(with_value=True)["value"] == "poison"


def test_replay_republishes_once_with_incremented_attempts(bus: MemoryBus) -> None:
    report = deadletter.replay(bus, "process", timeout=1)
    assert [lt.key for lt in report.replayed["process"]] == ["a2"]
    again = bus.records(RAW_TOPIC)[-1]
    assert (again.key, again.value) == ("a2", b"poison")
    assert again.headers["attempts"] == b"2" and again.headers["replayed_from"] == b"0:0"
    assert "error" not in again.headers and "stage" not in again.headers
    assert deadletter.replay(bus, "process", timeout=1).total == 0  # never the same letter twice

    # still broken: dead-lettered again, now as attempt 2, and replayable once more
    run(bus, Picky("process", RAW_TOPIC, {b"poison"}))
    newest = deadletter.letters(bus, stage="process", timeout=1)[-1]
    assert newest.attempts == 2 and newest.headers.get("replayed_from") == b"0:0"
    third = deadletter.replay(bus, "process", timeout=1).replayed["process"]
    assert [lt.attempts for lt in third] == [2]
    assert bus.records(RAW_TOPIC)[-1].headers["attempts"] == b"3"


def test_replay_keeps_original_headers_and_fixed_records_pass(bus: MemoryBus) -> None:
    bus.publish(RAW_TOPIC, "a4", b"poison", {"trace": b"t4"})
    run(bus, Picky("process", RAW_TOPIC, {b"poison"}))
    deadletter.replay(bus, "process", timeout=1)
    assert bus.records(RAW_TOPIC)[-1].headers["trace"] == b"t4"
    fixed = Picky("process", RAW_TOPIC, set())  # the fix is deployed
    run(bus, fixed)
    assert [r.key for r in fixed.seen] == ["a2", "a4"]
    assert len(deadletter.letters(bus, stage="process", timeout=1)) == 2  # history stays


def test_dry_run_commits_nothing_and_stages_are_independent(bus: MemoryBus) -> None:
    dry = deadletter.replay(bus, dry_run=True, timeout=1)
    assert dry.dry_run and {k: len(v) for k, v in dry.replayed.items()} == {
        "process": 1, "index": 1, "alert": 0}
    assert len(bus.records(RAW_TOPIC)) == 2 and len(bus.records(TAGGED_TOPIC)) == 1
    assert deadletter.replay(bus, "index", timeout=1).total == 1
    report = deadletter.replay(bus, timeout=1)  # every stage: only process is left
    assert {k: len(v) for k, v in report.replayed.items()} == {"process": 1, "index": 0, "alert": 0}
    assert bus.records(TAGGED_TOPIC)[-1].headers["attempts"] == b"2"


def test_cli_on_memory_bus_sees_an_empty_topic(capsys: pytest.CaptureFixture[str]) -> None:
    from newsmon.cli import main

    assert main(["deadletter", "--bus", "memory://", "list", "--json"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["deadletter", "--bus", "memory://", "show", "0:0"]) == 1
    assert main(["deadletter", "--bus", "memory://", "replay", "--dry-run"]) == 0
    assert "would replay stage=process letters=0" in capsys.readouterr().out


def test_attempts_header() -> None:
    rec = Record(DEADLETTER_TOPIC, 0, 0, "k", b"v", {"attempts": b"4"})
    assert attempts_of(rec) == 4
    assert attempts_of(Record(RAW_TOPIC, 0, 0, "k", b"v")) == 1
    assert attempts_of(Record(RAW_TOPIC, 0, 0, "k", b"v", {"attempts": b"x"})) == 1


# --- health -----------------------------------------------------------------------------------


def test_stage_state_makes_health_fail_while_backing_off() -> None:
    state = StageState("index")
    server = HealthServer("index", [state.check], "127.0.0.1", 0)
    assert server.health() == (True, [])
    state.backing_off("elasticsearch bulk write failed: connection refused")
    ok, problems = server.health()
    assert not ok and "backing off after 1 transient failures" in problems[0]
    state.working()
    assert server.health()[0]
    server.close()


def test_a_hanging_check_fails_within_its_bound() -> None:
    release = threading.Event()
    started = time.monotonic()
    hanging = bounded(lambda: release.wait(10), timeout=0.3)
    with pytest.raises(TransientError, match="timed out"):
        hanging()
    with pytest.raises(TransientError, match="still running"):  # no second thread meanwhile
        hanging()
    assert time.monotonic() - started < 2
    release.set()
    time.sleep(0.1)
    hanging()  # the hung run ended: the next call runs the check again

    def broken() -> None:
        raise RuntimeError("vendor error")

    server = HealthServer("x", [broken], "127.0.0.1", 0)
    assert server.health() == (False, ["RuntimeError: vendor error"])
    server.close()


def test_status_summary_from_metrics_text() -> None:
    text = textwrap.dedent("""\
        newsmon_stage_consumer_lag{stage="index"} 12.0
        newsmon_stage_backing_off{stage="index"} 1.0
        newsmon_stage_records_total{stage="index",status="ok"} 40.0
        newsmon_stage_records_total{stage="index",status="dead_letter"} 2.0
        newsmon_stage_last_batch_timestamp_seconds{stage="index"} 1000.0
        newsmon_ingest_stale_feeds 3.0
        """)
    summary = service_summary("index", parse_metrics(text), now=1010.0)
    assert summary["lag"] == 12 and summary["backing_off"] and summary["records_ok"] == 40
    assert summary["dead_letters"] == 2 and summary["seconds_since_batch"] == 10.0
    assert summary["stale_feeds"] == 3
    report = {
        "healthy": False,
        "services": {"index": {"reachable": True, "ready": False, "problem": "es down", **summary},
                     "alert": {"reachable": False, "ready": False, "problem": "not reachable"}},
        "kafka": {"groups": {"newsmon-index": {"lag": 12}}, "topics": {DEADLETTER_TOPIC: 2}},
        "store": {"error": "elasticsearch health check failed"},
    }
    text_out = render(report)
    assert "NOT healthy" in text_out and "backing-off" in text_out and "lag=12" in text_out
    assert "dead letters=2" in text_out and "alert    down" in text_out


# --- shutdown ---------------------------------------------------------------------------------

STUCK_SERVICE = """
import sys, threading, time
from newsmon.bus import MemoryBus, RAW_TOPIC
from newsmon.runtime import consume_forever, install_signal_handlers

class Stage:
    name, topics = "stuck", (RAW_TOPIC,)
    def handle(self, records):
        print("handling", flush=True)
        time.sleep(float(sys.argv[1]))
        return []

bus = MemoryBus()
bus.publish(RAW_TOPIC, "k", b"v")
stop = threading.Event()
install_signal_handlers(stop, deadline=float(sys.argv[2]))
consume_forever(Stage(), bus, bus.consumer("g", Stage.topics), stop, poll_timeout=0.05)
print("clean exit", flush=True)
"""


def _run_stuck(batch_seconds: float, deadline: float) -> tuple[int, float, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", STUCK_SERVICE, str(batch_seconds), str(deadline)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "handling"
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    return proc.returncode, time.monotonic() - started, out


def test_sigterm_finishes_the_batch_then_exits_cleanly() -> None:
    code, took, out = _run_stuck(batch_seconds=1.0, deadline=10.0)
    assert code == 0 and "clean exit" in out and took < 5


def test_sigterm_past_the_deadline_exits_non_zero() -> None:
    code, took, out = _run_stuck(batch_seconds=60.0, deadline=1.0)
    assert code == 70 and "clean exit" not in out and took < 10
