"""Feed bytes + response headers -> :class:`RawArticle` s (pure: no I/O, ``now`` passed in).

RSS 0.9x/1.0/2.0 and Atom go through feedparser; JSON Feed through :mod:`ingest.jsonfeed`.

Documents whose DOCTYPE declares entities (billion laughs, external entities) are refused
before feedparser sees them. ``bozo`` becomes a warning; bozo with no entries is an error.
"""

from __future__ import annotations

import calendar
import codecs
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from ingest.jsonfeed import looks_like_json_feed, parse_json_feed
from ingest.kinds import ErrorKind
from ingest.schedule import feed_hint_seconds
from ingest.text import html_to_text, one_line, plain_title
from newsmon.config import FeedConfig
from newsmon.schema import DEFAULT_TRACKING, RawArticle, Tracking, article_id

log = logging.getLogger(__name__)

FUTURE_TOLERANCE = timedelta(days=1)
TITLE_FALLBACK_CHARS = 100  # an item without a title is named by the start of its text
_COMMENT_OR_PI = re.compile(r"<!--.*?(?:-->|$)|<\?.*?(?:\?>|$)", re.DOTALL)
_ROOT_START = re.compile(r"<[A-Za-z_:]")
_ENTITY_DECL = re.compile(r"<!ENTITY", re.IGNORECASE)
_UTF_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


@dataclass(frozen=True)
class ParsedFeed:
    """Articles found in one feed document, and what went wrong on the way."""

    articles: tuple[RawArticle, ...] = ()
    title: str | None = None
    language: str | None = None
    entries: int = 0
    bozo: bool = False
    warnings: tuple[str, ...] = ()
    error: ErrorKind | None = None
    detail: str = ""
    encoding: str | None = None
    version: str | None = None
    hint_seconds: float | None = None  # the feed's own "do not poll before" (ttl, sy:*)
    linked: int = 0  # entries that had a usable link (``articles`` holds the distinct ones)


def _decodings(body: bytes) -> list[str]:
    """The document as text in every encoding it could plausibly be in: ASCII-compatible
    (read as Latin-1) and, when NUL bytes suggest it, UTF-16/32 of either byte order."""
    for bom, encoding in _UTF_BOMS:
        if body.startswith(bom):
            return [body[len(bom) :].decode(encoding, errors="replace")]
    texts = [body.decode("latin-1")]
    if b"\x00" in body[:1024]:
        for encoding in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
            texts.append(body.decode(encoding, errors="replace"))
    return texts


_UTF16_NO_BOM = ((b"<\x00?\x00", "utf-16-le"), (b"\x00<\x00?", "utf-16-be"))
_XML_DECL = re.compile(rb"\A<\?xml[^>]*?\?>")
_DECL_ENCODING = re.compile(rb"""\sencoding\s*=\s*["'][^"']*["']""")
_CHARSET = re.compile(r";\s*charset\s*=\s*[^;]*", re.IGNORECASE)


def wide_encoding(body: bytes) -> str | None:
    """UTF-16/32 announced by a byte-order mark, or UTF-16 recognisable from a BOM-less
    ``<?`` (XML 1.0, appendix F), else None. These are the documents feedparser misreads when
    they carry no ``encoding=`` in their declaration: it decodes them as UTF-8, which NUL bytes
    do not stop, and the XML parser then fails on the first NUL (RFC 7303 §3: the BOM wins)."""
    for bom, encoding in _UTF_BOMS:
        if body.startswith(bom):
            return encoding
    for marker, encoding in _UTF16_NO_BOM:
        if body.startswith(marker):
            return encoding
    return None


def _transcoded(body: bytes, headers: dict[str, str]) -> tuple[bytes, str | None]:
    """A UTF-16/32 document as UTF-8 (BOM dropped, declaration and ``charset`` saying so),
    and the encoding it came in; anything else unchanged with None."""
    encoding = wide_encoding(body)
    if encoding is None:
        return body, None
    bom = next((b for b, e in _UTF_BOMS if e == encoding and body.startswith(b)), b"")
    try:
        utf8 = body[len(bom) :].decode(encoding).encode("utf-8")
    except UnicodeDecodeError:
        return body, None  # not what it claims: leave it to feedparser's own guesses
    declaration = _XML_DECL.match(utf8)
    if declaration:
        fixed = _DECL_ENCODING.sub(b"", declaration.group(0))
        utf8 = fixed + utf8[declaration.end() :]
    if "content-type" in headers:
        headers["content-type"] = _CHARSET.sub("", headers["content-type"]) + "; charset=utf-8"
    return utf8, encoding.replace("-le", "le").replace("-be", "be")  # feedparser's names


