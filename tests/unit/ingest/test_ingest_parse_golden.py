"""Golden tests: every file in tests/fixtures/feeds states its expectation in a header.

XML and HTML documents carry it as a comment right after the XML declaration (or first):
``<!-- expect ... -->`` with one ``key: <JSON value>`` line per field, written in the
document's own encoding; a JSON Feed carries it as its first member, ``"_expect"`` (the spec
reserves ``_``-prefixed keys for extensions, which readers ignore). The real-world documents
are otherwise byte-identical to their sources (PROVENANCE.md gives both hashes). A new file
dropped into the folder is a new case: the glob below picks it up and it must have a header.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ingest.parse import parse_feed, wide_encoding
from newsmon.config import FeedConfig
from tests.unit.ingest.feedserver import FEEDS_DIR

NOW = datetime(2025, 6, 15, tzinfo=UTC)
FEED_URL = "https://news.example.org/feeds/main.xml"
DOCUMENTS = sorted(p for p in FEEDS_DIR.glob("*") if p.is_file() and p.suffix != ".md")
FIELDS = (
    "items first_title first_url first_published first_author encoding version lang bozo "
    "hint_seconds error"
).split()
_HEADER = re.compile(
    rb"\A(?:\xef\xbb\xbf)?(?:<\?xml[^>]*\?>)?\s*<!-- expect\b[^\n]*\n(.*?)-->", re.S
)
_DECLARED = re.compile(rb'^encoding: "([^"]+)"$', re.M)


def expectation(path: Path) -> dict[str, Any]:
    """The expectation a document states in its header (see the module docstring)."""
    data = path.read_bytes()
    if path.suffix in (".json", ".jsonfeed"):
        stated: dict[str, Any] = json.loads(data)["_expect"]
        return stated
    wide = wide_encoding(data)  # UTF-16/32: read the header as UTF-8 like the rest
    if wide:
        data = data.decode(wide).lstrip("\ufeff").encode("utf-8")
    found = _HEADER.match(data)
    assert found, f"{path.name}: no '<!-- expect' header comment at the top"
    declared = _DECLARED.search(found.group(1))
    charset = "utf-8" if wide else declared.group(1).decode() if declared else "ascii"
    text = found.group(1).decode(charset)
    pairs = (line.split(":", 1) for line in text.splitlines() if line.strip())
    return {key.strip(): json.loads(value) for key, value in pairs}


def test_every_document_states_a_complete_expectation() -> None:
    assert len(DOCUMENTS) >= 16, "golden feed files missing"
    incomplete = {p.name: sorted(set(FIELDS) ^ set(expectation(p))) for p in DOCUMENTS}
    assert {name: keys for name, keys in incomplete.items() if keys} == {}


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_golden(path: Path) -> None:
    expect = expectation(path)
    parsed = parse_feed(path.read_bytes(), {}, FeedConfig(url=FEED_URL), NOW)  # type: ignore[arg-type]
    first = parsed.articles[0] if parsed.articles else None
    got = {
        "items": len(parsed.articles),
        "first_title": first.title if first else None,
        "first_url": first.url if first else None,
        "first_published": first.published.isoformat() if first and first.published else None,
        "first_author": first.author if first else None,
        "encoding": parsed.encoding,
        "version": parsed.version,
        "lang": parsed.language,
        "bozo": parsed.bozo,
        "hint_seconds": parsed.hint_seconds,
        "error": str(parsed.error) if parsed.error else None,
    }
    assert got == expect


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_articles_are_well_formed(path: Path) -> None:
    parsed = parse_feed(path.read_bytes(), {}, FeedConfig(url=FEED_URL), NOW)  # type: ignore[arg-type]
    for article in parsed.articles:
        assert article.url.startswith(("http://", "https://"))
        assert article.feed == FEED_URL and article.fetched == NOW
        assert article.published is None or article.published.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
        assert "<" not in article.title or ">" not in article.title
        assert "\ufffd" not in article.title
    assert len({a.article_id for a in parsed.articles}) == len(parsed.articles)


_PROVENANCE_ROW = re.compile(r"^\| (\S+) \|.*\| `([0-9a-f]{64})` \|$", re.M)


def test_real_world_files_are_their_sources_plus_the_header() -> None:
    """The header is the only change made to a real-world file (PROVENANCE.md)."""
    rows = _PROVENANCE_ROW.findall((FEEDS_DIR / "PROVENANCE.md").read_text("utf-8"))
    assert len(rows) == 8
    for name, source_sha in rows:
        data = (FEEDS_DIR / name).read_bytes()
        start = data.index(b"<!-- expect")
        end = data.index(b"-->", start) + len(b"-->")
        # after the declaration it is "\n<!-- ... -->"; first in the file "<!-- ... -->\n"
        original = data[: start - 1] + data[end:] if start > 0 else data[end + 1 :]
        assert hashlib.sha256(original).hexdigest() == source_sha, name
