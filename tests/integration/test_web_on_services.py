"""The analyst page over real Elasticsearch shows the numbers it shows over SQLite.

The same 40 real tagged articles and alert firings go into a namespaced Elasticsearch store
and into a SQLite store; the two pages' counts, facets, date buckets, stories and co-mentions
must be identical, query by query.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from newsmon.adapters.sqlite_store import SqliteStore
from newsmon.config import Settings
from tests.conftest import Services
from tests.unit.web.conftest import NOW, RULES, fire, parity_docs
from web.app import create_app

pytestmark = pytest.mark.integration

PAGES = [
    "/search",
    "/search?q=ceasefire",
    "/search?q=actor:%22Vladimir%20Putin%22%20AND%20topic:peace_talks",
    "/search?q=Istanbul%20OR%20Ankara&page=2&per=20",
    "/search?q=topic:peace_talks&since=365d",
    "/stories?order=size",
    "/stories?q=ceasefire",
    "/actor/Vladimir%20Putin",
    "/actor/Ukraine?period=month",
    "/alerts",
]


def figures(html: str) -> dict[str, list[str]]:
    """What a page says in numbers and names (not its timing footer)."""
    return {
        "total": re.findall(r'data-total="(\d+)"', html),
        "facets": re.findall(
            r'data-value="([^"]*)">[^<]*</a>.*?class="count">([\d,]+)', html, re.S
        ),
        "links": re.findall(r'href="(/(?:story|actor|article)/[^"]+)"', html),
        "counts": re.findall(r'class="(?:count|num)">([\d,]+)<', html),
        "charts": re.findall(r'<script type="application/json" id="[^"]+">([^<]+)</script>', html),
        "fired": re.findall(r"(\d+) sent", html),
    }


@pytest.fixture
def clients(
    services: Services, unique: str, tmp_path: Path
) -> Iterator[tuple[TestClient, TestClient]]:
    from index.layout import load_layout
    from newsmon.adapters.es_store import ElasticsearchStore

    (tmp_path / "rules.yaml").write_text(RULES)
    docs = parity_docs()
    es = ElasticsearchStore(services.store, load_layout(f"t{unique}-"))
    es.ensure_schema()
    sqlite = SqliteStore(tmp_path / "newsmon.db")
    for store in (es, sqlite):
        store.write_articles(docs)
        fire(store, "putin-ceasefire", 'ceasefire AND actor:"Vladimir Putin"', docs)  # type: ignore[arg-type]
        store.refresh()
    common = {"data_dir": tmp_path, "rules": tmp_path / "rules.yaml"}
    apps = [
        create_app(
            Settings(store=services.store, namespace=f"t{unique}-", **common), clock=lambda: NOW
        ),
        create_app(
            Settings(store=f"sqlite://{tmp_path / 'newsmon.db'}", **common), clock=lambda: NOW
        ),
    ]
    yield tuple(TestClient(a, base_url="http://127.0.0.1") for a in apps)  # type: ignore[misc]
    es.drop()
    es.close()
    sqlite.close()


def test_both_stores_give_the_same_numbers(clients: tuple[TestClient, TestClient]) -> None:
    on_es, on_sqlite = clients
    for path in PAGES:
        es_page, sqlite_page = on_es.get(path), on_sqlite.get(path)
        assert es_page.status_code == sqlite_page.status_code == 200, path
        assert "banner error" not in es_page.text, es_page.text[:3000]
        assert figures(es_page.text) == figures(sqlite_page.text), path
    first = figures(on_es.get("/search").text)
    assert first["total"] == ["40"] and first["facets"]


def test_story_pages_match(clients: tuple[TestClient, TestClient]) -> None:
    on_es, on_sqlite = clients
    stories = re.findall(r'href="(/story/\w+)"', on_es.get("/stories?order=size").text)[:5]
    assert stories
    for path in stories:
        assert figures(on_es.get(path).text) == figures(on_sqlite.get(path).text), path


def test_a_bad_query_never_reaches_elasticsearch(clients: tuple[TestClient, TestClient]) -> None:
    on_es, _ = clients
    page = on_es.get("/search", params={"q": "ceasefire AND (actor:"})
    assert page.status_code == 400 and "This query cannot run" in page.text
    assert "Elasticsearch rejected" not in page.text


def test_an_unreachable_elasticsearch_is_a_banner(tmp_path: Path) -> None:
    app = create_app(Settings(store="http://127.0.0.1:1", data_dir=tmp_path), clock=lambda: NOW)
    page = TestClient(app, base_url="http://127.0.0.1").get("/search?q=ceasefire")
    assert page.status_code == 200 and "cannot be reached" in page.text
