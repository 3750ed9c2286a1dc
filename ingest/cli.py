"""``newsmon feeds ...``: manage the feeds file and look at the poller's state.

``import FILE.opml`` and ``add URL`` append to the feeds file (``--feeds`` / NEWSMON_FEEDS),
skipping URLs already there; ``export`` writes OPML to stdout; ``check URL`` fetches and parses
one feed and prints what would be published (no state, no bus); ``status`` shows each feed's
record (last success, last error, failures, items seen, next poll, stale, gone, moved,
resumed); ``resume URL`` polls a gone (410) or backed-off feed again.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newsmon.config import FeedConfig, Settings, load_feeds
from newsmon.errors import ConfigError

FEEDS_HELP = "YAML list of feeds (env NEWSMON_FEEDS)"


def register(sub: Any) -> None:
    feeds = sub.add_parser(
        "feeds", help="manage feeds: import/export OPML, add, check, status, resume"
    )
    actions = feeds.add_subparsers(dest="feeds_command", required=True)
    p = actions.add_parser("import", help="merge the feeds of an OPML file into the feeds file")
    p.add_argument("opml", type=Path, help="OPML file")
    _feeds_flag(p)
    p.set_defaults(handler=cmd_import)
    p = actions.add_parser("export", help="the feeds file as OPML on stdout")
    _feeds_flag(p)
    p.set_defaults(handler=cmd_export)
    p = actions.add_parser("add", help="append one feed to the feeds file")
    p.add_argument("url")
    p.add_argument("--name")
    p.add_argument("--tag", action="append", default=[], help="repeatable")
    p.add_argument("--language")
    p.add_argument("--country")
    p.add_argument("--interval", type=float, help="seconds between polls")
    p.add_argument(
        "--full-text",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="fetch article pages (default: only for summary items)",
    )
    _feeds_flag(p)
    p.set_defaults(handler=cmd_add)
    p = actions.add_parser("check", help="fetch + parse one feed, print what would be published")
    p.add_argument("url")
    p.add_argument("--json", action="store_true", help="one JSON article per line")
    p.set_defaults(handler=cmd_check)
    p = actions.add_parser(
        "resume", help="poll a gone (410) or backed-off feed again: clears gone and failures"
    )
    p.add_argument("url", help="the feed's URL as configured (or the URL it moved to)")
    p.set_defaults(handler=cmd_resume)
    p = actions.add_parser("status", help="per feed: last success/error, failures, next poll")
    p.add_argument("--json", action="store_true", help="a JSON list")
    _feeds_flag(p)
    p.set_defaults(handler=cmd_status)


def _feeds_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--feeds", default=None, help=FEEDS_HELP)


def _feeds_file(settings: Settings) -> Path:
    if settings.feeds is None:
        raise ConfigError("no feeds file: set NEWSMON_FEEDS or --feeds")
    return settings.feeds


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.feedsfile import merge_into, read_opml

    try:
        data = args.opml.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {args.opml}: {exc.strerror}") from exc
    found = read_opml(data)
    added, duplicates = merge_into(_feeds_file(settings), found)
    print(f"{len(added)} feeds added, {duplicates} already present ({_feeds_file(settings)})")
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.feedsfile import write_opml

    sys.stdout.write(write_opml(load_feeds(_feeds_file(settings))))
    return 0


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    from pydantic import ValidationError

    from ingest.feedsfile import merge_into

    entry = {
        "url": args.url,
        "name": args.name,
        "tags": tuple(args.tag),
        "language": args.language,
        "country": args.country,
        "interval": args.interval,
        "full_text": args.full_text,
    }
    try:
        feed = FeedConfig.model_validate({k: v for k, v in entry.items() if v not in (None, ())})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(f"{'.'.join(map(str, err['loc']))}: {err['msg']}") from exc
    added, _ = merge_into(_feeds_file(settings), [feed])
    print(f"{'added' if added else 'already present'}: {feed.url}")
    return 0


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.fetch import Fetcher, Validators
    from ingest.parse import parse_feed
    from newsmon.schema import encode

    now = datetime.now(UTC)
    feed = FeedConfig.model_validate({"url": args.url})
    fetcher = Fetcher(settings)
    try:
        fetched = fetcher.fetch(str(feed.url), Validators(), now)
    finally:
        fetcher.close()
    if not fetched.ok:
        print(f"fetch failed: {fetched.error}: {fetched.detail}", file=sys.stderr)
        return 1
    parsed = parse_feed(
        fetched.body,
        fetched.headers,
        feed,
        now,
        final_url=fetched.final_url,
        tracking=settings.ingest.tracking(),
    )
    for warning in parsed.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if parsed.error is not None:
        print(f"parse failed: {parsed.error}: {parsed.detail}", file=sys.stderr)
        return 1
    if args.json:
        for article in parsed.articles:
            print(encode(article).decode())
        return 0
    moved = f" (moved permanently to {fetched.moved_to})" if fetched.moved_to else ""
    print(
        f"{parsed.title or feed.url}: HTTP {fetched.status}{moved}, {parsed.version}, "
        f"{parsed.encoding}, {len(fetched.body)} bytes, {len(parsed.articles)} articles"
    )
    for a in parsed.articles:
        when = a.published.isoformat(timespec="minutes") if a.published else "no date"
        print(f"- {when}  {a.title}\n    {a.url}  id={a.article_id} text={len(a.text)} chars")
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    rows = status_rows(settings, datetime.now(UTC))
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    for row in rows:
        flags = [f for f in ("gone", "stale") if row[f]] + (["failing"] if row["failures"] else [])
        health = row.get("health") or {}
        flags += [s for s in health if s not in flags]
        print(f"{row['name']}  [{', '.join(flags) or 'ok'}]\n  {row['url']}")
        for signal, info in health.items():
            print(f"  health: {signal} since {info.get('since', '?')}: {info.get('detail', '')}")
        if row["moved_to"]:
            print(f"  moved to: {row['moved_to']}")
        print(
            f"  last success: {row['last_success'] or 'never'}   next poll: "
            f"{row['next_poll'] or ('never (gone)' if row['gone'] else 'now')}   "
            f"items seen: {row['items_seen']}   interval: {row['interval']:.0f}s"
        )
        if row["resumed"]:
            print(f"  resumed by operator: {row['resumed']}")
        if row["last_error"]:
            print(
                f"  last error: {row['error_kind']}: {row['last_error']} "
                f"({row['failures']} consecutive failures)"
            )
    return 0


def cmd_resume(args: argparse.Namespace, settings: Settings) -> int:
    """Clear ``gone`` and the failure back-off of one feed; a running poller picks it up on its
    next round (within a minute), a stopped one when it starts."""
    from ingest.state import STATE_FILE, FeedState

    path = settings.data_dir / STATE_FILE
    if not path.exists():
        raise ConfigError(f"no poller state in {settings.data_dir}: nothing to resume")
    state = FeedState(path)
    try:
        url = _stored_url(state, args.url)
        record = state.resume(url, datetime.now(UTC)) if url else None
    finally:
        state.close()
    if record is None:
        raise ConfigError(f"{args.url} was never polled (see: newsmon feeds status)")
    print(
        f"resumed {record.url}: due now, failures reset (last error kept: "
        f"{record.error_kind or 'none'})"
    )
    return 0


def _stored_url(state: Any, url: str) -> str | None:
    """The state's key for ``url``: itself, or the configured URL of a feed that moved there."""
    for record in state.records():
        if url in (record.url, record.moved_to):
            return str(record.url)
    return None


def status_rows(settings: Settings, now: datetime) -> list[dict[str, Any]]:
    """One dict per feed (configured feeds if a feeds file is set, else every stored one);
    the core reader, which the analyst page shows too."""
    from newsmon.feedstatus import status_rows as rows

    return rows(settings, now)
