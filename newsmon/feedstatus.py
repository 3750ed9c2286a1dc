"""Feed health as ``newsmon feeds status`` and the analyst page's feeds view show it.

The poller (the ``ingest`` stage) owns its state file, ``ingest.sqlite3`` in the data
directory (:mod:`ingest.state` writes it). Readers outside the stage read it here, opened
read-only, so the page and the command give the same rows and neither can change what the
poller decides. Staleness is decided once, here (:func:`stale`); the poller's metric uses it too.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from newsmon.config import FeedConfig, Settings, load_feeds
from newsmon.errors import TransientError

STATE_FILE = "ingest.sqlite3"
_TIMES = ("last_polled", "last_success", "next_poll", "last_new", "resumed")


def stale(
    last_new: datetime | None,
    gone: bool,
    interval: float | None,
    base: float,
    factor: float,
    now: datetime,
) -> bool:
    """No new item for ``factor`` times the feed's usual interval (the larger of its base and
    its adaptive interval). Unknown (False) until the feed has yielded an item; a feed that
    never did shows ``items_seen == 0`` and its errors instead. A gone feed is not stale."""
    if gone or last_new is None:
        return False
    usual = max(base, interval or base)
    return now - last_new > timedelta(seconds=factor * usual)


def read_records(path: Path) -> dict[str, dict[str, Any]]:
    """The stored feed rows by URL (times as aware datetimes); empty if there is no file.
    Raises TransientError when the file cannot be read (locked past the timeout, damaged)."""
    if not path.exists():
        return {}
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as exc:
        raise TransientError(f"cannot open the poller state {path}: {exc}") from exc
    try:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM feeds ORDER BY url").fetchall()
    except sqlite3.Error as exc:
        raise TransientError(f"cannot read the poller state {path}: {exc}") from exc
    finally:
        db.close()
    return {str(r["url"]): _record(dict(r)) for r in rows}


def _record(row: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for name in _TIMES:
        value = out.get(name)
        out[name] = datetime.fromisoformat(value).astimezone(UTC) if value else None
    out["gone"] = bool(out.get("gone"))
    out["consecutive_failures"] = int(out.get("consecutive_failures") or 0)
    out["items_seen"] = int(out.get("items_seen") or 0)
    return out


def status_rows(settings: Settings, now: datetime) -> list[dict[str, Any]]:
    """One dict per feed: the configured feeds if a feeds file is set, else every stored one."""
    stored = read_records(settings.data_dir / STATE_FILE)
    configured = load_feeds(settings.feeds) if settings.feeds else []
    feeds = configured or [FeedConfig.model_validate({"url": url}) for url in stored]
    return [_status(feed, stored.get(str(feed.url), {}), settings, now) for feed in feeds]


def _status(
    feed: FeedConfig, record: Mapping[str, Any], settings: Settings, now: datetime
) -> dict[str, Any]:
    base = feed.interval or settings.poll_interval
    return {
        "name": feed.display_name,
        "url": str(feed.url),
        "moved_to": record.get("moved_to"),
        "last_success": _iso(record.get("last_success")),
        "last_polled": _iso(record.get("last_polled")),
        "last_error": record.get("last_error"),
        "error_kind": record.get("error_kind"),
        "failures": record.get("consecutive_failures", 0),
        "items_seen": record.get("items_seen", 0),
        "next_poll": _iso(record.get("next_poll")),
        "interval": record.get("interval") or base,
        "last_new_item": _iso(record.get("last_new")),
        "gone": record.get("gone", False),
        "stale": stale(
            record.get("last_new"),
            record.get("gone", False),
            record.get("interval"),
            base,
            settings.ingest.stale_factor,
            now,
        ),
        "warning": record.get("warning"),
        "http_status": record.get("last_status"),
        "resumed": _iso(record.get("resumed")),
        "health": health_signals(record.get("health")),
    }


def health_signals(text: Any) -> dict[str, dict[str, str]]:
    """The feed's active health signals (name → since, detail), as the poller stored them
    (``ingest.health``); empty when healthy."""
    if not text:
        return {}
    try:
        found = json.loads(str(text))
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _iso(when: datetime | None) -> str | None:
    return when.isoformat(timespec="seconds") if when else None
