"""Mapping feed entries to RawArticles, the entity guard and HTML-to-text."""

from __future__ import annotations

import codecs
from datetime import UTC, datetime

import pytest

from ingest.kinds import ErrorKind
from ingest.parse import entity_declaration, parse_feed
from ingest.text import html_to_text, plain_title
from newsmon.config import FeedConfig
from newsmon.schema import article_id
from tests.unit.ingest.feedserver import FEEDS_DIR

NOW = datetime(2025, 6, 15, tzinfo=UTC)
FEED = FeedConfig(url="https://news.example.org/feeds/main.xml")  # type: ignore[arg-type]


def parse(name: str, feed: FeedConfig = FEED, **kw: object):  # type: ignore[no-untyped-def]
    return parse_feed((FEEDS_DIR / name).read_bytes(), {}, feed, NOW, **kw)  # type: ignore[arg-type]


def test_relative_links_resolve_against_final_url() -> None:
    parsed = parse("atom_relative_links.atom", final_url="https://cdn.example.net/x/feed.atom")
    assert [a.url for a in parsed.articles] == [
        "https://cdn.example.net/news/2024/first.html",
        "https://cdn.example.net/x/second.html",
    ]


def test_content_keeps_paragraphs_and_published_prefers_published() -> None:
    first, second = parse("atom_relative_links.atom").articles
    assert first.text == "Absatz eins.\nAbsatz zwei."
    assert second.published == datetime(2024, 2, 29, 8, 30, tzinfo=UTC)


def test_html_title_link_guid_and_future_date() -> None:
    parsed = parse("rss_html_title.rss")
    titles = [a.title for a in parsed.articles]
    assert titles == [
        "Talks resume in Istanbul & Geneva",
        "GUID permalink, no link",
        "From the future",
    ]
    assert parsed.articles[0].text == "First paragraph.\nSecond paragraph."
    assert parsed.articles[0].article_id == article_id("https://news.example.org/a/1?id=7")
    assert parsed.articles[1].url == "https://news.example.org/a/2"
    assert parsed.articles[2].published == NOW
    assert any("clamped" in w for w in parsed.warnings)
    assert any("skipped" in w for w in parsed.warnings)


def test_feed_config_fields_win() -> None:
    feed = FeedConfig(
        url="https://news.example.org/feeds/main.xml",  # type: ignore[arg-type]
        name="Example News",
        language="fr",
        country="FR",
        tags=("eu", "wire"),
    )
    article = parse("rss_html_title.rss", feed).articles[0]
    assert (article.source, article.lang, article.country, article.tags) == (
        "Example News",
        "fr",
        "FR",
        ("eu", "wire"),
    )


def test_source_falls_back_to_feed_title_and_lang_to_feed_language() -> None:
    article = parse("rss_html_title.rss").articles[0]
    assert (article.source, article.lang) == ("HTML & Titles", "en")


def test_duplicate_links_in_one_feed_yield_one_article() -> None:
    item = "<item><title>t</title><link>https://e.org/a?utm_source=x</link></item>"
    doc = f"<rss version='2.0'><channel><title>d</title>{item}{item}</channel></rss>".encode()
    assert len(parse_feed(doc, {}, FEED, NOW).articles) == 1


def test_empty_but_valid_feed_is_ok() -> None:
    doc = b"<rss version='2.0'><channel><title>quiet</title></channel></rss>"
    parsed = parse_feed(doc, {}, FEED, NOW)
    assert parsed.error is None and parsed.articles == ()


@pytest.mark.parametrize("name", ["billion_laughs.xml", "external_entity.xml"])
def test_entity_documents_refused(name: str) -> None:
    parsed = parse(name)
    assert parsed.error is ErrorKind.UNSAFE_XML and parsed.articles == ()


def test_entity_guard_sees_through_utf16() -> None:
    doc = (FEEDS_DIR / "billion_laughs.xml").read_text("utf-8").replace('<?xml version="1.0"?>', "")
    assert entity_declaration(codecs.BOM_UTF16_LE + doc.encode("utf-16-le"))
    assert entity_declaration(doc.encode("utf-16-be"))


