"""A feed's stored record after one poll, and whether it is stale (pure: takes ``now``).

Decisions kept here, in one place:

- success: validators refreshed, failures reset, the adaptive interval updated from recent
  polls (the very first successful poll lists everything as new and is no signal, so it is
  not counted), next poll = interval or the feed's hint if longer (capped), with jitter;
- failure: counted, backed off by weight (:func:`ingest.schedule.backoff_seconds`);
  ``Retry-After`` honoured on 429 and 503 only, capped at a day; validators kept as they were
  so the next poll fetches the document again;
- 410 Gone: ``gone`` set and polling stops (``next_poll`` empty); ``feeds status`` shows it;
- 301/308 (every hop permanent): ``moved_to`` set; the poller fetches that URL from then on
  (Miniflux does the same), while articles keep naming the configured URL as their feed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from ingest.fetch import Validators
from ingest.kinds import ErrorKind
from ingest.schedule import (
    HISTORY,
    Bounds,
    Poll,
    adapt_interval,
    next_poll,
    success_delay,
)
from ingest.state import FeedRecord
from newsmon.feedstatus import stale

RETRY_AFTER_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class Polled:
    """What one poll of one feed found: the input of :func:`after_poll`."""

    error: ErrorKind | None = None
    detail: str = ""
    http_status: int | None = None
    moved_to: str | None = None
    retry_after: float | None = None
    not_modified: bool = False
    validators: Validators | None = None
    new_items: int = 0
    listed: int = 0
    hint_seconds: float | None = None
    warnings: tuple[str, ...] | None = None  # None: nothing parsed this time


@dataclass(frozen=True)
class Plan:
    """The schedule of one feed: its base interval, the adaptive bounds and this jitter."""

    base: float
    bounds: Bounds
    jitter: float = 0.0


def after_poll(old: FeedRecord, polled: Polled, now: datetime, plan: Plan) -> FeedRecord:
    status = str(polled.http_status) if polled.http_status is not None else None
    record = replace(
        old, last_polled=now, last_status=status, moved_to=polled.moved_to or old.moved_to
    )
    if polled.error is not None:
        return _failed(record, polled, now, plan)
    return _succeeded(record, polled, now, plan)


def _failed(old: FeedRecord, polled: Polled, now: datetime, plan: Plan) -> FeedRecord:
    failures = old.consecutive_failures + 1
    failed = replace(
        old,
        last_error=polled.detail or str(polled.error),
        error_kind=str(polled.error),
        consecutive_failures=failures,
    )
    if polled.error is ErrorKind.GONE:
        return replace(failed, gone=True, next_poll=None)
    honoured = polled.http_status in RETRY_AFTER_STATUSES
    when = next_poll(
        now,
        plan.base,
        failures=failures,
        kind=polled.error,
        retry_after=polled.retry_after if honoured else None,
        jitter=plan.jitter,
    )
    return replace(failed, next_poll=when)


def _succeeded(old: FeedRecord, polled: Polled, now: datetime, plan: Plan) -> FeedRecord:
    fresh = polled.validators or Validators()
    if polled.not_modified:  # a 304 may omit validators: keep what we had
        fresh = Validators(
            fresh.etag or old.etag, fresh.last_modified or old.last_modified, old.body_hash
        )
    lower, upper = plan.bounds.around(plan.base)
    history = decode_history(old.history)
    interval = old.interval or plan.base
    if old.last_success is not None:  # the first success lists everything as new: no signal
        history = [*history, (polled.new_items, polled.listed)][-HISTORY:]
        interval = adapt_interval(interval, history, lower, upper)
    delay = success_delay(interval, polled.hint_seconds, upper)
    warning = old.warning
    if polled.warnings is not None:
        warning = "; ".join(polled.warnings[:3])[:500] or None
    return replace(
        old,
        etag=fresh.etag,
        last_modified=fresh.last_modified,
        body_hash=fresh.body_hash,
        last_success=now,
        last_error=None,
        error_kind=None,
        consecutive_failures=0,
        items_seen=old.items_seen + polled.new_items,
        warning=warning,
        gone=False,
        interval=interval,
        history=encode_history(history),
        last_new=now if polled.new_items else old.last_new,
        next_poll=next_poll(now, delay, jitter=plan.jitter),
    )


def is_stale(record: FeedRecord, base: float, factor: float, now: datetime) -> bool:
    """No new item for ``factor`` times the feed's usual interval: decided in the core
    (:func:`newsmon.feedstatus.stale`), which ``feeds status`` and the analyst page use too."""
    return stale(record.last_new, record.gone, record.interval, base, factor, now)


def decode_history(text: str | None) -> list[Poll]:
    polls: list[Poll] = []
    for pair in (text or "").split():
        new, _, listed = pair.partition("/")
        if new.isdigit() and listed.isdigit():
            polls.append((int(new), int(listed)))
    return polls


def encode_history(polls: list[Poll]) -> str | None:
    return " ".join(f"{n}/{e}" for n, e in polls) or None
