"""Full text: fetch an article's page and extract its main text, author and date (trafilatura).

Used for items that carry only a summary. A feed's ``full_text`` decides: true → every new
item, false → never, unset → items whose text is shorter than
``Settings.ingest.full_text_min_chars`` (a summary). The page URL comes from feed content, so
it is fetched through the strict address guard (public addresses only, checked on every hop at
connect time) unless ``allow_private_addresses`` is set; it obeys the same time, size and
redirect limits and the same per-host politeness as feeds. A page that fails or yields less
text than the feed had leaves the article as the feed gave it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from ingest.fetch import Fetcher, Validators
from ingest.parse import AUTHOR_MAX_CHARS
from ingest.politeness import HostGate
from ingest.ssrf import AddressGuard, address_guard
from ingest.text import one_line
from newsmon.config import FeedConfig, Settings
from newsmon.schema import RawArticle

log = logging.getLogger(__name__)

HTML_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "")


@dataclass(frozen=True)
class Extracted:
    """What trafilatura found on a page."""

    text: str
    title: str | None = None
    author: str | None = None
    published: datetime | None = None


def needs_full_text(article: RawArticle, feed: FeedConfig, min_chars: int) -> bool:
    if feed.full_text is not None:
        return feed.full_text
    return len(article.text) < min_chars


def extract(page: bytes, url: str) -> Extracted | None:
    """Main text, title, author and date of an HTML page (pure); None if there is none."""
    import trafilatura

    doc: Any = trafilatura.bare_extraction(
        page,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        favor_precision=True,
        deduplicate=False,
    )
    data = doc if isinstance(doc, dict) or doc is None else doc.as_dict()
    if not data or not (data.get("text") or "").strip():
        return None
    return Extracted(
        text=str(data["text"]).strip(),
        title=data.get("title") or None,
        author=data.get("author") or None,
        published=_date(data.get("date")),
    )


def _date(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


class FullText:
    """Fetches and extracts article pages. ``guard`` defaults to the strict content guard
    (tests inject one that allows the loopback server, or pass ``fetcher``)."""

    def __init__(
        self,
        settings: Settings,
        gate: HostGate,
        *,
        guard: AddressGuard | None | Literal["strict"] = "strict",
        fetcher: Fetcher | None = None,
    ) -> None:
        if guard == "strict":
            guard = None if settings.allow_private_addresses else address_guard(strict=True)
        self._fetcher = fetcher or Fetcher(settings, guard=guard, accept=HTML_ACCEPT)
        self._gate = gate

    def close(self) -> None:
        self._fetcher.close()

    def enrich(self, article: RawArticle, now: datetime) -> tuple[RawArticle, str, int]:
        """The article with the page's text (if longer), the outcome (ok, or why not) and
        the bytes read."""
        if urlsplit(article.url).username:
            return article, "blocked", 0
        with self._gate.slot(article.url):
            result = self._fetcher.fetch(article.url, Validators(), now)
        if not result.ok:
            return article, str(result.error), 0
        ctype = result.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype not in HTML_TYPES:
            return article, "not_html", len(result.body)
        found = extract(result.body, result.final_url)
        if found is None or len(found.text) <= len(article.text):
            return article, "no_text", len(result.body)
        update: dict[str, Any] = {"text": found.text}
        if article.author is None and found.author is not None:
            update["author"] = one_line(found.author)[:AUTHOR_MAX_CHARS] or None
        if article.published is None and found.published is not None:
            update["published"] = min(found.published, now)
        return article.model_copy(update=update), "ok", len(result.body)
