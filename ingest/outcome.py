"""One feed's poll before anything is published or stored, and the pure helpers the poller
builds from it: lanes per host, batches of finished feeds, the record's input, the health
observation and the feed's report."""

from __future__ import annotations

import queue
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ingest.fetch import FetchResult
from ingest.health import Change, Observation, Sniff
from ingest.kinds import ErrorKind
from ingest.parse import ParsedFeed
from ingest.politeness import host_key
from ingest.records import Polled
from ingest.report import FeedReport
from ingest.schedule import http_hint_seconds
from ingest.state import FeedRecord
from newsmon.config import FeedConfig
from newsmon.schema import RawArticle

BATCH_LINGER = 0.05  # seconds to gather finished feeds into one publish/flush/transaction


@dataclass
class Outcome:
    """Fetch + parse of one feed, before anything is published or stored."""

    feed: FeedConfig
    fetched: FetchResult | None = None
    parsed: ParsedFeed | None = None
    error: ErrorKind | None = None
    detail: str = ""
    listed: int = 0
    digests: frozenset[str] | None = None
    fresh: list[RawArticle] = field(default_factory=list)  # unseen when the lane looked
    new: list[RawArticle] = field(default_factory=list)  # published by this round
    sniffed: Sniff | None = None  # an anti-bot page or a web page instead of the feed
    changes: list[Change] = field(default_factory=list)  # health signals begun or ended

    @property
    def url(self) -> str:
        return str(self.feed.url)


def host_lanes(
    feeds: Sequence[FeedConfig], per_host: int, records: dict[str, FeedRecord]
) -> list[list[FeedConfig]]:
    """Feeds grouped by the host they will be fetched from, in at most ``per_host`` lanes."""
    by_host: dict[str, list[FeedConfig]] = defaultdict(list)
    for feed in feeds:
        by_host[host_key(records[str(feed.url)].moved_to or str(feed.url))].append(feed)
    lanes: list[list[FeedConfig]] = []
    for group in by_host.values():
        count = min(per_host, len(group))
        lanes.extend(group[i::count] for i in range(count))
    return lanes


def drain(done: queue.Queue[Outcome], limit: int, linger: float = BATCH_LINGER) -> list[Outcome]:
    """One outcome (waiting for it), plus those arriving within ``linger`` seconds: one
    publish + flush + state transaction per batch instead of per feed."""
    batch = [done.get()]
    until = time.monotonic() + linger
    while len(batch) < limit:
        left = until - time.monotonic()
        try:
            batch.append(done.get(timeout=left) if left > 0 else done.get_nowait())
        except queue.Empty:
            break
    return batch


def polled(outcome: Outcome, now: datetime) -> Polled:
    fetched, parsed = outcome.fetched, outcome.parsed
    headers = fetched.headers if fetched else {}
    hints: Iterable[float | None] = (
        parsed.hint_seconds if parsed else None,
        http_hint_seconds(headers, now) if fetched and fetched.ok else None,
    )
    return Polled(
        error=outcome.error,
        detail=outcome.detail,
        http_status=fetched.status if fetched else None,
        moved_to=fetched.moved_to if fetched else None,
        retry_after=fetched.retry_after if fetched else None,
        not_modified=bool(fetched and fetched.not_modified),
        validators=fetched.validators if fetched and fetched.ok else None,
        new_items=len(outcome.new),
        listed=outcome.listed,
        hint_seconds=max((h for h in hints if h is not None), default=None),
        warnings=parsed.warnings if parsed else None,
    )


def observed(outcome: Outcome) -> Observation:
    fetched, parsed = outcome.fetched, outcome.parsed
    good = parsed is not None and parsed.error is None
    return Observation(
        http_status=fetched.status if fetched else None,
        ok=outcome.error is None,
        sniffed=outcome.sniffed,
        linked=parsed.linked if good and parsed else 0,
        links=len(parsed.articles) if good and parsed else 0,
    )


def report_of(outcome: Outcome, record: FeedRecord) -> FeedReport:
    fetched = outcome.fetched
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
        entries=outcome.listed,
        http_status=fetched.status if fetched else None,
        error=outcome.error,
        detail=outcome.detail,
        warnings=outcome.parsed.warnings if outcome.parsed else (),
        next_poll=record.next_poll,
        moved_to=record.moved_to,
        gone=record.gone,
    )
