"""JSON Feed 1.0 / 1.1 (https://jsonfeed.org/version/1.1) mapped to feedparser-like entries.

feedparser does not read JSON Feed, so this turns one into the same shape ``parse`` consumes
(``feed`` dict + ``entries`` list of dicts with feedparser's key names); pure, no I/O.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

JSON_FEED_PREFIX = "https://jsonfeed.org/version/"


def looks_like_json_feed(body: bytes, content_type: str | None) -> bool:
    """True for a JSON document (by media type or first character)."""
    if content_type and "json" in content_type.lower():
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def parse_json_feed(body: bytes) -> dict[str, Any]:
    """A feedparser-shaped result for a JSON Feed; ``bozo`` set when it is not one."""
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return {"bozo": True, "bozo_exception": exc, "feed": {}, "entries": []}
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith(JSON_FEED_PREFIX):
        error = ValueError("JSON document is not a JSON Feed")
        return {"bozo": True, "bozo_exception": error, "feed": {}, "entries": []}
    items = doc.get("items")
    entries = (
        [_entry(item) for item in items if isinstance(item, dict)]
        if isinstance(items, list)
        else []
    )
    feed = {"title": _str(doc.get("title")), "language": _str(doc.get("language")) or None}
    authors = _names(doc)
    if authors:  # "the top-level author, if present, is the author of the item" (1.0 and 1.1)
        feed["author"] = authors
    version = "json" + str(doc["version"]).removeprefix(JSON_FEED_PREFIX).replace(".", "")
    return {
        "bozo": False,
        "feed": feed,
        "entries": entries,
        "encoding": "utf-8",
        "version": version,
    }


def _entry(item: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "title": _str(item.get("title")),
        "title_detail": {"type": "text/plain"},
        "link": _str(item.get("url")) or _str(item.get("external_url")) or None,
        "id": _str(item.get("id")) or None,
        "guidislink": False,
        "language": _str(item.get("language")) or None,
    }
    if item.get("content_html"):
        entry["content"] = [{"value": _str(item["content_html"]), "type": "text/html"}]
    elif item.get("content_text"):
        entry["content"] = [{"value": _str(item["content_text"]), "type": "text/plain"}]
    if item.get("summary"):
        entry["summary"] = _str(item["summary"])
        entry["summary_detail"] = {"type": "text/plain"}
    names = _names(item)
    if names:
        entry["author"] = names
    entry["published_parsed"] = _struct(item.get("date_published"))
    entry["updated_parsed"] = _struct(item.get("date_modified"))
    return entry


def _names(holder: dict[str, Any]) -> str:
    """The authors' names of a feed or item, comma-separated ("" when none is named)."""
    names = [_str(a.get("name")) for a in _authors(holder) if isinstance(a, dict)]
    return ", ".join(n for n in names if n)


def _authors(item: dict[str, Any]) -> list[Any]:
    """JSON Feed 1.1 ``authors`` (a list), or 1.0's single ``author`` object."""
    authors = item.get("authors")
    if isinstance(authors, list):
        return authors
    return [item["author"]] if isinstance(item.get("author"), dict) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _struct(value: Any) -> Any:
    """RFC 3339 date -> UTC ``time.struct_time`` (feedparser's convention), or None."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).timetuple()
