"""The pages over a real SQLite store: the numbers they show are the store's answers for the
query they name, bad input is a message (never a trace), a dead store is a banner."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from newsmon.adapters.sqlite_store import SqliteStore
from tests.unit.web.conftest import Newsroom


def total(text: str) -> int:
    found = re.search(r'id="total" data-total="(\d+)"', text)
    assert found, text[-2000:]
    return int(found.group(1))


def facet_links(text: str, facet: str) -> list[tuple[str, str, int]]:
    """(value, href, count) of one facet section."""
    section = text.split(f'data-facet="{facet}"', 1)[1].split("</section>", 1)[0]
    rows = re.findall(
        r'<a href="([^"]+)" data-value="([^"]*)">.*?<span class="count">([\d,]+)', section, re.S
    )
    return [
        (html.unescape(value), html.unescape(href), int(n.replace(",", "")))
        for href, value, n in rows
    ]


def test_search_counts_are_the_store_counts(newsroom: Newsroom) -> None:
    client = newsroom.client()
    for query in (
        "*:*",
        "ceasefire",
        'actor:"Vladimir Putin" AND topic:peace_talks',
        "Istanbul OR Ankara",
        '"peace talks"~3',
    ):
        page = client.get("/search", params={"q": query})
        assert page.status_code == 200
        assert total(page.text) == newsroom.store.search(query, limit=0).total, query


def test_every_facet_value_leads_to_as_many_articles(newsroom: Newsroom) -> None:
    client = newsroom.client()
    page = client.get("/search", params={"q": "Ukraine"}).text
    for facet in ("topic", "actor", "source", "lang"):
        links = facet_links(page, facet)
        assert links, facet
        for value, href, count in links[:4]:
            refined = client.get(href)
            assert total(refined.text) == count, (facet, value, href)
            q = parse_qs(urlsplit(href).query)["q"][0]
            assert q.startswith("(Ukraine) AND ")


def test_hits_are_highlighted_and_paged(newsroom: Newsroom) -> None:
    client = newsroom.client()
    first = client.get("/search", params={"q": "ceasefire", "per": "20"}).text
    assert "<em>ceasefire</em>" in first.lower() or "<em>Ceasefire</em>" in first
    everything = client.get("/search", params={"q": "*:*", "per": "20", "page": "2"}).text
    titles = re.findall(r'<a href="/article/(\w+)">', everything)
    expected = [h["article_id"] for h in newsroom.store.search("*:*", limit=20, offset=20).hits]
    assert titles == expected
    clamped = client.get("/search", params={"q": "*:*", "page": "999"}).text
    assert re.findall(r'<a href="/article/(\w+)">', clamped) == expected  # the last page


def test_date_facet_refines_to_its_bucket(newsroom: Newsroom) -> None:
    client = newsroom.client()
    page = client.get("/search", params={"q": "topic:peace_talks"}).text
    section = page.split('data-facet="date"', 1)[1].split("</section>", 1)[0]
    href, count = re.findall(r'<a href="([^"]+)">.*?<span class="count">(\d+)', section, re.S)[0]
    assert total(client.get(href.replace("&amp;", "&")).text) == int(count)
    assert "chart-matches" in page and '"period": "month"' in page


@pytest.mark.parametrize(
    ("query", "message", "column"),
    [
        ("ceasefire AND (", "syntax error: unexpected end of query", 16),
        ("ceasefire AND AND putin", "syntax error: unexpected AND", 15),
        ('"peace talks', "unterminated phrase", 1),
        ("colour:red", "unknown field 'colour'", 1),
        ("published:[yesterday TO now]", "cannot parse date 'yesterday'", 11),
    ],
)
def test_a_bad_query_is_shown_where_it_is(
    newsroom: Newsroom, query: str, message: str, column: int
) -> None:
    page = newsroom.client().get("/search", params={"q": query})
    assert page.status_code == 400
    assert "Traceback" not in page.text
    assert message in page.text.replace("&#39;", "'")
    assert f"at column {column}:" in page.text
    caret = re.search(r'<span class="mark">( *)\^</span>', page.text)
    assert caret and len(caret.group(1)) == column - 1


def test_huge_or_deep_queries_are_refused_with_a_message(newsroom: Newsroom) -> None:
    client = newsroom.client()
    long = client.get("/search", params={"q": "ceasefire " * 1000})
    assert long.status_code == 400 and "10,000 characters long; at most 4,000" in long.text
    deep = client.get("/search", params={"q": "(" * 1500 + "a" + ")" * 1500})
    assert deep.status_code == 400 and "nested too deeply" in deep.text
    for path in ("/stories", "/actor/Vladimir%20Putin"):
        assert "unknown field" in client.get(path, params={"q": "nope:x"}).text.replace(
            "&#39;", "'"
        )


def test_exports_hold_the_result(newsroom: Newsroom) -> None:
    client = newsroom.client()
    query = 'actor:"Vladimir Putin"'
    expected = newsroom.store.search(query, limit=100).hits
    got = client.get("/export.csv", params={"q": query})
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    assert "attachment" in got.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert [r["article_id"] for r in rows] == [h["article_id"] for h in expected]
    assert "Vladimir Putin" in rows[0]["actor"]
    as_json = client.get("/export.json", params={"q": query}).json()
    assert as_json["total"] == len(expected) and not as_json["truncated"]
    assert [a["article_id"] for a in as_json["articles"]] == [h["article_id"] for h in expected]
    assert client.get("/export.csv", params={"q": "a AND ("}).status_code == 400
    assert client.get("/export.xml", params={"q": query}).status_code == 404


def test_csv_cells_cannot_run_as_formulas(newsroom: Newsroom) -> None:
    newsroom.store.write_articles(
        [
            {
                "article_id": "evil",
                "title": '=HYPERLINK("http://x")',
                "text": "formula",
                "source": "+Cmd",
                "url": "https://example.com/evil",
                "published": "2025-05-30T00:00:00Z",
            }
        ]
    )
    rows = list(
        csv.DictReader(
            io.StringIO(newsroom.client().get("/export.csv", params={"q": "formula"}).text)
        )
    )
    assert rows[0]["title"].startswith("'=") and rows[0]["source"] == "'+Cmd"


def test_article_text_is_escaped(newsroom: Newsroom) -> None:
    newsroom.store.write_articles(
        [
            {
                "article_id": "xss",
                "title": "<script>alert(1)</script> ceasefire",
                "text": "<img src=x onerror=alert(2)> ceasefire",
                "url": "https://example.com/xss",
                "published": "2025-05-30T00:00:00Z",
                "actor": ["<b>Bold</b>"],
            }
        ]
    )
    client = newsroom.client()
    for path in ("/search?q=ceasefire", "/article/xss", "/actor/%3Cb%3EBold%3C%2Fb%3E"):
        body = client.get(path).text
        assert "<script>alert" not in body and "<img src=x" not in body and "<b>Bold" not in body
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt; <em>ceasefire</em>"
        in client.get("/search?q=ceasefire").text
    )


def test_stories_and_a_story(newsroom: Newsroom) -> None:
    client = newsroom.client()
    page = client.get("/stories", params={"order": "size"})
    assert page.status_code == 200 and total(page.text) == 40
    story_ids = re.findall(r'href="/story/(\w+)"', page.text)
    assert len(story_ids) == len(set(story_ids)) > 10
    story = client.get(f"/story/{story_ids[0]}")
    expected = newsroom.store.search(f'story_id:"{story_ids[0]}"', limit=0).total
    assert re.search(rf'id="story-articles">{expected}<', story.text)
    assert "chart-growth" not in story.text  # one article: nothing to chart
    newsroom.store.write_articles(
        [
            {
                "article_id": f"g{i}",
                "story_id": "grow",
                "title": f"Growing {i}",
                "text": "x",
                "source": f"Wire {i % 2}",
                "url": f"https://example.com/g{i}",
                "published": f"2025-05-2{i}T0{i}:00:00Z",
            }
            for i in range(3)
        ]
    )
    grown = client.get("/story/grow").text
    assert re.search(r'id="story-articles">3<', grown) and "chart-growth" in grown
    cumulative = re.search(r'"y": \[([\d, ]+)\]', grown)
    assert (
        cumulative and cumulative.group(1).startswith("1,") and cumulative.group(1).endswith(", 3")
    )  # hourly, as it grew: 1 then 2 then 3 articles
    assert client.get("/story/nosuchstory").status_code == 404
    recent = client.get("/stories", params={"since": "30d"}).text  # 2025-05-02 on
    assert (
        total(recent)
        == newsroom.store.search("published:[2025-05-02T12:00:00.000Z TO *]", limit=0).total
    )


def test_actor_page_counts_mentions_and_co_mentions(newsroom: Newsroom) -> None:
    client = newsroom.client()
    page = client.get("/actor/vladimir%20putin").text  # any case: the name as written shows
    assert '<h1 id="actor-name">Vladimir Putin</h1>' in page
    assert total(page) == newsroom.store.search('actor:"Vladimir Putin"', limit=0).total
    section = page.split('data-facet="co-mentions"', 1)[1].split("</section>", 1)[0]
    names = re.findall(r'<a href="/actor/[^"]+">([^<]+)</a>', section)
    assert "Vladimir Putin" not in names and "Volodymyr Zelensky" in names
    both = newsroom.store.search(
        'actor:"Vladimir Putin" AND actor:"Volodymyr Zelensky"', limit=0
    ).total
    zelensky = re.search(r'>Volodymyr Zelensky</a>.*?<span class="count">(\d+)', section, re.S)
    assert zelensky and int(zelensky.group(1)) == both
    assert "chart-mentions" in page
    weekly = client.get("/actor/Vladimir%20Putin", params={"period": "week"}).text
    assert '"period": "week"' in weekly


def test_article_page(newsroom: Newsroom) -> None:
    doc = newsroom.docs[0]
    page = newsroom.client().get(f"/article/{doc['article_id']}")
    assert page.status_code == 200 and doc["title"].split()[0] in page.text
    assert newsroom.client().get("/article/nope").status_code == 404


def test_feeds_page_shows_the_broken_feed(newsroom: Newsroom) -> None:
    page = newsroom.client().get("/feeds").text
    rows = re.findall(r'<tr class="feed [\w-]+" data-state="([\w ]+)">(.*?)</tr>', page, re.S)
    states = {
        re.search(r"<strong>([^<]+)</strong>", body).group(1): state  # type: ignore[union-attr]
        for state, body in rows
    }
    assert states == {"Broken wire": "failing", "Demo wire": "ok"}
    broken = next(body for state, body in rows if state == "failing")
    assert "http_4xx" in broken and "HTTP 404" in broken and "3 failures in a row" in broken
    demo = next(body for state, body in rows if state == "ok")
    assert re.search(r'<a href="/search\?q=[^"]+">10</a>', demo)  # articles stored from it


def test_alerts_page_shows_rules_firings_and_matched_text(newsroom: Newsroom) -> None:
    page = newsroom.client().get("/alerts").text
    assert "putin-ceasefire" in page and "istanbul-talks" in page
    fired = len(newsroom.store.alerts({"rule": "putin-ceasefire"}))
    assert f"{fired} sent" in page
    firing = page.split('data-rule="putin-ceasefire"', 1)[1].split("</li>", 1)[0]
    assert "<code>ceasefire</code>" in firing and "<em>" in firing


def test_a_dead_store_is_a_banner_not_an_error(newsroom: Newsroom) -> None:
    for url in ("http://127.0.0.1:1", "sqlite:///dev/null/newsmon.db"):
        client = newsroom.client(store=url)
        for path in (
            "/search?q=ceasefire",
            "/stories",
            "/actor/Vladimir%20Putin",
            "/alerts",
            "/feeds",
            "/story/abc",
        ):
            page = client.get(path)
            assert page.status_code == 200, (url, path)
            assert page.text.count('class="banner error" role="alert">The store') == 1, path
            assert "cannot be reached" in page.text or "not usable" in page.text
        assert "Broken wire" in client.get("/feeds").text  # what does not need the store
        assert client.get("/healthz").status_code == 503
        assert client.get("/export.csv?q=x").status_code == 503


def test_security_headers_and_host_check(newsroom: Newsroom) -> None:
    client = newsroom.client()
    page = client.get("/search")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert "<script>" not in page.text.replace('<script type="application/json"', "")
    rebound = client.get("/search", headers={"host": "attacker.example"})
    assert rebound.status_code == 400
    assert client.get("/healthz").text == "ok\n"
    assert client.get("/static/vendor/uplot/uPlot.iife.min.js").status_code == 200
    assert client.get("/nowhere").status_code == 404


def test_same_numbers_with_quotes_in_values(newsroom: Newsroom) -> None:
    newsroom.store.write_articles(
        [
            {
                "article_id": f"q{i}",
                "title": "odd names",
                "text": "x",
                "source": 'The "Quoted" \\ Wire',
                "actor": ['Jean "Le Chef" Dupont'],
                "url": f"https://example.com/q{i}",
                "published": "2025-05-30T00:00:00Z",
            }
            for i in range(3)
        ]
    )
    client = newsroom.client()
    links = dict(
        (v, (h, n))
        for v, h, n in facet_links(client.get("/search", params={"q": "odd"}).text, "source")
    )
    href, count = links['The "Quoted" \\ Wire']
    assert count == 3 and total(client.get(href).text) == 3
    actor = client.get("/actor/" + quote('Jean "Le Chef" Dupont')).text
    assert total(actor) == 3


def test_store_is_shared_not_reopened(newsroom: Newsroom) -> None:
    """A page built on a store passed in (``newsmon run``'s) reads that store."""
    from starlette.testclient import TestClient

    from web.app import create_app

    private = SqliteStore(newsroom.root / "other.db")
    private.write_articles(newsroom.docs[:3])
    app = create_app(newsroom.settings, store=private)
    client = TestClient(app, base_url="http://127.0.0.1")
    assert total(client.get("/search").text) == 3
    assert json.loads(client.get("/export.json").text)["total"] == 3
    private.close()


def test_a_firing_shows_the_text_the_alert_carried(newsroom: Newsroom) -> None:
    newsroom.store.record_alert(
        "sent~1",
        {
            "kind": "alert",
            "rule": "istanbul-talks",
            "story_id": "s1",
            "article_id": "gone",
            "title": "Talks <b>resume</b>",
            "matched": ["istanbul"],
            "status": "sent",
            "created": "2025-06-01T12:30:00+00:00",
            "fragments": {
                "title": "Talks <b>resume</b>",
                "text": ["Delegations met in <em>Istanbul</em> <script>x</script>."],
            },
        },
    )
    page = newsroom.client().get("/alerts").text
    firing = page.split('data-rule="istanbul-talks"', 1)[1].split("</li>", 1)[0]
    assert "Delegations met in <em>Istanbul</em> &lt;script&gt;x&lt;/script&gt;." in firing
    assert "Talks &lt;b&gt;resume&lt;/b&gt;" in firing  # not in the store: the entry's title


def test_feed_health_signals_show_as_the_feeds_state(newsroom: Newsroom) -> None:
    import sqlite3

    signal = {"silent": {"since": "2025-06-01T06:00:00+00:00", "detail": "no new item for 6 h"}}
    with sqlite3.connect(newsroom.settings.data_dir / "ingest.sqlite3") as db:
        db.execute(
            "UPDATE feeds SET health = ? WHERE url = ?",
            (json.dumps(signal), "http://127.0.0.1:9/wire.rss"),
        )
    page = newsroom.client().get("/feeds").text
    row = re.search(r'<tr class="feed silent" data-state="silent">(.*?)</tr>', page, re.S)
    assert row and "Demo wire" in row.group(1) and "no new item for 6 h" in row.group(1)
    assert "since 2025-06-01 06:00 UTC" in row.group(1)


def test_spike_and_health_firings_are_listed(newsroom: Newsroom) -> None:
    newsroom.store.record_alert(
        "spike~1",
        {
            "kind": "spike",
            "rule": "ceasefire-surge",
            "story_id": "",
            "article_id": "",
            "title": "Ceasefire talk surges",
            "matched": ["ceasefire"],
            "status": "sent",
            "summary": "12 stories from 5 publishers in 1 h (usual 2.0, threshold 6.0)",
            "created": "2025-06-01T12:40:00+00:00",
        },
    )
    newsroom.store.record_alert(
        "health~1",
        {
            "kind": "health",
            "rule": "operator",
            "story_id": "",
            "article_id": "",
            "title": "Feed Demo wire is silent",
            "url": "http://127.0.0.1:9/wire.rss",
            "matched": ["silent"],
            "status": "sent",
            "created": "2025-06-01T12:45:00+00:00",
        },
    )
    page = newsroom.client().get("/alerts").text
    spike = page.split('data-kind="spike"', 1)[1].split("</li>", 1)[0]
    assert "12 stories from 5 publishers" in spike and "<code>ceasefire</code>" in spike
    health = page.split('data-kind="health"', 1)[1].split("</li>", 1)[0]
    assert '<a href="/feeds">Feed Demo wire is silent</a>' in health
    assert "ceasefire-surge, operator" in page  # fired, but no longer in the rules file
