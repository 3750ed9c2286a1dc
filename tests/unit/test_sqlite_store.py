"""The embedded SQLite store: persistence, matcher parity, FTS use, the once-only ledger."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from newsmon.adapters.sqlite_query import plan_query
from newsmon.adapters.sqlite_store import SqliteStore
from newsmon.errors import ConfigError, TransientError
from newsmon.query import QueryError
from newsmon.store import MemoryStore

ROOT = Path(__file__).resolve().parents[2]


def art(i: int, title: str, text: str, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "article_id": f"a{i:02d}",
        "url": f"https://example.com/{i}",
        "title": title,
        "text": text,
        "source": "Reuters" if i % 3 == 0 else "Kyiv Independent",
        "lang": "en",
        "story_id": f"s{i}",
        "published": f"2025-05-{i + 1:02d}T{(i * 5) % 24:02d}:30:00+00:00",
        "actor": [],
        "topic": [],
    }
    return {**base, **extra}


DOCS: list[dict[str, Any]] = [
    art(1, "Peace talks open in Istanbul", "Negotiators met to discuss a ceasefire.",
        actor=["Vladimir Putin", "Recep Tayyip Erdogan"], topic=["peace_talks"],
        place=["Istanbul"]),
    art(2, "Zelensky ready for talks", "Volodymyr Zelensky said he would negotiate directly.",
        actor=["Volodymyr Zelensky"], topic=["peace_talks"]),
    art(3, "Ceasefire collapses", "Shelling resumed overnight; the truce lasted 3.5 days.",
        topic=["war"]),
    art(4, "Prisoner exchange agreed", "A prisoner exchange of 1,000 for 1,000 was agreed.",
        actor=["Volodymyr Zelensky", "Vladimir Putin"], topic=["peace_talks", "prisoners"]),
    art(5, "U.S. envoy travels to Moscow", "The U.S. envoy held negotiations with the Kremlin.",
        actor=["Steve Witkoff"], place=["Moscow"]),
    art(6, "Talks peace: an analysis", "Why the talks didn't deliver peace.", topic=["opinion"]),
    art(7, "Переговори у Стамбулі", "Делегації обговорили припинення вогню. Київ чекає.",
        lang="uk", actor=["Рустем Умєров"], place=["Стамбул"]),
    art(8, "L'école de la paix", "Une école française parle de négociation.", lang="fr"),
    art(9, "Ecole without accents", "The ecole story repeats NEGOTIATING in capitals.",
        lang="en"),
    art(10, "北京 statement on talks", "中国 calls for peace talks.", lang="zh"),
    art(11, "Gaza aid convoy", "Aid reached Gaza on Friday.", topic=["middle_east"],
        place=["Gaza"]),
    art(12, "Summit in Geneva", "Ceasefire talks continue; negotiating teams stay in Geneva.",
        actor=["Vladimir Putin"], topic=["peace_talks"], place=["Geneva"]),
    art(13, "Energy truce", "An energy truce covers power plants.", topic=["war"],
        tags=["Energy", "Infrastructure"]),
    art(14, "No date story", "Talks about talks.", published=None),
    art(15, "Late ceasefire news", "A ceasefire was announced late on the 15th.",
        published="2025-05-16T23:30:00-05:00", actor=["Donald Trump"]),
]

QUERIES = [
    "ceasefire",
    "Ceasefire",
    '"peace talks"',
    '"talks peace"',
    "negotiat*",
    "ceasefire AND talks",
    "ceasefire OR gaza",
    "ceasefire talks",
    "ceasefire NOT Geneva",
    "ceasefire -Geneva",
    "+ceasefire +talks",
    "NOT ceasefire",
    "-talks",
    "title:ceasefire",
    'text:"prisoner exchange"',
    'actor:"Vladimir Putin"',
    'actor:"vladimir putin"',
    "actor:zel*",
    "topic:peace_talks",
    "source:reuters",
    'source:"Kyiv Independent" AND talks',
    "lang:uk OR lang:fr",
    "place:geneva AND ceasefire",
    "published:[2025-05-03 TO 2025-05-06]",
    "published:{2025-05-03 TO 2025-05-06}",
    "published:>2025-05-12",
    "published:<2025-05-04",
    "published:2025-05-17",
    "published:[now-3650d TO now]",
    "école",
    "ecole",
    "didn't",
    "u.s",
    '"U.S. envoy"',
    "Київ",
    "стамбул*",
    "*tiat*",
    "ceasfire~1",
    '"ceasefire talks"~3',
    '(ceasefire OR truce) AND actor:"Volodymyr Zelensky"',
    "title:(talks OR summit) AND NOT topic:opinion",
    "tags:energy",
    "北京",
    "*",
    "gaza AND ceasefire",
    "3.5",
]


@pytest.fixture
def sqlite_store(tmp_path: Path) -> SqliteStore:
    store = SqliteStore(tmp_path / "news.db")
    yield store  # type: ignore[misc]
    store.close()


@pytest.fixture
def loaded(sqlite_store: SqliteStore) -> tuple[SqliteStore, MemoryStore]:
    memory = MemoryStore()
    memory.write_articles(DOCS)
    sqlite_store.write_articles(DOCS)
    return sqlite_store, memory


def ids(hits: list[dict[str, Any]]) -> list[str]:
    return [h["article_id"] for h in hits]


@pytest.mark.parametrize("query", QUERIES)
def test_search_equals_the_matcher(loaded: tuple[SqliteStore, MemoryStore], query: str) -> None:
    sqlite_store, memory = loaded
    try:
        expected = memory.search(query, limit=100)
    except QueryError:
        with pytest.raises(QueryError):
            sqlite_store.search(query, limit=100)
        return
    got = sqlite_store.search(query, limit=100)
    assert ids(got.hits) == ids(expected.hits)
    assert got.total == expected.total == sqlite_store.count(query)


@pytest.mark.parametrize("query", [
    "ceasefire", '"peace talks"', "negotiat*", "ceasefire AND NOT Geneva", "title:ceasefire",
    'actor:"Vladimir Putin"', "topic:peace_talks AND talks", "published:>2025-05-12",
    "Київ", "ceasefire -talks",
])
def test_simple_queries_select_candidates_without_a_full_scan(
    loaded: tuple[SqliteStore, MemoryStore], query: str
) -> None:
    sqlite_store, memory = loaded
    result = sqlite_store.search(query, limit=100)
    assert sqlite_store.full_scans == 0
    assert ids(result.hits) == ids(memory.search(query, limit=100).hits)
    assert sqlite_store.last_plan is not None and sqlite_store.last_plan.where is not None


def test_text_terms_use_the_fts_index(loaded: tuple[SqliteStore, MemoryStore]) -> None:
    sqlite_store, _ = loaded
    plan = sqlite_store.query_plan("ceasefire AND talks")
    assert any("articles_fts VIRTUAL TABLE INDEX" in line for line in plan), plan
    assert plan_query("ceasefire AND talks").fts == ("(ceasefire) AND (talks)",) or plan_query(
        "ceasefire AND talks").where is not None


@pytest.mark.parametrize("query", ["NOT ceasefire", "*tiat*", "ceasfire~1", "北京", "*"])
def test_untranslatable_queries_fall_back_to_a_full_scan(
    loaded: tuple[SqliteStore, MemoryStore], query: str
) -> None:
    sqlite_store, memory = loaded
    try:
        expected = ids(memory.search(query, limit=100).hits)
    except QueryError:
        pytest.skip("the matcher rejects this query")
    assert ids(sqlite_store.search(query, limit=100).hits) == expected
    assert sqlite_store.full_scans == 1


def test_sort_and_limit(loaded: tuple[SqliteStore, MemoryStore]) -> None:
    sqlite_store, _ = loaded
    newest = sqlite_store.search("talks", limit=3)
    assert ids(newest.hits) == ["a12", "a10", "a06"] and newest.total >= 6
    relevant = sqlite_store.search("talks", limit=100, sort="relevance")
    assert sorted(ids(relevant.hits)) == sorted(ids(sqlite_store.search("talks", limit=100).hits))
    assert relevant.hits[0]["article_id"] == "a14"  # "Talks about talks." in a short doc
    assert sqlite_store.search("talks", limit=0).hits == []


def test_bad_query_raises_query_error(sqlite_store: SqliteStore) -> None:
    with pytest.raises(QueryError):
        sqlite_store.search("title:(unbalanced")


def test_data_survives_reopening_the_file(tmp_path: Path) -> None:
    path = tmp_path / "db" / "news.db"
    first = SqliteStore.from_url(f"sqlite:///{path}")
    first.write_articles(DOCS[:3])
    assert first.record_alert("r1:s1", {"rule": "r1", "status": "pending"})
    first.close()
    second = SqliteStore(path)
    assert second.count() == 3
    assert ids(second.search("ceasefire").hits) == ["a03", "a01"]
    assert second.write_articles(DOCS[:4]).duplicates == ["a01", "a02", "a03"]
    assert second.get("a02") == DOCS[1]
    assert second.record_alert("r1:s1", {"rule": "r1"}) is False
    assert [a["alert_id"] for a in second.alerts()] == ["r1:s1"]
    second.close()


def test_duplicates_within_one_batch_are_reported(sqlite_store: SqliteStore) -> None:
    result = sqlite_store.write_articles([DOCS[0], DOCS[1], DOCS[0]])
    assert result.written == ["a01", "a02"] and result.duplicates == ["a01"]
    assert sqlite_store.count() == 2 and sqlite_store.count("ceasefire") == 1


def test_url_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    relative = SqliteStore.from_url("sqlite://data/rel.db")
    assert relative.path == Path("data/rel.db") and (tmp_path / "data" / "rel.db").exists()
    relative.close()
    with pytest.raises(ConfigError):
        SqliteStore.from_url("http://localhost:9200")


def test_a_held_lock_is_a_transient_error(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "news.db", busy_timeout=0.2)
    blocker = sqlite3.connect(tmp_path / "news.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(TransientError, match="locked"):
            store.write_articles(DOCS[:1])
        assert store.search("ceasefire").total == 0  # readers are not blocked (WAL)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert store.write_articles(DOCS[:1]).written == ["a01"]
    store.close()


def test_threads_racing_record_alert_create_each_entry_once(sqlite_store: SqliteStore) -> None:
    wins: list[str] = []
    lock = threading.Lock()

    def race() -> None:
        for n in range(50):
            if sqlite_store.record_alert(f"rule:s{n}", {"rule": "rule", "status": "pending"}):
                with lock:
                    wins.append(f"rule:s{n}")

    threads = [threading.Thread(target=race) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == sorted(f"rule:s{n}" for n in range(50))
    assert len(sqlite_store.alerts()) == 50


_RACER = """
import sys
from newsmon.adapters.sqlite_store import SqliteStore
store = SqliteStore(sys.argv[1])
sys.stdin.readline()  # start together
won = [n for n in range(200) if store.record_alert(f"rule:s{n}", {"rule": "rule"})]
print(",".join(map(str, won)))
"""


def test_processes_racing_record_alert_create_each_entry_once(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    SqliteStore(path).close()
    procs = [
        subprocess.Popen([sys.executable, "-c", _RACER, str(path)], cwd=ROOT, text=True,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        for _ in range(2)
    ]
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    outputs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    won = [int(n) for out in outputs for n in out.split(",") if n]
    assert sorted(won) == list(range(200))
    store = SqliteStore(path)
    assert len(store.alerts()) == 200
    store.close()


def test_update_and_read_alerts(sqlite_store: SqliteStore) -> None:
    assert sqlite_store.record_alert("a", {"rule": "r", "status": "pending"})
    sqlite_store.update_alert("a", {"status": "sent", "attempts": 1})
    assert sqlite_store.get_alert("a") == {
        "rule": "r", "status": "sent", "attempts": 1, "alert_id": "a"
    }
    with pytest.raises(KeyError):
        sqlite_store.update_alert("missing", {"status": "sent"})
    sqlite_store.check()
