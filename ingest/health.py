"""Feed health: is this source still feeding us, and if not, why (pure: takes ``now``).

"The feed looks fine but collects nothing" has a few causes the poller can see itself, each a
*signal* with a start and an end, kept in the feed's record (``health``) and announced on the
bus as :class:`~newsmon.schema.FeedHealth` changes, which the alert stage routes to the
operator channel (rules of ``kind: health``):

``challenge``  an anti-bot interstitial (Cloudflare "Just a moment...", DataDome, PerimeterX,
               Imperva, Akamai, Sucuri, DDoS-Guard, AWS WAF, a CAPTCHA page) instead of the feed,
               whatever the status: one poll is enough. Ends with a good poll.
``html``       a web page (``<html>`` root) answered 2xx where a feed should be. Ends with a
               good poll.
``blocked``    ``storm_polls`` polls in a row answered 403 or 429 (no challenge page seen).
               Ends with a good poll.
``same_link``  a parsed document whose items (at least ``same_link_min_items``) all link to one
               page, where a feed's items each have their own. Ends when a parse shows two.
``gone``       HTTP 410: the poller stopped. Ends when an operator resumes and a poll succeeds.
``silent``     no new item for ``silence_factor`` times the longest gap between new items of
               the feed's last :data:`GAP_DAYS` days, once it has ``silence_min_gaps`` gaps over
               at least ``silence_min_history`` seconds (judged against its own rhythm: a weekly
               column is not silent after a day, a wire feed is after an hour, and a feed that
               rests every night is not silent at night). Not raised while another signal
               explains the silence. Ends with the next new item.

The gaps are measured between polls that found new items; ``gaps`` keeps, as JSON, when the
first new item came, how many gaps were seen and the longest gap of each of the last
:data:`GAP_DAYS` days (UTC). ``denied`` counts polls in a row answered 403/429.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from ingest import metrics
from ingest.report import redact_url
from ingest.state import FeedRecord
from newsmon.bus import HEALTH_TOPIC, Bus
from newsmon.config import FeedConfig, IngestSettings
from newsmon.schema import FeedHealth, encode

log = logging.getLogger(__name__)

GAP_DAYS = 8
SNIFF_BYTES = 64 * 1024  # of an error response's body: enough for any interstitial's markers
DENIED = frozenset({403, 429})
SIGNALS = ("silent", "blocked", "challenge", "html", "same_link", "gone")

_HEADER_MARKERS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("Cloudflare", "cf-mitigated", re.compile(r"challenge", re.I)),
    ("DataDome", "x-datadome", re.compile(r".")),
    ("AWS WAF", "x-amzn-waf-action", re.compile(r"challenge|captcha", re.I)),
    ("DDoS-Guard", "server", re.compile(r"ddos-guard", re.I)),
)
_BODY_MARKERS: tuple[tuple[str, re.Pattern[bytes]], ...] = (
    (
        "Cloudflare",
        re.compile(
            rb"cf-chl-|_cf_chl_opt|/cdn-cgi/challenge-platform|cf-browser-verification|"
            rb"<title>\s*just a moment\.\.\.|attention required! \| cloudflare|"
            rb"cf-error-details|sorry, you have been blocked",
            re.I,
        ),
    ),
    ("DataDome", re.compile(rb"captcha-delivery\.com|geo\.captcha-delivery|datadome", re.I)),
    ("PerimeterX", re.compile(rb"px-captcha|_pxappid|perimeterx|human challenge", re.I)),
    ("Imperva", re.compile(rb"_incapsula_resource|incapsula incident id", re.I)),
    (
        "Akamai",
        re.compile(rb"errors\.edgesuite\.net|access denied.{0,600}reference #", re.I | re.S),
    ),
    ("Sucuri", re.compile(rb"sucuri website firewall|sucuri\.net/privacy", re.I)),
    ("DDoS-Guard", re.compile(rb"ddos-guard", re.I)),
    ("AWS WAF", re.compile(rb"awswaf|aws-waf-token|awswafintegration", re.I)),
    (
        "a CAPTCHA",
        re.compile(
            rb"g-recaptcha|recaptcha/api\.js|h-captcha|hcaptcha\.com|"
            rb"verify (?:that )?you are (?:a )?human|are you a robot|unusual traffic from your",
            re.I,
        ),
    ),
)
_PROLOG = re.compile(rb"\A(?:\xef\xbb\xbf)?(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.S)
_HTML_ROOT = re.compile(rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]", re.I)


@dataclass(frozen=True)
class Sniff:
    """What a response body is when it is not a feed: ``challenge`` (with the vendor) or
    ``html``."""

    kind: Literal["challenge", "html"]
    detail: str


def looks_like_html(body: bytes) -> bool:
    """Is the document's root an HTML page (after BOM, whitespace, declarations, comments)?
    A feed served as ``text/html`` is still a feed: only the body decides."""
    head = body[:4096]
    prolog = _PROLOG.match(head)
    rest = head[prolog.end() :] if prolog else head
    return bool(_HTML_ROOT.match(rest))


def sniff(status: int | None, headers: Mapping[str, str], body: bytes) -> Sniff | None:
    """An anti-bot interstitial or a web page where a feed was expected, else None. Only an
    error answer or an HTML body is read: a feed that mentions a CAPTCHA is a feed."""
    if status is None:
        return None
    html = looks_like_html(body)
    if status < 400 and not html:
        return None
    where = f" (HTTP {status})"
    for vendor, name, pattern in _HEADER_MARKERS:
        if pattern.search(headers.get(name, "")):
            return Sniff("challenge", f"{vendor} challenge{where}")
    head = body[:SNIFF_BYTES]
    for vendor, found in _BODY_MARKERS:
        if found.search(head):
            return Sniff("challenge", f"{vendor} interstitial page{where}")
    if html and 200 <= status < 300:
        return Sniff("html", f"a web page instead of a feed{where}")
    return None


@dataclass(frozen=True)
class Observation:
    """What one poll showed, as far as health goes."""

    http_status: int | None = None
    ok: bool = False  # the poll succeeded (a parsed feed or not-modified)
    sniffed: Sniff | None = None
    linked: int = 0  # items of the parsed document that had a link (0: nothing parsed)
    links: int = 0  # distinct articles among them


@dataclass(frozen=True)
class Change:
    """A signal that began (``problem``) or ended (``resolved``) at this poll."""

    signal: str
    state: Literal["problem", "resolved"]
    since: datetime
    detail: str
    http_status: int | None = None


def signals_of(record: FeedRecord) -> dict[str, dict[str, str]]:
    """The record's active signals: name → {"since": ISO time, "detail": text}."""
    if not record.health:
        return {}
    try:
        found = json.loads(record.health)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