def entity_declaration(body: bytes) -> str | None:
    """Why the document is unsafe to parse (it declares entities in its prolog), or None."""
    for text in _decodings(body):
        text = _COMMENT_OR_PI.sub("", text)
        root = _ROOT_START.search(text)
        prolog = text[: root.start()] if root else text
        if "<!DOCTYPE" in prolog.upper() and _ENTITY_DECL.search(prolog):
            return "DOCTYPE declares entities (entity expansion refused)"
    return None


def parse_feed(
    body: bytes,
    headers: Mapping[str, str],
    feed: FeedConfig,
    now: datetime,
    final_url: str | None = None,
    tracking: Tracking = DEFAULT_TRACKING,
) -> ParsedFeed:
    """Parse one fetched document; ``now`` is when it was fetched (aware UTC); ``tracking``
    names the query parameters left out of each article's id."""
    unsafe = entity_declaration(body)
    if unsafe:
        return ParsedFeed(error=ErrorKind.UNSAFE_XML, detail=unsafe)
    base = final_url or str(feed.url)
    response_headers = {k.lower(): v for k, v in headers.items()}
    response_headers.setdefault("content-location", base)
    response_headers.setdefault("content-type", "application/xml")
    body, came_in = _transcoded(body, response_headers)
    if looks_like_json_feed(body, response_headers.get("content-type")):
        parsed: Any = parse_json_feed(body)
    else:
        parsed = feedparser.parse(body, response_headers=response_headers, sanitize_html=True)
    result = _build(parsed, feed, base, now, tracking)
    return replace(result, encoding=came_in) if came_in and result.encoding else result


def _build(
    parsed: Any, feed: FeedConfig, base: str, now: datetime, tracking: Tracking
) -> ParsedFeed:
    meta = parsed.get("feed", {})
    title = one_line(plain_title(meta.get("title", ""), meta.get("title_detail", {}).get("type")))
    language = _language(feed.language or meta.get("language"))
    warnings: list[str] = []
    bozo = bool(parsed.get("bozo"))
    if bozo:
        warnings.append(f"bozo: {_bozo_message(parsed)}")
    entries = list(parsed.get("entries", []))
    result = ParsedFeed(
        title=title or None,
        language=language,
        entries=len(entries),
        bozo=bozo,
        encoding=parsed.get("encoding"),
        version=parsed.get("version") or None,
        hint_seconds=feed_hint_seconds(
            meta.get("ttl"), meta.get("sy_updateperiod"), meta.get("sy_updatefrequency")
        ),
    )
    if not entries and not result.version:
        detail = _bozo_message(parsed) if bozo else "not a feed (no RSS/Atom/RDF root)"
        return _with(result, warnings, error=ErrorKind.PARSE, detail=detail)
    source = feed.name or title or urlsplit(base).hostname or base
    context = _Context(
        feed=feed,
        base=base,
        source=source,
        language=language,
        now=now,
        tracking=tracking,
        author=entry_author(meta) if _inherits_author(result.version) else None,
    )
    articles: dict[str, RawArticle] = {}
    linked = 0
    for entry in entries:
        article = _article(entry, context, warnings)
        if article is not None:
            linked += 1
            articles.setdefault(article.article_id, article)
    if bozo and not articles:
        return _with(result, warnings, error=ErrorKind.PARSE, detail=_bozo_message(parsed))
    return _with(result, warnings, articles=tuple(articles.values()), linked=linked)


def _inherits_author(version: str | None) -> bool:
    """Atom (RFC 4287 §4.2.1) and JSON Feed items without an author have the feed's; RSS's
    channel-level ``managingEditor`` is an address for editorial mail, not a byline."""
    return bool(version) and str(version).startswith(("atom", "json"))


def _with(result: ParsedFeed, warnings: list[str], **changes: Any) -> ParsedFeed:
    return replace(result, warnings=tuple(warnings), **changes)


def _bozo_message(parsed: Any) -> str:
    exc = parsed.get("bozo_exception")
    return (f"{type(exc).__name__}: {exc}" if exc else "malformed feed")[:300]


