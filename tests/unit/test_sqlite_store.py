"""The embedded SQLite store: persistence, matcher parity, FTS use, the once-only ledger."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

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
    "ceasefire && talks",
    "!ceasefire",
    "ceasefire AND talks OR gaza",
    "talks +ceasefire",
    "gaza OR ceasefire AND talks",
    "actor:(Vladimir Putin)",
    "_exists_:place",
    "place:*",
    'title.raw:"Gaza aid convoy"',
    "url:*example.com\\/1?",
    "story_id:S1 OR story_id:s2",
    "/negotiat.*/",
    "actor:/vlad.*/",
    "source:[a TO l]",
    "published:2025-05",
    "published:[2025-05-10||+1d TO *]",
    "published:>=now-3650d\\/d",
    "cease-fire",
    '"peace talks"~2',
    "talks~",
    "actor:zelensky~2",
]


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(tmp_path / "news.db")
    yield store
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
    "ceasefire", "ceasefire AND NOT Geneva", "title:ceasefire", 'actor:"Vladimir Putin"',
    "topic:peace_talks AND talks", "published:>2025-05-12", "Київ", "ceasefire -talks", "北京",
    "u.s AND didn't", "gaza OR ceasefire AND talks", "actor:/vlad.*/", "actor:*putin",
    "url:*example.com\\/1?", "published:[now-3650d TO now]", "_exists_:place", "source:[a TO l]",
    "NOT ceasefire", "-talks", "*", "*:*", "title:(talks OR summit) AND NOT topic:opinion",
    '"peace talks"', "negotiat*", "北京*", "*tiat*", "ceasfire~1", "/negotiat.*/", "talks~",
])
def test_term_queries_are_answered_by_the_index_alone(
    loaded: tuple[SqliteStore, MemoryStore], query: str
) -> None:
    sqlite_store, memory = loaded
    result = sqlite_store.search(query, limit=100)
    assert ids(result.hits) == ids(memory.search(query, limit=100).hits)
    assert sqlite_store.last_plan is not None and sqlite_store.last_plan.exact
    assert sqlite_store.confirmed == 0 and sqlite_store.full_scans == 0


@pytest.mark.parametrize("query", ['"ceasefire talks"~3', '"peace talks"~1 AND actor:*putin'])
def test_sloppy_phrases_confirm_only_their_candidates(
    loaded: tuple[SqliteStore, MemoryStore], query: str
) -> None:
    sqlite_store, memory = loaded
    result = sqlite_store.search(query, limit=100)
    assert ids(result.hits) == ids(memory.search(query, limit=100).hits)
    assert sqlite_store.full_scans == 0 and 0 < sqlite_store.confirmed < len(DOCS) // 2


def test_text_terms_use_the_fts_index(loaded: tuple[SqliteStore, MemoryStore]) -> None:
    sqlite_store, _ = loaded
    plan = sqlite_store.query_plan("ceasefire AND talks")
    assert any("articles_fts VIRTUAL TABLE INDEX" in line for line in plan), plan
    sqlite_store.search("ceasefire AND talks")
    assert sqlite_store.last_plan is not None
    assert sqlite_store.last_plan.params == (
        '(({title} : "ceasefire") OR ({text} : "ceasefire"))'
        ' AND (({title} : "talks") OR ({text} : "talks"))',
    )


@pytest.mark.parametrize("query", ["actors.salience:>0.5", "actors.in_title:true OR talks"])
def test_number_and_boolean_fields_fall_back_to_a_full_scan(
    loaded: tuple[SqliteStore, MemoryStore], query: str
) -> None:
    sqlite_store, memory = loaded
    expected = ids(memory.search(query, limit=100).hits)
    assert ids(sqlite_store.search(query, limit=100).hits) == expected
    assert sqlite_store.full_scans == 1 and sqlite_store.confirmed == len(DOCS)


def test_phrases_never_span_the_values_of_a_list(sqlite_store: SqliteStore) -> None:
    memory, docs = MemoryStore(), [
        art(1, "Peace", "talks today"),
        {**art(2, "x", "y"), "title": ["Peace", "talks today"]},
        {**art(3, "x", "y"), "title": ["Peace talks", "today"]},
    ]
    for store in (sqlite_store, memory):
        store.write_articles(docs)
    for query in ('"peace talks"', 'title:"peace talks"', 'title:"talks today"'):
        assert ids(sqlite_store.search(query).hits) == ids(memory.search(query).hits), query
    assert sqlite_store.last_plan is not None and not sqlite_store.last_plan.exact


def test_sort_and_limit(loaded: tuple[SqliteStore, MemoryStore]) -> None:
    sqlite_store, _ = loaded
    newest = sqlite_store.search("talks", limit=3)
    assert ids(newest.hits) == ["a12", "a10", "a06"] and newest.total >= 6
    relevant = sqlite_store.search("talks", limit=100, sort="relevance")
    assert sorted(ids(relevant.hits)) == sorted(ids(sqlite_store.search("talks", limit=100).hits))
    order = ids(relevant.hits)  # bm25: title and text, or twice in a short text, come first
    assert order.index("a06") < order.index("a12") and order.index("a14") < order.index("a01")
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


def test_a_changed_query_package_rebuilds_the_index(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    SqliteStore(path).write_articles(DOCS)
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("INSERT INTO articles_fts (articles_fts) VALUES ('delete-all')")
    raw.execute("DELETE FROM article_terms")
    raw.execute("UPDATE meta SET value = 'older query package' WHERE key = 'index'")
    raw.close()
    reopened = SqliteStore(path)
    assert ids(reopened.search("ceasefire", limit=100).hits) == ["a15", "a12", "a03", "a01"]
    assert ids(reopened.search("actor:*putin", limit=100).hits) == ["a12", "a04", "a01"]
    assert reopened.full_scans == 0
    reopened.close()


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


_WRITER = """
import sys
from newsmon.adapters.sqlite_store import SqliteStore
store = SqliteStore(sys.argv[1])
for b in range(30):
    docs = [{"article_id": f"w{b}-{i}", "title": f"ceasefire bulletin {b}", "text": "talks",
             "published": f"2025-06-{b % 28 + 1:02d}T10:00:00+00:00"} for i in range(10)]
    assert len(store.write_articles(docs).written) == 10
