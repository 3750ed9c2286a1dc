"""A feed's record as the ingest instances share it on ``news.feeds.v1`` (pure).

With several ``newsmon ingest`` instances each feed is polled by the one that owns its key
(:class:`newsmon.bus.Membership`). After every poll the owner writes the feed's record —
validators, schedule, failures, health and the ids of the feed's latest published items — to
the compacted topic, keyed by the feed's URL. An instance that takes a feed over reads that
record first, so it asks with the same validators, keeps the schedule and back-off, and knows
which of the feed's items were already published (it marks them seen). ``data_dir`` holds a
copy (the instance's cache); when both know a feed, the record of the later poll wins.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import fields, replace
from datetime import UTC, datetime
from typing import Any

from ingest.report import redact_url
from ingest.state import FeedRecord

log = logging.getLogger(__name__)

VERSION = 1
RECENT_MIN, RECENT_MAX = 20, 500  # ids kept per feed: twice what it lists, within these

_TIMES = frozenset({"last_polled", "last_success", "next_poll", "last_new", "resumed"})
_FIELDS = tuple(f.name for f in fields(FeedRecord))


def encode_record(record: FeedRecord) -> bytes:
    """The shared form: JSON, times as ISO 8601 UTC."""
    doc: dict[str, Any] = {"v": VERSION}
    for name in _FIELDS:
        value = getattr(record, name)
        if isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat()
        doc[name] = value
    return json.dumps(doc, separators=(",", ":")).encode()


def decode_record(url: str, value: bytes) -> FeedRecord | None:
    """The record written for ``url``, or None if it cannot be read (a newer version's
    unknown fields are ignored; a damaged value is logged and skipped: the feed is then
    polled from the local cache, at worst once more than needed)."""
    try:
        doc = json.loads(value)
        if not isinstance(doc, dict) or doc.get("url") != url:
            raise ValueError("not a feed record of this key")
        kept = {k: doc[k] for k in _FIELDS if k in doc and doc[k] is not None}
        for name in _TIMES & kept.keys():
            kept[name] = datetime.fromisoformat(str(kept[name])).astimezone(UTC)
        kept["gone"] = bool(kept.get("gone", False))
        return FeedRecord(**kept)
    except (ValueError, TypeError) as exc:
        log.warning("unreadable shared feed record skipped feed=%s error=%s", redact_url(url), exc)
        return None


def later(local: FeedRecord, shared: FeedRecord) -> FeedRecord:
    """The record to poll from: the one of the later poll (the shared one on a tie, since it
    is what the last owner flushed), with an operator's resume kept from either side."""
    mine = local.last_polled or datetime.min.replace(tzinfo=UTC)
    theirs = shared.last_polled or datetime.min.replace(tzinfo=UTC)
    chosen, other = (shared, local) if theirs >= mine else (local, shared)
    if other.resumed is not None and (chosen.resumed is None or other.resumed > chosen.resumed):
        chosen = replace(
            chosen, gone=False, consecutive_failures=0, next_poll=None, resumed=other.resumed
        )
    return chosen


def recent_ids(record: FeedRecord) -> list[str]:
    return (record.recent or "").split()


def with_recent(record: FeedRecord, newest_first: Iterable[str], listed: int = 0) -> FeedRecord:
    """``record`` whose recent ids start with ``newest_first`` (deduplicated), keeping twice
    the ``listed`` items of the feed's document (within bounds): a new owner then knows every
    item the feed still lists, and the record stays small (~35 bytes an id)."""
    cap = min(RECENT_MAX, max(RECENT_MIN, 2 * listed))
    ids = list(dict.fromkeys([*newest_first, *recent_ids(record)]))[:cap]
    return replace(record, recent=" ".join(ids) or None)