@dataclass(frozen=True)
class Gaps:
    """A feed's rhythm: since when it yields items, how many gaps, the longest per day."""

    since: datetime | None = None
    count: int = 0
    longest: Mapping[str, float] = field(default_factory=dict)  # UTC day -> seconds

    def add(self, gap: float, now: datetime) -> Gaps:
        day = now.date().isoformat()
        longest = {**self.longest, day: max(gap, self.longest.get(day, 0.0))}
        kept = dict(sorted(longest.items())[-GAP_DAYS:])
        return Gaps(self.since, self.count + 1, kept)

    @property
    def usual(self) -> float:
        return max(self.longest.values(), default=0.0)

    def to_text(self) -> str:
        since = self.since.isoformat() if self.since else None
        return json.dumps({"since": since, "count": self.count, "longest": self.longest})


def gaps_of(record: FeedRecord) -> Gaps:
    try:
        found = json.loads(record.gaps) if record.gaps else {}
        since = found.get("since")
        return Gaps(
            datetime.fromisoformat(since) if since else None,
            int(found.get("count", 0)),
            {str(k): float(v) for k, v in (found.get("longest") or {}).items()},
        )
    except (ValueError, TypeError, AttributeError):
        return Gaps()


def assess(
    before: FeedRecord, after: FeedRecord, seen: Observation, now: datetime, tuning: IngestSettings
) -> tuple[FeedRecord, list[Change]]:
    """``after`` (the record :func:`ingest.records.after_poll` made) with its health brought
    up to date, and the signals that began or ended."""
    gaps = gaps_of(before)
    if after.last_new == now and gaps.since is None:
        gaps = replace(gaps, since=now)
    if after.last_new == now and before.last_new is not None and before.last_new < now:
        gaps = gaps.add((now - before.last_new).total_seconds(), now)
    denied = before.denied
    if seen.http_status is not None:
        denied = denied + 1 if seen.http_status in DENIED else 0
    record = replace(after, gaps=gaps.to_text() if gaps.since else None, denied=denied)
    old = signals_of(before)
    now_active = _judge(old, record, seen, gaps, now, tuning)
    changes = [
        Change(name, "problem", now, detail, seen.http_status)
        for name, detail in now_active.items()
        if name not in old
    ]
    changes += [
        Change(name, "resolved", _since(old[name], now), str(old[name].get("detail", "")))
        for name in old
        if name not in now_active
    ]
    kept = {
        name: old.get(name) or {"since": now.isoformat(), "detail": detail}
        for name, detail in now_active.items()
    }
    return replace(record, health=json.dumps(kept, sort_keys=True) if kept else None), changes


