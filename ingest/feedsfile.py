"""The feeds file as data: OPML in and out, and additions appended to the YAML file.

Additions are appended as text, so the operator's comments, order and line numbers stay as
they were; every entry is validated by :class:`FeedConfig` first, and a URL already in the file
is skipped (compared as :class:`HttpUrl` normalises it: scheme/host case, default port).
OPML is read with defusedxml (no entity expansion).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from xml.etree.ElementTree import Element, SubElement, tostring

from defusedxml import ElementTree as SafeTree
from pydantic import ValidationError

from newsmon.config import FeedConfig, load_feeds
from newsmon.errors import ConfigError


def read_opml(data: bytes) -> list[FeedConfig]:
    """Every ``<outline xmlUrl=...>`` of an OPML document; categories (and enclosing
    folders) become tags. Outlines with an invalid URL are skipped."""
    try:
        root = SafeTree.fromstring(data)
    except Exception as exc:  # defusedxml raises several types (ParseError, EntitiesForbidden)
        raise ConfigError(f"not a usable OPML document: {exc}") from exc
    body = root.find("body")
    feeds: list[FeedConfig] = []
    for outline, folders in _outlines(body if body is not None else root, ()):
        url = outline.get("xmlUrl") or outline.get("xmlurl")
        if not url:
            continue
        tags = [*folders, *(c.strip() for c in (outline.get("category") or "").split(","))]
        entry = {
            "url": url.strip(),
            "name": (outline.get("title") or outline.get("text") or "").strip() or None,
            "tags": tuple(dict.fromkeys(t.strip("/") for t in tags if t.strip("/"))),
            "language": outline.get("language") or None,
        }
        try:
            feeds.append(FeedConfig.model_validate(entry))
        except ValidationError:
            continue
    return feeds


def _outlines(node: Element, folders: tuple[str, ...]) -> Iterable[tuple[Element, tuple[str, ...]]]:
    for child in node.findall("outline"):
        if child.get("xmlUrl") or child.get("xmlurl"):
            yield child, folders
        else:
            label = (child.get("title") or child.get("text") or "").strip()
            yield from _outlines(child, (*folders, label) if label else folders)


def write_opml(feeds: Sequence[FeedConfig], title: str = "newsmon feeds") -> str:
    root = Element("opml", version="2.0")
    SubElement(SubElement(root, "head"), "title").text = title
    body = SubElement(root, "body")
    for feed in feeds:
        attrs = {
            "type": "rss",
            "text": feed.display_name,
            "title": feed.display_name,
            "xmlUrl": str(feed.url),
        }
        if feed.tags:
            attrs["category"] = ",".join(feed.tags)
        if feed.language:
            attrs["language"] = feed.language
        SubElement(body, "outline", attrs)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + tostring(root, "unicode") + "\n"


def merge_into(path: Path, additions: Sequence[FeedConfig]) -> tuple[list[FeedConfig], int]:
    """Append the feeds of ``additions`` whose URL is not in ``path`` yet (the file is created
    if missing); returns the ones added and how many were duplicates."""
    existing = load_feeds(path) if path.exists() else []
    known = {str(f.url) for f in existing}
    added: list[FeedConfig] = []
    for feed in additions:
        if str(feed.url) not in known:
            known.add(str(feed.url))
            added.append(feed)
    if added:
        text = path.read_text("utf-8") if path.exists() else ""
        if text and not text.endswith("\n"):
            text += "\n"
        path.write_text(text + "".join(to_yaml(f) for f in added), "utf-8")
        load_feeds(path)  # what we wrote must read back
    return added, len(additions) - len(added)


def to_yaml(feed: FeedConfig) -> str:
    """One feed as a YAML list item (values JSON-quoted, which YAML reads as strings)."""
    data = feed.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    data["url"] = str(feed.url)
    lines = [f"- url: {json.dumps(data.pop('url'))}"]
    for key, value in data.items():
        lines.append(f"  {key}: {json.dumps(value, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"
