"""The core's read-only view of the poller's state equals what the poller wrote."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingest.state import FeedRecord, FeedState
from newsmon.config import Settings
from newsmon.feedstatus import read_records, stale, status_rows

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)


def test_rows_from_the_pollers_own_state(tmp_path: Path) -> None:
    state = FeedState(tmp_path / "ingest.sqlite3")
    state.save_many(
        [
            FeedRecord(
                "https://a.example/rss",
                last_success=NOW - timedelta(hours=1),
                items_seen=7,
                last_new=NOW - timedelta(days=2),
                interval=600.0,
            ),
            FeedRecord(
                "https://b.example/rss",
                last_error="HTTP 410",
                error_kind="gone",
                consecutive_failures=1,
                gone=True,
            ),
        ]
    )
    state.close()
    records = read_records(tmp_path / "ingest.sqlite3")
    assert records["https://a.example/rss"]["last_success"] == NOW - timedelta(hours=1)
    assert records["https://b.example/rss"]["gone"] is True
    rows = {r["url"]: r for r in status_rows(Settings(data_dir=tmp_path), NOW)}
    assert rows["https://a.example/rss"]["stale"]  # 2 d > 8 x 10 min
    assert rows["https://a.example/rss"]["items_seen"] == 7
    assert rows["https://b.example/rss"]["gone"] and not rows["https://b.example/rss"]["stale"]
    assert read_records(tmp_path / "missing.sqlite3") == {}


def test_stale() -> None:
    assert stale(NOW - timedelta(hours=5), False, None, 300, 8, NOW)
    assert not stale(NOW - timedelta(hours=5), False, None, 3600, 8, NOW)
    assert not stale(NOW - timedelta(hours=5), False, 7200.0, 300, 8, NOW)  # adaptive interval
    assert not stale(None, False, None, 1, 8, NOW) and not stale(
        NOW - timedelta(days=9), True, None, 1, 8, NOW
    )