def _since(entry: Mapping[str, Any], fallback: datetime) -> datetime:
    try:
        return datetime.fromisoformat(str(entry.get("since")))
    except ValueError:
        return fallback


def _judge(
    old: Mapping[str, Any],
    record: FeedRecord,
    seen: Observation,
    gaps: Gaps,
    now: datetime,
    tuning: IngestSettings,
) -> dict[str, str]:
    """Signal name → detail, for every signal active after this poll."""
    active: dict[str, str] = {}
    for name in ("challenge", "html", "blocked"):  # a good poll ends them
        if name in old and not seen.ok:
            active[name] = str(old[name].get("detail", ""))
    if seen.sniffed is not None:
        active[seen.sniffed.kind] = seen.sniffed.detail
    if record.denied >= tuning.storm_polls and "challenge" not in active:
        active["blocked"] = f"{record.denied} polls in a row answered HTTP {seen.http_status}"
    _judge_links(old, seen, tuning, active)
    if record.gone:
        active["gone"] = "HTTP 410 Gone: polling stopped (newsmon feeds resume URL)"
    silent = _silence(record, gaps, now, tuning)
    if "silent" in old and (record.last_new is None or record.last_new < now):
        active["silent"] = str(old["silent"].get("detail", ""))
    elif silent and not active:
        active["silent"] = silent
    return active


def _judge_links(
    old: Mapping[str, Any], seen: Observation, tuning: IngestSettings, active: dict[str, str]
) -> None:
    if seen.linked >= tuning.same_link_min_items and seen.links == 1:
        active["same_link"] = f"all {seen.linked} items of the feed link to one page"
    elif "same_link" in old and seen.links < 2:
        active["same_link"] = str(old["same_link"].get("detail", ""))


def _silence(record: FeedRecord, gaps: Gaps, now: datetime, tuning: IngestSettings) -> str | None:
    """Why the feed is silent against its own history, or None."""
    if record.last_new is None or gaps.since is None or gaps.count < tuning.silence_min_gaps:
        return None
    if (record.last_new - gaps.since).total_seconds() < tuning.silence_min_history:
        return None
    usual = gaps.usual
    quiet = (now - record.last_new).total_seconds()
    if quiet <= tuning.silence_factor * usual:
        return None
    return (
        f"no new item since {record.last_new.isoformat(timespec='minutes')} "
        f"({_span(quiet)}; its longest recent gap was {_span(usual)})"
    )


def _span(seconds: float) -> str:
    delta = timedelta(seconds=round(seconds))
    if delta >= timedelta(days=2):
        return f"{delta.total_seconds() / 86400:.1f} days"
    if delta >= timedelta(hours=2):
        return f"{delta.total_seconds() / 3600:.1f} hours"
    return f"{delta.total_seconds() / 60:.0f} minutes"


def announce(
    bus: Bus, changes: Sequence[tuple[FeedConfig, Sequence[Change]]], now: datetime
) -> None:
    """Publish every change as a :class:`FeedHealth` message (key: the feed's URL) and wait
    for the bus to acknowledge them (TransientError if it does not)."""
    for feed, found in changes:
        for change in found:
            message = FeedHealth(
                feed=str(feed.url),
                name=feed.display_name,
                signal=change.signal,
                state=change.state,
                since=change.since,
                at=now,
                detail=change.detail,
                http_status=change.http_status,
            )
            bus.publish(HEALTH_TOPIC, str(feed.url), encode(message))
            log.warning(
                "feed health feed=%s signal=%s state=%s detail=%r",
                redact_url(str(feed.url)),
                change.signal,
                change.state,
                change.detail,
            )
    bus.flush()
    for _, found in changes:
        for change in found:
            metrics.HEALTH_CHANGES.labels(change.signal, change.state).inc()


def unannounced(old: FeedRecord, new: FeedRecord) -> FeedRecord:
    """``new`` with the health of ``old`` and its validators: the changes could not be
    announced (the bus did not acknowledge), so the next poll fetches and judges again."""
    return replace(
        new,
        health=old.health,
        etag=old.etag,
        last_modified=old.last_modified,
        body_hash=old.body_hash,
    )
