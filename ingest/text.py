"""HTML to plain text for titles and article bodies (paragraphs kept as line breaks)."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "table",
        "blockquote",
        "pre",
        "section",
        "article",
        "header",
        "footer",
        "figure",
        "figcaption",
        "hr",
        "dd",
        "dt",
        "dl",
        "aside",
        "main",
        "nav",
        "address",
    }
)
_SKIP_TAGS = frozenset({"script", "style", "template", "noscript", "iframe", "object", "svg"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u200b]+")
_TAG = re.compile(r"<\s*/?\s*[A-Za-z][^>]*>")
_MARKUP = re.compile(_TAG.pattern + r"|&(#\d+|#x[0-9A-Fa-f]+|[A-Za-z]+);")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data.replace("\n", " "))


def looks_like_html(text: str) -> bool:
    return bool(_MARKUP.search(text))


def html_to_text(markup: str) -> str:
    """Visible text of an HTML fragment: block elements become line breaks, runs of
    whitespace one space, blank lines dropped. A fragment without any tag is plain text
    whose own line breaks are kept."""
    if not _TAG.search(markup):  # plain text sent as HTML: its line breaks are paragraphs
        return _tidy_lines(html.unescape(markup))
    collector = _TextCollector()
    collector.feed(markup)
    collector.close()
    return _tidy_lines("".join(collector.parts))


def _tidy_lines(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def one_line(text: str) -> str:
    """Text with every run of whitespace (line breaks included) folded into one space."""
    return " ".join(text.split())


def plain_title(value: str, content_type: str | None) -> str:
    """A title as one line of plain text, whether the feed sent it as text or as HTML."""
    if content_type in ("text/html", "application/xhtml+xml", "html", "xhtml") or (
        looks_like_html(value)
    ):
        value = html_to_text(value)
    return one_line(value)
