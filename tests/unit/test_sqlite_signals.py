"""The SQLite store's signal tables: created in a file from an older version, shared by two
stores on one file (two alert workers) with compare-and-set."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsmon.adapters.sqlite_store import SqliteStore

T0 = datetime(2025, 5, 12, tzinfo=UTC)


def test_a_file_from_before_the_signal_tables_gets_them(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    SqliteStore(path).close()
    with sqlite3.connect(path) as db:  # as an older version left it
        db.execute("DROP TABLE signal_hits")
        db.execute("DROP TABLE signal_states")
    store = SqliteStore(path)
    assert store.record_hits("r", [{"article_id": "a", "at": T0.isoformat()}]) == 1
    assert store.put_state("k", {"x": 1}, None) == "1"
    store.close()


def test_two_stores_on_one_file_share_hits_and_states(tmp_path: Path) -> None:
    one, two = SqliteStore(tmp_path / "news.db"), SqliteStore(tmp_path / "news.db")
    one.record_hits("r", [{"article_id": "a", "at": T0.isoformat()}])
    assert two.record_hits("r", [{"article_id": "a", "at": T0.isoformat()}]) == 0
    assert [h["article_id"] for h in two.hits("r", T0, T0 + timedelta(seconds=1))] == ["a"]
    v1 = one.put_state("k", {"n": 1}, None)
    assert v1 is not None and two.put_state("k", {"n": 2}, None) is None
    v2 = two.put_state("k", {"n": 2}, v1)
    assert v2 is not None and one.put_state("k", {"n": 3}, v1) is None
    got = one.get_state("k")
    assert got is not None and got.doc == {"n": 2}
    one.close()
    two.close()