def test_entity_guard_ignores_entities_in_content_and_plain_doctypes() -> None:
    in_cdata = b"<rss><channel><item><description><![CDATA[<!DOCTYPE x [<!ENTITY a 'b'>]>]]>"
    assert entity_declaration(in_cdata) is None
    assert entity_declaration((FEEDS_DIR / "rss091_netscape_doctype.rss").read_bytes()) is None


def test_html_to_text() -> None:
    html = "<div><h1>Head</h1><p>One&nbsp;two <b>three</b></p><ul><li>a</li><li>b</li></ul>"
    html += "<script>var x = 1;</script><style>p {}</style>tail<br/>end</div>"
    assert html_to_text(html) == "Head\nOne two three\na\nb\ntail\nend"


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        ("<b>Bold</b> move", "text/html", "Bold move"),
        ("AT&amp;T &lt;3", "text/html", "AT&T <3"),
        ("5 < 6 and 7 > 2", "text/plain", "5 < 6 and 7 > 2"),
        ("  spread\n over  lines ", "text/plain", "spread over lines"),
    ],
)
def test_plain_title(value: str, kind: str, expected: str) -> None:
    assert plain_title(value, kind) == expected


def test_plain_text_description_keeps_its_paragraphs() -> None:
    doc = (
        b"<rss version='2.0'><channel><title>t</title><item><title>x</title>"
        b"<link>http://127.0.0.1/a</link><description>Para one.\nPara two &amp;amp; more."
        b"\n\n  Para three.  </description></item></channel></rss>"
    )
    article = parse_feed(doc, {}, FEED, NOW).articles[0]
    assert article.text == "Para one.\nPara two & more.\nPara three."


def test_json_feed_entries() -> None:
    second = parse("json_feed_1.1.jsonfeed").articles[1]
    assert (second.url, second.text) == ("https://other.example.com/story", "Line one.\nLine two.")
    assert second.published == datetime(2025, 6, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "body", [b'{"version": "1", "items": []}', b"{not json", b'["https://jsonfeed.org/version/1"]']
)
def test_json_that_is_not_a_json_feed_is_an_error(body: bytes) -> None:
    parsed = parse_feed(body, {"Content-Type": "application/json"}, FEED, NOW)
    assert parsed.error is ErrorKind.PARSE and parsed.bozo


AUTHORED_RSS = b"""<?xml version="1.0"?><rss version="2.0"
  xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>t</title>
<item><title>a</title><link>https://news.example.org/a</link>
  <author>jane@example.org (Jane Doe)</author></item>
<item><title>b</title><link>https://news.example.org/b</link><dc:creator>Olena
  Kovalenko</dc:creator></item>
<item><title>c</title><link>https://news.example.org/c</link></item>
</channel></rss>"""

