"""SQLite feed state: records round-trip, seen ids, WAL, thread sharing."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingest.state import STATE_FILE, FeedRecord, FeedState

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


def test_unknown_feed_gives_fresh_record(tmp_path: Path) -> None:
    state = FeedState.in_dir(tmp_path)
    assert state.get("http://x/") == FeedRecord(url="http://x/")
    assert (tmp_path / STATE_FILE).exists()


def test_record_round_trips_with_aware_times(tmp_path: Path) -> None:
    state = FeedState(tmp_path / "s.db")
    record = FeedRecord(
        url="http://x/",
        etag='"e"',
        last_modified="lm",
        body_hash="h",
        last_polled=NOW,
        last_success=NOW,
        last_status="200",
        consecutive_failures=2,
        items_seen=9,
        next_poll=NOW,
        error_kind="timeout",
        last_error="slow",
        moved_to="http://y/",
    )
    state.save(record)
    state.close()
    again = FeedState(tmp_path / "s.db")
    assert again.get("http://x/") == record
    assert again.get("http://x/").next_poll.tzinfo is not None  # type: ignore[union-attr]
    assert again.records() == [record]


def test_seen_ids(tmp_path: Path) -> None:
    state = FeedState(tmp_path / "s.db")
    assert state.unseen(["a", "b", "a"]) == {"a", "b"}
    state.mark_seen([("a", "http://f/")], NOW)
    state.mark_seen([("a", "http://other/")], NOW)
    assert state.unseen(["a", "b"]) == {"b"}
    assert state.unseen(f"id{i}" for i in range(1200)) == {f"id{i}" for i in range(1200)}


def test_wal_mode(tmp_path: Path) -> None:
    FeedState(tmp_path / "s.db").close()
    mode = sqlite3.connect(tmp_path / "s.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_shared_between_threads(tmp_path: Path) -> None:
    state = FeedState(tmp_path / "s.db")

    def work(n: int) -> None:
        state.mark_seen([(f"{n}-{i}", "f") for i in range(50)], NOW)
        state.save(FeedRecord(url=f"http://{n}/", items_seen=n))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(state.records()) == 8
    assert state.unseen(f"{n}-{i}" for n in range(8) for i in range(50)) == set()


def test_a_resume_stored_since_the_record_was_read_survives_its_save(tmp_path: Path) -> None:
    poller_side = FeedState(tmp_path / "s.db")
    poller_side.save(FeedRecord(url="http://x/", gone=True, consecutive_failures=4))
    polled = poller_side.get("http://x/")  # read before the poll...
    operator = FeedState(tmp_path / "s.db")  # ...`feeds resume` in another process...
    assert operator.resume("http://x/", NOW) is not None
    later = NOW + timedelta(minutes=5)
    poller_side.save(  # ...and the poll's outcome, built from the stale read, is saved
        replace(polled, consecutive_failures=5, next_poll=later, last_polled=later)
    )
    record = operator.get("http://x/")
    assert (record.gone, record.consecutive_failures, record.next_poll) == (False, 0, None)
    assert (record.resumed, record.last_polled) == (NOW, later)  # the rest is the poll's
    # a record that already carries the resume is saved as it is
    poller_side.save(replace(record, consecutive_failures=1, next_poll=later))
    saved = operator.get("http://x/")
    assert (saved.consecutive_failures, saved.next_poll) == (1, later)
    poller_side.close()
    operator.close()