"""


def test_a_reader_and_a_writer_process_share_the_file(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    reader = SqliteStore(path)
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)], cwd=ROOT)
    seen = [reader.count("ceasefire")]
    while writer.poll() is None:
        seen.append(reader.search("ceasefire AND talks", limit=5).total)
    assert writer.returncode == 0
    seen.append(reader.count("ceasefire"))
    assert seen == sorted(seen) and seen[-1] == 300  # never an error, never going back
    reader.close()


def test_update_and_read_alerts(sqlite_store: SqliteStore) -> None:
    assert sqlite_store.record_alert("a", {"rule": "r", "status": "pending"})
    sqlite_store.update_alert("a", {"status": "sent", "attempts": 1})
    assert sqlite_store.get_alert("a") == {
        "rule": "r", "status": "sent", "attempts": 1, "alert_id": "a"
    }
    with pytest.raises(KeyError):
        sqlite_store.update_alert("missing", {"status": "sent"})
    sqlite_store.check()


_WORDS = [
    "talks", "Talks", "U.S.", "u.s", "don't", "École", "ecole", "ΟΔΟΣ", "οδος", "İstanbul",
    "istanbul", "北京", "3.5", "1,000", "foo_bar", "Київ", "КИЇВ", "ẞtraße", "naïve", "e\u0301cole",
    "O'Neill", "co-operation", "ceasefire.", "(truce)", "#peace", "e-mail", "ǅemal", "Ωmega",
]


def test_the_parity_queries_on_real_tagged_articles(tmp_path: Path) -> None:
    """The 47 queries Elasticsearch is held to, over its 40 frozen articles: same ids, same
    order as the matcher, and every one answered by the index alone."""
    from tests.integration.test_query_parity import DOCS as PARITY_DOCS
    from tests.integration.test_query_parity import QUERIES as PARITY_QUERIES

    store, memory = SqliteStore(tmp_path / "p.db"), MemoryStore()
    store.write_articles(PARITY_DOCS)
    memory.write_articles(PARITY_DOCS)
    for query in PARITY_QUERIES:
        expected = ids(memory.search(query, limit=1000).hits)
        assert ids(store.search(query, limit=1000).hits) == expected, query
        assert store.last_plan is not None and store.last_plan.exact, query
    assert store.confirmed == 0
    store.close()


def test_random_texts_and_terms_match_the_matcher(tmp_path: Path) -> None:
    """Awkward tokens (scripts, apostrophes, dots, case mappings): the matcher's hits exactly."""
    rng = random.Random(7)
    docs = [
        {"article_id": f"r{i}", "title": " ".join(rng.choices(_WORDS, k=3)),
         "text": " ".join(rng.choices(_WORDS, k=8)), "published": f"2025-06-{i % 28 + 1:02d}"}
        for i in range(60)
    ]
    store, memory = SqliteStore(tmp_path / "r.db"), MemoryStore()
    store.write_articles(docs)
    memory.write_articles(docs)
    queries = [f'"{w}"' for w in _WORDS] + [f'"{a} {b}"' for a, b in pairwise(_WORDS)]
    queries += [f"{w[:3]}*" for w in _WORDS if w[:3].isalnum()]
    queries += [f"*{w[-3:]}" for w in _WORDS if w[-3:].isalnum()]
    queries += [f"{w}~1" for w in _WORDS if w.isalnum()]
    queries += [f"{a} AND NOT {b}" for a, b in pairwise(w for w in _WORDS if w.isalnum())]
    queries += [f'title:"{w}" OR text:"{w}"' for w in _WORDS]
    for query in queries:
        expected = ids(memory.search(query, limit=100).hits)
        assert ids(store.search(query, limit=100).hits) == expected, query
    store.close()
