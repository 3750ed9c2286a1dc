"""The feed poller: fetch due feeds concurrently, publish new articles, remember what is done.

One round (:meth:`FeedPoller.poll_due`): fetch + parse every due feed in a bounded thread pool
(feeds of one host one after another, for politeness), drop articles already seen or listed by
another feed in the round, publish the rest to ``news.articles.raw.v1`` (key = article_id),
``bus.flush()``, and only then mark them seen and store the feeds' new validators. If the
flush raises :class:`TransientError` nothing is marked: the next round publishes them again.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from ingest.fetch import Fetcher, FetchResult, Validators
from ingest.kinds import ErrorKind
from ingest.parse import ParsedFeed, parse_feed
from ingest.schedule import next_poll
from ingest.state import STATE_FILE, FeedRecord, FeedState
from newsmon.bus import RAW_TOPIC, Bus
from newsmon.config import FeedConfig, Settings
from newsmon.errors import TransientError
from newsmon.schema import RawArticle, encode

log = logging.getLogger(__name__)

MAX_WORKERS = 8
NEVER = datetime.max.replace(tzinfo=UTC)


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


@dataclass
class _Outcome:
    """Fetch + parse of one feed, before anything is published or stored."""

    feed: FeedConfig
    fetched: FetchResult | None = None
    parsed: ParsedFeed | None = None
    error: ErrorKind | None = None
    detail: str = ""
    new: list[RawArticle] = field(default_factory=list)

    @property
    def url(self) -> str:
        return str(self.feed.url)


def redact_url(url: str) -> str:
    """A URL fit for logs: no credentials, no query string (it may carry API keys)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    query = "?…" if parts.query else ""
    return f"{parts.scheme}://{host}{port}{parts.path}{query}"


class FeedPoller:
    """Polls the configured feeds (operator-configured URLs are trusted: no SSRF check).

    ``state`` is a :class:`FeedState`, a path to its SQLite file, or None for
    ``<settings.data_dir>/ingest.sqlite3``; a state the poller opened is closed by :meth:`close`.
    """

    def __init__(
        self,
        feeds: Sequence[FeedConfig],
        bus: Bus,
        state: FeedState | Path | str | None = None,
        settings: Settings | None = None,
        *,
        fetcher: Fetcher | None = None,
        max_workers: int = MAX_WORKERS,
        rng: random.Random | None = None,
    ) -> None:
        if settings is None:
            raise TypeError("FeedPoller needs settings")
        if state is None:
            state = Path(settings.data_dir) / STATE_FILE
        self._feeds = list(feeds)
        self._bus = bus
        self._owns_state = not isinstance(state, FeedState)
        self._state = state if isinstance(state, FeedState) else FeedState(state)
        self._settings = settings
        self._fetcher = fetcher or Fetcher(settings)
        self._workers = max(1, max_workers)
        self._rng = rng or random.Random()
        self._records = {str(f.url): self._state.get(str(f.url)) for f in self._feeds}

    @property
    def state(self) -> FeedState:
        return self._state

    def poll_due(self, now: datetime) -> PollReport:
        """Poll every feed whose next poll time is ≤ ``now``. Raises :class:`TransientError`
        if the bus did not acknowledge; the unpublished articles stay unseen."""
        due = [f for f in self._feeds if self._due(f, now)]
        return self._round(due, now)

    def poll_all(self, now: datetime) -> PollReport:
        """Poll every feed once, due or not (``--once``)."""
        return self._round(self._feeds, now)

    def next_due(self) -> datetime:
        """The earliest next poll time over all feeds (far future when there are none)."""
        times = [self._records[str(f.url)].next_poll for f in self._feeds]
        if any(t is None for t in times):
            return datetime.fromtimestamp(0, UTC)
        return min((t for t in times if t is not None), default=NEVER)

    def close(self) -> None:
        if self._owns_state:
            self._state.close()

    def _due(self, feed: FeedConfig, now: datetime) -> bool:
        when = self._records[str(feed.url)].next_poll
        return when is None or when <= now

    def _round(self, feeds: Sequence[FeedConfig], now: datetime) -> PollReport:
        if not feeds:
            return PollReport()
        outcomes = self._fetch_all(feeds, now)
        self._select_new(outcomes)
        try:
            self._publish(outcomes, now)
        except TransientError:
            for outcome in outcomes:
                if not outcome.new:
                    self._store(outcome, now)
            raise
        return PollReport(tuple(self._store(outcome, now) for outcome in outcomes))

    def _fetch_all(self, feeds: Sequence[FeedConfig], now: datetime) -> list[_Outcome]:
        by_host: dict[str, list[FeedConfig]] = defaultdict(list)
        for feed in feeds:
            by_host[feed.url.host or ""].append(feed)
        workers = min(self._workers, len(by_host))
        with ThreadPoolExecutor(workers, thread_name_prefix="ingest-fetch") as pool:
            batches = pool.map(lambda group: [self._poll_one(f, now) for f in group],
                               by_host.values())
            done = {o.url: o for batch in batches for o in batch}
        return [done[str(f.url)] for f in feeds]

    def _poll_one(self, feed: FeedConfig, now: datetime) -> _Outcome:
        """Fetch and parse one feed; any failure, even a bug, is confined to this feed."""
        outcome = _Outcome(feed)
        try:
            record = self._records[outcome.url]
            validators = Validators(record.etag, record.last_modified, record.body_hash)
            outcome.fetched = self._fetcher.fetch(outcome.url, validators, now)
            if not outcome.fetched.ok:
                outcome.error, outcome.detail = outcome.fetched.error, outcome.fetched.detail
            elif not outcome.fetched.not_modified:
                outcome.parsed = parse_feed(
                    outcome.fetched.body, outcome.fetched.headers, feed, now,
                    final_url=outcome.fetched.final_url,
                )
                outcome.error, outcome.detail = outcome.parsed.error, outcome.parsed.detail
        except Exception as exc:  # a bug must not stop the other feeds
            log.exception("feed poll crashed feed=%s", redact_url(outcome.url))
            outcome.error, outcome.detail = ErrorKind.INTERNAL, f"{type(exc).__name__}: {exc}"
        return outcome

    def _select_new(self, outcomes: list[_Outcome]) -> None:
        """Keep, per feed, the articles never seen before and not claimed by an earlier feed."""
        candidates = [a for o in outcomes if o.parsed for a in o.parsed.articles]
        unseen = self._state.unseen(a.article_id for a in candidates)
        for outcome in outcomes:
            if outcome.parsed is None or outcome.error is not None:
                continue
            for article in outcome.parsed.articles:
                if article.article_id in unseen:
                    unseen.discard(article.article_id)
                    outcome.new.append(article)

    def _publish(self, outcomes: list[_Outcome], now: datetime) -> None:
        new = [(o.url, a) for o in outcomes for a in o.new]
        if not new:
            return
        for _, article in new:
            self._bus.publish(RAW_TOPIC, article.article_id, encode(article))
        self._bus.flush()
        self._state.mark_seen(((a.article_id, url) for url, a in new), now)

    def _store(self, outcome: _Outcome, now: datetime) -> FeedReport:
        old = self._records[outcome.url]
        record = _next_record(old, outcome, now, self._interval(outcome.feed), self._jitter())
        self._state.save(record)
        self._records[outcome.url] = record
        report = _report(outcome, record)
        _log_report(report)
        return report

    def _interval(self, feed: FeedConfig) -> float:
        return feed.interval or self._settings.poll_interval

    def _jitter(self) -> float:
        return self._rng.uniform(-1.0, 1.0)


