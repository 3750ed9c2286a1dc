"""``newsmon backfill FILE.jsonl``: load an archive of articles into the pipeline.

Each line is an article as ``newsmon tag`` reads it (``id``, ``title``, ``text``, ``url``,
``source``, ``published``; ``url`` or ``id`` required). Lines are published to the raw topic in
chunks; on the embedded default every chunk is tagged, stored and matched before the next one
(the same hand-off as ``newsmon run``). Bad lines are reported with their line number and
skipped; nothing else stops the load.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newsmon.bus import RAW_TOPIC, Bus
from newsmon.schema import RawArticle, article_id, encode

log = logging.getLogger(__name__)


def parse_line(line: str, now: datetime, source_name: str) -> RawArticle:
    """One JSON line → RawArticle; ValueError with the reason when it is not usable."""
    item = json.loads(line)
    if not isinstance(item, dict):
        raise ValueError(f"expected a JSON object, got {type(item).__name__}")
    url = item.get("url") or (f"urn:newsmon:{item['id']}" if item.get("id") else None)
    if not url:
        raise ValueError("an article needs a url or an id")
    return RawArticle(
        article_id=article_id(str(url)),
        url=str(url),
        title=str(item.get("title") or ""),
        text=str(item.get("text") or ""),
        source=str(item.get("source") or source_name),
        feed=f"backfill:{source_name}",
        lang=item.get("language") or item.get("lang"),
        published=_published(item.get("published")),
        fetched=now,
    )


def _published(value: Any) -> datetime | None:
    if not value:
        return None
    when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def read_articles(path: Path, now: datetime) -> Iterator[tuple[int, RawArticle | str]]:
    """(line number, article or error message) for every non-blank line."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                yield number, parse_line(line, now, path.stem)
            except (ValueError, KeyError, TypeError) as exc:
                yield number, f"{type(exc).__name__}: {exc}"


def backfill(path: Path, bus: Bus, *, chunk: int = 64, progress: bool = True) -> tuple[int, int]:
    """Publish every article of ``path``; returns (published, skipped)."""
    from rich.progress import Progress

    total = sum(1 for line in path.open(encoding="utf-8") if line.strip())
    published = skipped = pending = 0
    with Progress(disable=not progress, transient=False) as bar:
        task = bar.add_task(f"backfill {path.name}", total=total)
        for number, item in read_articles(path, datetime.now(UTC)):
            if isinstance(item, str):
                log.warning("backfill skipped line=%d error=%s", number, item)
                skipped += 1
            else:
                bus.publish(RAW_TOPIC, item.article_id, encode(item))
                pending += 1
            if pending >= chunk:
                bus.flush()
                published, pending = published + pending, 0
            bar.update(task, completed=published + pending + skipped)
        bus.flush()
        published += pending
        bar.update(task, completed=total)
    return published, skipped
