"""Parse a fetched feed, incrementally, in the fetching thread or in worker processes.

feedparser is pure-Python CPU work that holds the GIL: in the fetching threads it competes with
every other fetch of the round. With ``ingest.parse_processes`` > 0 the parse (block scan,
feedparser, article building) runs on a pool of worker processes instead, so a second core
does it while the threads keep fetching. The function is the same either way
(:func:`parse_changed`, pure); a pool that breaks (a worker killed) is replaced and the feed
parsed in the thread meanwhile, so a crash costs no feed.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime

from ingest.incremental import reduce, split
from ingest.parse import ParsedFeed, parse_feed
from newsmon.config import FeedConfig
from newsmon.schema import DEFAULT_TRACKING, Tracking

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Changed:
    """A parsed document: the articles of its unseen item blocks, how many items it lists,
    and the digests of its blocks (None when it could not be cut into blocks)."""

    parsed: ParsedFeed
    listed: int
    digests: frozenset[str] | None


def parse_changed(
    body: bytes,
    headers: Mapping[str, str],
    feed: FeedConfig,
    now: datetime,
    final_url: str | None,
    known: frozenset[str] | None,
    tracking: Tracking = DEFAULT_TRACKING,
) -> Changed:
    """Parse only the item blocks whose digest is not in ``known`` (pure)."""
    parts = split(body)
    if parts is not None and known:
        body, _ = reduce(parts, known)
    parsed = parse_feed(body, headers, feed, now, final_url=final_url, tracking=tracking)
    listed = len(parts.blocks) if parts is not None else parsed.entries
    return Changed(parsed, listed, parts.digests() if parts is not None else None)


class Parser:
    """:func:`parse_changed` in the calling thread (``processes`` = 0) or on a process pool
    (spawned on first use; ``spawn``, as forking a threaded process is unsafe)."""

    def __init__(self, processes: int = 0) -> None:
        self._processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def parse(
        self,
        body: bytes,
        headers: Mapping[str, str],
        feed: FeedConfig,
        now: datetime,
        final_url: str | None,
        known: frozenset[str] | None,
        tracking: Tracking = DEFAULT_TRACKING,
    ) -> Changed:
        args = (body, dict(headers), feed, now, final_url, known, tracking)
        pool = self._get_pool()
        if pool is None:
            return parse_changed(*args)
        try:
            return pool.submit(parse_changed, *args).result()
        except BrokenProcessPool:
            log.warning("parse worker died; pool replaced, feed parsed in thread feed=%s", feed.url)
            self._replace(pool)
            return parse_changed(*args)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _get_pool(self) -> ProcessPoolExecutor | None:
        if self._processes <= 0:
            return None
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(self._processes, mp_context=context)
            return self._pool

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken:
                self._pool = None
        broken.shutdown(wait=False, cancel_futures=True)
