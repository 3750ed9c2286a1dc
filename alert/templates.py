"""What an alert says, rendered for each channel (pure: payload in, text out).

The *payload* is the JSON the webhook receives (contract: ``rule``, ``story_id``,
``article_id``, ``title``, ``url``, ``published``, ``matched``, ``actors``; here also
``source``, ``topics``, ``time`` — ``published`` in the rule's time zone —, ``timezone``,
``discover`` — a Kibana Discover link when the rule has ``kibana_url`` —, ``kind``
(``alert`` | ``spike`` | ``health`` | ``digest``), ``alert_id``, ``fragments`` — the title and
one or two sentences with the matched terms marked ``<em>`` (:mod:`alert.fragments`) —, for a
spike ``summary``, ``spike`` (window, count, usual level, threshold, publishers), ``stories``
and ``top_sources``, for a feed-health alert ``feed``, ``signal``, ``state``, ``since`` and
``detail``, and for a digest its ``items``). Each channel renders the marks its own way:
``**term**`` in text, ``<mark>`` in HTML, bold in Slack.
"""

from __future__ import annotations

import html
import string
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from alert.fragments import render

DEFAULT_SUBJECT = "[newsmon] {rule}: {title}"
PLACEHOLDERS = frozenset(
    "rule title source time url matched actors topics discover story_id article_id "
    "sources fragment summary signal detail feed".split()
)
TEXT_MARK = ("**", "**")


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
        "fragment": " … ".join(fragment_lines(payload, *TEXT_MARK)),
        "summary": str(payload.get("summary") or ""),
        "signal": str(payload.get("signal") or ""),
        "detail": str(payload.get("detail") or ""),
        "feed": str(payload.get("feed") or ""),
    }


def fragment_lines(
    payload: Mapping[str, Any], open_mark: str, close_mark: str, escape: Any = None
) -> list[str]:
    """The matched sentences of the payload's ``fragments``, marks rendered (the title is
    shown as a line of its own only when it holds a mark)."""
    found = payload.get("fragments") or {}
    lines = [render(t, open_mark, close_mark, escape) for t in found.get("text") or []]
    title = str(found.get("title") or "")
    if "<em>" in title:
        lines.insert(0, render(title, open_mark, close_mark, escape))
    return lines


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
    kind = payload.get("kind")
    if kind == "digest":
        n = len(payload.get("items") or [])
        return f"[newsmon] {payload.get('rule')}: {n} stories ({payload.get('period', '')})"
    if kind == "spike" and template is None:
        text = f"[newsmon] {payload.get('rule')}: spike, {payload.get('summary', '')}"
    elif kind == "health" and template is None:
        text = f"[newsmon] {payload.get('rule')}: {payload.get('title', '')}"
    else:
        text = fill(template or DEFAULT_SUBJECT, payload)
    return " ".join(text.split())[:250]


def _article_lines(payload: Mapping[str, Any]) -> list[str]:
    if payload.get("kind") == "spike":
        return _spike_lines(payload)
    if payload.get("kind") == "health":
        return _health_lines(payload)
    f = fields(payload)
    lines = [f["title"], f"{f['source']} · {f['time']}", f["url"]]
    lines.append(f"Matched: {f['matched']}")
    lines.extend(f"  > {line}" for line in fragment_lines(payload, *TEXT_MARK))
    lines.append(f"Actors: {f['actors']}")
    if f["discover"]:
        lines.append(f"Kibana: {f['discover']}")
    return lines


def _spike_lines(payload: Mapping[str, Any]) -> list[str]:
    spike = payload.get("spike") or {}
    lines = [f"Spike: {payload.get('summary', '')}",
             f"Window: {spike.get('window_start', '?')} to {spike.get('window_end', '?')}"]
    for story in payload.get("stories") or []:
        sources = ", ".join(story.get("sources") or [])
        lines.append(f"- {story.get('title') or '(no title)'} ({story.get('articles', 1)} "
                     f"articles: {sources})")
        lines.append(f"  {story.get('url', '')}")
        lines.extend(f"  > {line}" for line in fragment_lines(story, *TEXT_MARK))
    top = payload.get("top_sources") or []
    if top:
        lines.append("Sources: " + ", ".join(f"{s['source']} ({s['count']})" for s in top))
    lines.append(f"Matched: {fields(payload)['matched']}")
    return lines


def _health_lines(payload: Mapping[str, Any]) -> list[str]:
    return [
        str(payload.get("title") or ""),
        f"Signal: {payload.get('signal')} ({payload.get('state')}) since {payload.get('since')}",
        f"Detail: {payload.get('detail') or '-'}",
        f"Feed: {payload.get('feed') or payload.get('url', '')}",
    ]


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
    head = {"spike": f"Rule {payload.get('rule')} saw a spike",
            "health": f"Rule {payload.get('rule')}: feed health"}.get(
        str(payload.get("kind")), f"Rule {payload.get('rule')} matched")
    return "\n".join([head, *_article_lines(payload)]) + "\n"


def html_body(payload: Mapping[str, Any]) -> str:
    items = payload.get("items") if payload.get("kind") == "digest" else [payload]
    blocks = []
    for item in items or []:
        if item.get("kind") in ("spike", "health"):
            lines = [html.escape(line) for line in _article_lines(item)]
            blocks.append("<p>" + "<br>".join(lines) + "</p>")
            continue
        f = {k: html.escape(v) for k, v in fields(item).items()}
        link = f' · <a href="{f["discover"]}">Kibana</a>' if f["discover"] else ""
        quotes = "".join(f"<br><i>{line}</i>" for line in
                         fragment_lines(item, "<mark>", "</mark>", html.escape))
        blocks.append(
            f'<p><a href="{f["url"]}"><b>{f["title"]}</b></a><br>{f["source"]} · {f["time"]}'
            f"{link}<br>Matched: {f['matched']}{quotes}<br>Actors: {f['actors']}</p>"
        )
    return f"<html><body><h3>{html.escape(subject(payload))}</h3>{''.join(blocks)}</body></html>"


def _mrkdwn(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_article(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    if item.get("kind") in ("spike", "health"):
        text = "\n".join(_mrkdwn(line) for line in _article_lines(item))
        return [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    f = {k: _mrkdwn(v) for k, v in fields(item).items()}
    quotes = fragment_lines(item, "*", "*", _mrkdwn)
    link = f" · <{f['discover']}|Kibana>" if f["discover"] else ""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*<{f['url']}|{f['title']}>*"}},
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f"{f['source']} · {f['time']}{link}"},
                {"type": "mrkdwn", "text": f"Matched: {f['matched']} · Actors: {f['actors']}"},
                *({"type": "mrkdwn", "text": "> " + q} for q in quotes),
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
