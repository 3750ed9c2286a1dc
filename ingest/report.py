"""What a poll round did, feed by feed, and how it is logged (URLs redacted)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from ingest.kinds import ErrorKind

log = logging.getLogger("ingest.poller")


@dataclass(frozen=True)
class FeedReport:
    """What one poll of one feed did. ``status``: ok | not_modified | error."""

    url: str
    name: str
    status: str
    new_items: int = 0
    entries: int = 0
    http_status: int | None = None
    error: ErrorKind | None = None
    detail: str = ""
    warnings: tuple[str, ...] = ()
    next_poll: datetime | None = None
    moved_to: str | None = None
    gone: bool = False


@dataclass(frozen=True)
class PollReport:
    """What one round did, feed by feed."""

    feeds: tuple[FeedReport, ...] = ()

    @property
    def new_items(self) -> int:
        return sum(f.new_items for f in self.feeds)

    @property
    def errors(self) -> tuple[FeedReport, ...]:
        return tuple(f for f in self.feeds if f.error is not None)

    def __str__(self) -> str:
        return f"feeds={len(self.feeds)} new={self.new_items} errors={len(self.errors)}"


def redact_url(url: str) -> str:
    """A URL fit for logs: no credentials, no query string (it may carry API keys)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    query = "?…" if parts.query else ""
    return f"{parts.scheme}://{host}{port}{parts.path}{query}"


def log_report(report: FeedReport) -> None:
    """Failures at WARNING, polls with news at INFO, unchanged feeds (304 / same body) at
    DEBUG: most polls change nothing, and a line each would drown the log."""
    if report.error is None:
        level = logging.DEBUG if report.status == "not_modified" else logging.INFO
        if not log.isEnabledFor(level):
            return
    url = redact_url(report.url)
    if report.error is not None:
        log.warning(
            "feed poll failed feed=%s error=%s http_status=%s detail=%r next_poll=%s%s",
            url,
            report.error,
            report.http_status,
            report.detail,
            _iso(report.next_poll),
            " gone=true (polling stopped)" if report.gone else "",
        )
    else:
        log.log(
            level,
            "feed polled feed=%s status=%s new=%d entries=%d warnings=%d next_poll=%s",
            url,
            report.status,
            report.new_items,
            report.entries,
            len(report.warnings),
            _iso(report.next_poll),
        )
    if report.moved_to:
        log.debug("feed moved feed=%s to=%s", url, redact_url(report.moved_to))


def _iso(when: datetime | None) -> str:
    return when.isoformat(timespec="seconds") if when else "-"