def _next_record(
    old: FeedRecord, outcome: _Outcome, now: datetime, interval: float, jitter: float
) -> FeedRecord:
    """The feed's stored state after this poll (pure)."""
    fetched = outcome.fetched
    status = str(fetched.status) if fetched and fetched.status is not None else None
    moved = fetched.moved_to if fetched and fetched.moved_to else old.moved_to
    polled = replace(old, last_polled=now, last_status=status, moved_to=moved)
    if outcome.error is not None:
        return _failed(polled, outcome, now, interval, jitter)
    return _succeeded(polled, outcome, now, interval, jitter)


def _failed(
    old: FeedRecord, outcome: _Outcome, now: datetime, interval: float, jitter: float
) -> FeedRecord:
    """Count the failure and back off; validators stay as they were, so the next poll
    fetches the document again instead of hearing "not modified"."""
    failures = old.consecutive_failures + 1
    retry = outcome.fetched.retry_after if outcome.fetched else None
    when = next_poll(
        now, interval, failures=failures, kind=outcome.error, retry_after=retry, jitter=jitter
    )
    return replace(
        old, last_error=outcome.detail or str(outcome.error), error_kind=str(outcome.error),
        consecutive_failures=failures, next_poll=when,
    )


def _succeeded(
    old: FeedRecord, outcome: _Outcome, now: datetime, interval: float, jitter: float
) -> FeedRecord:
    assert outcome.fetched is not None
    fresh = outcome.fetched.validators
    if outcome.fetched.not_modified:  # a 304 may omit validators: keep what we had
        fresh = Validators(
            fresh.etag or old.etag, fresh.last_modified or old.last_modified, old.body_hash
        )
    parsed = outcome.parsed
    warning = ("; ".join(parsed.warnings[:3])[:500] or None) if parsed else old.warning
    return replace(
        old, etag=fresh.etag, last_modified=fresh.last_modified, body_hash=fresh.body_hash,
        last_success=now, last_error=None, error_kind=None, consecutive_failures=0,
        items_seen=old.items_seen + len(outcome.new), warning=warning,
        next_poll=next_poll(now, interval, jitter=jitter),
    )


def _report(outcome: _Outcome, record: FeedRecord) -> FeedReport:
    fetched, parsed = outcome.fetched, outcome.parsed
    if outcome.error is not None:
        status = "error"
    elif fetched is not None and fetched.not_modified:
        status = "not_modified"
    else:
        status = "ok"
    return FeedReport(
        url=outcome.url,
        name=outcome.feed.display_name,
        status=status,
        new_items=len(outcome.new),
        entries=parsed.entries if parsed else 0,
        http_status=fetched.status if fetched else None,
        error=outcome.error,
        detail=outcome.detail,
        warnings=parsed.warnings if parsed else (),
        next_poll=record.next_poll,
    )


def _log_report(report: FeedReport) -> None:
    url = redact_url(report.url)
    if report.error is not None:
        log.warning(
            "feed poll failed feed=%s error=%s http_status=%s detail=%r next_poll=%s",
            url, report.error, report.http_status, report.detail, _iso(report.next_poll),
        )
    else:
        log.info(
            "feed polled feed=%s status=%s new=%d entries=%d warnings=%d next_poll=%s",
            url, report.status, report.new_items, report.entries, len(report.warnings),
            _iso(report.next_poll),
        )


def _iso(when: datetime | None) -> str:
    return when.isoformat(timespec="seconds") if when else "-"
