"""Does the store hold what the seen-state calls published?

The poller never publishes an article twice: once the bus acknowledged it, it is *seen*. That
is only right while the store downstream keeps what was published. Reset the services (a fresh
Elasticsearch) and start ingest with the old ``data_dir``, and every item would stay seen and
never reach the new store. So, at start, on taking feeds over and every
``ingest.store_check_every`` seconds, the poller asks the store for a sample of what it marked
seen (older than ``ingest.store_check_grace``, so not still on its way). A first look takes
one id per feed, a few dozen in all; only if one of them is missing does a second look take a
few ids of every feed. A feed none of whose sampled ids is in the store is *lost*: its
seen-state is forgotten and its items published again, and the log says so loudly. A feed
whose articles are partly there (a poison item, retention) is not lost.

The check waits while the pipeline is behind (records published before the grace and not yet
consumed by the stages that fill the store), since articles in flight are missing for a good
reason; a pipeline that keeps up never makes it wait.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from ingest.report import redact_url
from ingest.state import FeedState
from newsmon.errors import NewsmonError
from newsmon.store import ArticleStore

log = logging.getLogger(__name__)

PER_FEED = 2  # ids sampled per feed in the second look
FIRST_LOOK = 30  # ids (one per feed) in the first look


def first_look(sample: Mapping[str, Sequence[str]], limit: int = FIRST_LOOK) -> list[str]:
    """The newest sampled id of up to ``limit`` feeds (pure)."""
    return [ids[0] for ids in list(sample.values())[:limit] if ids]


def lost_feeds(sample: Mapping[str, Sequence[str]], present: Collection[str]) -> list[str]:
    """The feeds none of whose sampled ids the store has (pure)."""
    return [url for url, ids in sample.items() if ids and not any(i in present for i in ids)]


class StoreCheck:
    """Samples the seen-state against ``store``. ``behind(t)``, when given, counts the records
    published before ``t`` that the pipeline has not consumed yet; the check waits for them."""

    def __init__(
        self,
        store: ArticleStore,
        state: FeedState,
        grace: float,
        behind: Callable[[datetime], int] | None = None,
    ) -> None:
        self._store, self._state = store, state
        self._grace = timedelta(seconds=grace)
        self._behind = behind

    def lost(self, feed_urls: Iterable[str], now: datetime) -> list[str] | None:
        """The feeds to publish again; None when the check could not be made (store
        unreachable, pipeline behind): try again later."""
        try:
            before = now - self._grace
            lag = self._behind(before) if self._behind is not None else 0
            if lag > 0:
                log.info("store check waits: the pipeline has %d older records to consume", lag)
                return None
            sample = self._state.seen_sample(feed_urls, before, PER_FEED)
            return self._judge(sample)
        except NewsmonError as exc:
            log.warning("store check not made, retried later: %s", exc)
            return None

    def _judge(self, sample: Mapping[str, Sequence[str]]) -> list[str]:
        probe = first_look(sample)
        present = {i for i in probe if self._store.get(i) is not None}
        if len(present) == len(probe):
            log.info("store check ok: %d of %d sampled articles stored", len(present), len(probe))
            return []
        rest = [i for ids in sample.values() for i in ids if i not in probe]
        present |= {i for i in rest if self._store.get(i) is not None}
        lost = lost_feeds(sample, present)
        checked = len(probe) + len(rest)
        if lost:
            log.error(
                "the store lacks articles the ingest's seen-state calls published: "
                "%d of %d sampled missing; publishing the items of %d feeds again "
                "(a fresh or reset store with an old data_dir?) feeds=%s",
                checked - len(present),
                checked,
                len(lost),
                ",".join(redact_url(u) for u in lost[:10]) + (",..." if len(lost) > 10 else ""),
            )
        else:
            log.warning(
                "store check: %d of %d sampled articles missing, no feed lost all",
                checked - len(present),
                checked,
            )
        return lost