AUTHORED_ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:x</id><updated>2025-06-01T00:00:00Z</updated>
<entry><title>a</title><id>urn:a</id><link href="https://news.example.org/a"/>
  <updated>2025-06-01T00:00:00Z</updated><author><name>Jan Kowalski</name>
  <email>jan@example.org</email></author></entry></feed>"""

AUTHORED_JSON = b"""{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [
  {"id": "1", "url": "https://news.example.org/a", "authors": [{"name": "Ann"}, {"name": "Bo"}]},
  {"id": "2", "url": "https://news.example.org/b", "author": {"name": "Old Style"}},
  {"id": "3", "url": "https://news.example.org/c", "authors": [{"url": "https://x"}]}]}"""


@pytest.mark.parametrize(
    ("body", "authors"),
    [
        (AUTHORED_RSS, ["Jane Doe", "Olena Kovalenko", None]),
        (AUTHORED_ATOM, ["Jan Kowalski"]),
        (AUTHORED_JSON, ["Ann, Bo", "Old Style", None]),
    ],
    ids=["rss-author-and-dc-creator", "atom", "json-feed"],
)
def test_author_is_carried(body: bytes, authors: list[str | None]) -> None:
    parsed = parse_feed(body, {}, FEED, NOW)
    assert [a.author for a in parsed.articles] == authors


UTF16_DOC = (
    '<?xml version="1.0"{decl}?><rss version="2.0"><channel><title>Ширше</title>'
    "<item><title>Перемир'я</title><link>https://x.example/1</link></item></channel></rss>"
)


@pytest.mark.parametrize(
    ("encoded", "headers", "encoding"),
    [  # feedparser alone reads all but the declared-with-BOM one as UTF-8 and fails on NULs
        (codecs.BOM_UTF16_LE + UTF16_DOC.format(decl="").encode("utf-16-le"), {}, "utf-16le"),
        (codecs.BOM_UTF16_BE + UTF16_DOC.format(decl="").encode("utf-16-be"), {}, "utf-16be"),
        (UTF16_DOC.format(decl="").encode("utf-16-le"), {}, "utf-16le"),  # no BOM: "<\0?\0"
        (
            codecs.BOM_UTF16_LE + UTF16_DOC.format(decl=' encoding="utf-16"').encode("utf-16-le"),
            {"Content-Type": "text/xml; charset=UTF-16"},
            "utf-16le",
        ),
        (  # the BOM wins over a charset that contradicts it (RFC 7303 §3)
            codecs.BOM_UTF16_LE + UTF16_DOC.format(decl="").encode("utf-16-le"),
            {"Content-Type": "application/rss+xml; charset=iso-8859-1"},
            "utf-16le",
        ),
    ],
)
def test_utf16_documents_are_read_by_their_byte_order(
    encoded: bytes, headers: dict[str, str], encoding: str
) -> None:
    parsed = parse_feed(encoded, headers, FEED, NOW)
    assert (parsed.error, parsed.encoding) == (None, encoding)
    assert [a.title for a in parsed.articles] == ["Перемир'я"]
    assert parsed.title == "Ширше"


def test_an_item_without_title_is_named_by_its_text() -> None:
    long = "Sky watchers in Europe, Asia, and parts of Alaska and Canada will see a partial "
    body = (
        '<rss version="2.0"><channel><title>T</title>'
        f"<item><link>https://x.example/1</link><description>{long * 2}</description></item>"
        "<item><link>https://x.example/2</link><description>Short one.\nSecond line.</description>"
        "</item><item><link>https://x.example/3</link></item></channel></rss>"
    ).encode()
    first, second, third = parse_feed(body, {}, FEED, NOW).articles
    assert first.title.endswith("…") and len(first.title) <= 101
    assert long.startswith(first.title[:-1]) or (long * 2).startswith(first.title[:-1])
    assert " " not in first.title[-2:]  # cut at a word, not inside one
    assert (second.title, third.title) == ("Short one.", "")


def test_unreadable_date_is_a_warning_and_no_date() -> None:
    body = (
        b'<rss version="2.0"><channel><title>T</title><item><title>a</title>'
        b"<link>https://x.example/1</link><pubDate>yesterday-ish</pubDate></item></channel></rss>"
    )
    parsed = parse_feed(body, {}, FEED, NOW)
    assert parsed.articles[0].published is None
    assert any("unreadable date 'yesterday-ish'" in w for w in parsed.warnings)


def test_atom_and_json_feed_items_inherit_the_feed_author_rss_does_not() -> None:
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><author><name>Desk</name>'
        b'</author><entry><title>e</title><link href="https://x.example/1"/></entry>'
        b'<entry><title>f</title><link href="https://x.example/2"/><author><name>Own</name>'
        b"</author></entry></feed>"
    )
    rss = (
        b'<rss version="2.0"><channel><title>R</title><managingEditor>ed@x.example (Ed)'
        b"</managingEditor><item><title>a</title><link>https://x.example/1</link></item>"
        b"</channel></rss>"
    )
    assert [a.author for a in parse_feed(atom, {}, FEED, NOW).articles] == ["Desk", "Own"]
    assert [a.author for a in parse_feed(rss, {}, FEED, NOW).articles] == [None]