def _language(value: str | None) -> str | None:
    """Primary language subtag, lower case: ``en-GB`` -> ``en``."""
    if not value:
        return None
    primary = re.split(r"[-_\s]", value.strip(), maxsplit=1)[0].lower()
    return primary or None


@dataclass(frozen=True)
class _Context:
    feed: FeedConfig
    base: str
    source: str
    language: str | None
    now: datetime
    tracking: Tracking
    author: str | None = None  # the feed's own author: Atom and JSON Feed items inherit it


def _article(entry: Any, ctx: _Context, warnings: list[str]) -> RawArticle | None:
    url = entry_url(entry, ctx.base)
    if url is None:
        warnings.append(f"entry without a usable link skipped: {entry.get('title', '')[:80]!r}")
        return None
    published = _published(entry, ctx.now, warnings)
    text = entry_text(entry)
    title = plain_title(entry.get("title", ""), entry.get("title_detail", {}).get("type"))
    return RawArticle(
        article_id=article_id(url, ctx.tracking),
        url=url,
        title=title or fallback_title(text),
        text=text,
        source=ctx.source,
        feed=str(ctx.feed.url),
        lang=_language(entry.get("language")) or ctx.language,
        country=ctx.feed.country,
        tags=ctx.feed.tags,
        published=published,
        fetched=ctx.now,
        author=entry_author(entry) or ctx.author,
    )


def fallback_title(text: str, limit: int = TITLE_FALLBACK_CHARS) -> str:
    """A title for an item that has none (RSS allows it: title *or* description): the start
    of its first paragraph, cut at a word, with an ellipsis when cut; empty for no text."""
    first = one_line(text.strip().split("\n", 1)[0]) if text.strip() else ""
    if len(first) <= limit:
        return first
    cut = first[:limit].rsplit(" ", 1)[0] if " " in first[:limit] else first[:limit]
    return cut.rstrip(" ,;:.-") + "…"


AUTHOR_MAX_CHARS = 200


def entry_author(entry: Any) -> str | None:
    """The byline: Atom ``author/name`` or RSS ``author`` / ``dc:creator`` as feedparser reads
    them (an RSS ``email (Name)`` gives the name), else every listed author's name."""
    detail = entry.get("author_detail") or {}
    name = detail.get("name") or entry.get("author") or ""
    if not name:
        name = ", ".join(a.get("name", "") for a in entry.get("authors", []) if a.get("name"))
    text = one_line(plain_title(str(name), None))
    return text[:AUTHOR_MAX_CHARS] or None


def entry_url(entry: Any, base: str) -> str | None:
    """The entry's absolute http(s) link: its ``link``, else a permalink GUID."""
    candidates = [entry.get("link")]
    if entry.get("guidislink"):
        candidates.append(entry.get("id"))
    for candidate in candidates:
        if not candidate:
            continue
        url = urljoin(base, str(candidate).strip())
        if urlsplit(url).scheme in ("http", "https") and urlsplit(url).hostname:
            return url
    return None


def entry_text(entry: Any) -> str:
    """Plain text of the entry's content, else of its summary (paragraphs as newlines)."""
    for item in entry.get("content", []) or []:
        value = item.get("value", "")
        if value.strip():
            return _to_text(value, item.get("type"))
    summary = entry.get("summary", "")
    return _to_text(summary, entry.get("summary_detail", {}).get("type")) if summary else ""


def _to_text(value: str, content_type: str | None) -> str:
    if content_type == "text/plain":
        return value.strip()
    return html_to_text(value)


def _published(entry: Any, now: datetime, warnings: list[str]) -> datetime | None:
    """Publication time as aware UTC; None if missing; a time beyond ``now`` + 1 day is
    clamped to ``now`` with a warning."""
    # dict.get: FeedParserDict maps a missing updated* to published* with a DeprecationWarning
    struct = dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")
    if not struct:
        stated = dict.get(entry, "published") or dict.get(entry, "updated")
        if stated:
            warnings.append(f"unreadable date {str(stated)[:60]!r}: published left empty")
        return None
    try:
        when = datetime.fromtimestamp(calendar.timegm(struct), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None
    if when > now + FUTURE_TOLERANCE:
        warnings.append(f"future date {when.isoformat()} clamped to fetch time")
        return now
    return when
