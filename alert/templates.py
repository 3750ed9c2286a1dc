"""What an alert says, rendered for each channel (pure: payload in, text out).

The *payload* is the JSON the webhook receives (contract: ``rule``, ``story_id``,
``article_id``, ``title``, ``url``, ``published``, ``matched``, ``actors``; here also
``source``, ``topics``, ``time`` — ``published`` in the rule's time zone —, ``timezone``,
``discover`` — a Kibana Discover link when the rule has ``kibana_url`` —, ``kind``
(``alert`` | ``digest``), ``alert_id``, and for a digest its ``items``).
"""

from __future__ import annotations

import html
import string
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

DEFAULT_SUBJECT = "[newsmon] {rule}: {title}"
PLACEHOLDERS = frozenset(
    "rule title source time url matched actors topics discover story_id article_id "
    "sources".split()
)


def local_time(published: Any, tz: ZoneInfo) -> str:
    """``2025-05-11 12:30 EEST`` for an ISO timestamp; ``"?"`` when absent or unparseable."""
    if not published:
        return "?"
    try:
        when = datetime.fromisoformat(str(published).replace("Z", "+00:00"))
    except ValueError:
        return str(published)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def _rison(text: str) -> str:
    return "'" + text.replace("!", "!!").replace("'", "!'") + "'"


def discover_link(kibana_url: str, query: str, published: Any) -> str:
    """A Kibana Discover URL running ``query`` (Lucene) over the week around ``published``."""
    base = kibana_url.rstrip("/")
    time_range = "(from:now-7d,to:now)"
    if published:
        time_range = f"(from:{_rison(str(published))},to:now)"
    app = f"(query:(language:lucene,query:{_rison(query)}))"
    g = f"(time:{time_range})"
    return f"{base}/app/discover#/?_g={quote(g, safe='():,!')}&_a={quote(app, safe='():,!')}"


def fields(payload: Mapping[str, Any]) -> dict[str, str]:
    """The placeholder values of a payload, as text."""
    return {
        "rule": str(payload.get("rule", "")),
        "title": str(payload.get("title") or "(no title)"),
        "source": str(payload.get("source") or "?"),
        "time": str(payload.get("time") or payload.get("published") or "?"),
        "url": str(payload.get("url", "")),
        "matched": ", ".join(payload.get("matched") or []) or "-",
        "actors": ", ".join(payload.get("actors") or []) or "-",
        "topics": ", ".join(payload.get("topics") or []) or "-",
        "discover": str(payload.get("discover") or ""),
        "story_id": str(payload.get("story_id", "")),
        "article_id": str(payload.get("article_id", "")),
        "sources": ", ".join(payload.get("sources") or []) or "-",
    }


class _Missing(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(template: str, payload: Mapping[str, Any]) -> str:
    return template.format_map(_Missing(fields(payload)))


def check_template(template: str) -> None:
    """ValueError naming an unknown placeholder or a malformed template."""
    for _, name, _, _ in string.Formatter().parse(template):
        if name is not None and name not in PLACEHOLDERS:
            known = ", ".join(sorted(PLACEHOLDERS))
            raise ValueError(f"unknown placeholder {{{name}}} (known: {known})")


def subject(payload: Mapping[str, Any], template: str | None = None) -> str:
    if payload.get("kind") == "digest":
        n = len(payload.get("items") or [])
        return f"[newsmon] {payload.get('rule')}: {n} stories ({payload.get('period', '')})"
    text = fill(template or DEFAULT_SUBJECT, payload)
    return " ".join(text.split())[:250]


def _article_lines(payload: Mapping[str, Any]) -> list[str]:
    f = fields(payload)
    lines = [f["title"], f"{f['source']} · {f['time']}", f["url"]]
    lines.append(f"Matched: {f['matched']}")
    lines.append(f"Actors: {f['actors']}")
    if f["discover"]:
        lines.append(f"Kibana: {f['discover']}")
    return lines


def text_body(payload: Mapping[str, Any], template: str | None = None) -> str:
    """The plain-text message (email body, log line, Slack fallback)."""
    if payload.get("kind") == "digest":
        parts = [subject(payload), ""]
        for item in payload.get("items") or []:
            parts.extend(["- " + line for line in _article_lines(item)[:1]])
            parts.extend(["  " + line for line in _article_lines(item)[1:]])
        return "\n".join(parts) + "\n"
    if template:
        return fill(template, payload).rstrip() + "\n"
    head = [f"Rule {payload.get('rule')} matched"]
    return "\n".join(head + _article_lines(payload)) + "\n"


def html_body(payload: Mapping[str, Any]) -> str:
    items = payload.get("items") if payload.get("kind") == "digest" else [payload]
    blocks = []
    for item in items or []:
        f = {k: html.escape(v) for k, v in fields(item).items()}
        link = f' · <a href="{f["discover"]}">Kibana</a>' if f["discover"] else ""
        blocks.append(
            f'<p><a href="{f["url"]}"><b>{f["title"]}</b></a><br>{f["source"]} · {f["time"]}'
            f"{link}<br>Matched: {f['matched']}<br>Actors: {f['actors']}</p>"
        )
    return f"<html><body><h3>{html.escape(subject(payload))}</h3>{''.join(blocks)}</body></html>"


def _mrkdwn(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_article(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    f = {k: _mrkdwn(v) for k, v in fields(item).items()}
    link = f" · <{f['discover']}|Kibana>" if f["discover"] else ""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*<{f['url']}|{f['title']}>*"}},
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f"{f['source']} · {f['time']}{link}"},
                {"type": "mrkdwn", "text": f"Matched: {f['matched']} · Actors: {f['actors']}"},
            ],
        },
    ]


def slack_message(payload: Mapping[str, Any], template: str | None = None) -> dict[str, Any]:
    """A Slack incoming-webhook body: ``text`` (notification fallback) and ``blocks``
    (≤ 50 blocks; section text ≤ 3000 characters)."""
    head = {"type": "header", "text": {"type": "plain_text", "text": subject(payload)[:150]}}
    items: Sequence[Mapping[str, Any]] = (
        payload.get("items") or [] if payload.get("kind") == "digest" else [payload]
    )
    blocks: list[dict[str, Any]] = [head]
    for item in items[:24]:
        blocks.extend(_slack_article(item))
    for block in blocks:
        if block["type"] == "section":
            block["text"]["text"] = block["text"]["text"][:3000]
    return {"text": subject(payload, template), "blocks": blocks}
