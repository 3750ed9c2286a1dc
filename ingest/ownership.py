"""Which of the configured feeds this ingest instance polls, in step with the group.

Every ``newsmon ingest`` is a member of the group ``newsmon-ingest`` over the compacted topic
``news.feeds.v1`` (:class:`newsmon.bus.Membership`), keyed by feed URL and placed by the feed's
host: a feed belongs to whoever owns its host's partition, so with K instances each feed is
polled by exactly one of them, and when one joins, leaves or dies (after the group's session
timeout) its feeds move. Placing by host keeps every feed of a host with one instance, whose
:class:`~ingest.politeness.HostGate` then spaces all requests to that host as with one
instance (placed by URL, K instances would each ask a host at the polite rate). Taking a feed
over starts from the record its last owner shared (:mod:`ingest.shared`): the same validators,
schedule, back-off and health, and the ids of its published items marked seen. Ownership
changes only inside :meth:`FeedOwnership.sync`, which the service calls between rounds, never
during one. Alone (and on the embedded ``memory://`` bus) the instance owns every feed:
nothing changes.

Every instance must be given the same feeds file: a feed only one of them knows is polled only
if that one owns its partition.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from ingest.politeness import host_key
from ingest.poller import FeedPoller
from ingest.shared import decode_record, later, recent_ids
from newsmon.bus import Membership
from newsmon.config import FeedConfig

log = logging.getLogger(__name__)

GROUP = "newsmon-ingest"


class FeedOwnership:
    def __init__(self, poller: FeedPoller, member: Membership, feeds: Sequence[FeedConfig]):
        self._poller, self._member = poller, member
        self._urls = [str(f.url) for f in feeds]
        self._owned: set[str] = set()
        poller.own(())
        poller.share_through(member)

    @property
    def owned(self) -> set[str]:
        return set(self._owned)

    def sync(self, timeout: float, now: datetime) -> list[str]:
        """Take part in the group for up to ``timeout`` s; the feeds gained (taken over)."""
        handover = self._member.sync(timeout)
        if not handover.moved:  # values of feeds we own are our own records coming back
            return []
        owned = {u for u in self._urls if self._member.owns(host_key(u))}
        gained = sorted(owned - self._owned)
        for url in gained:
            value = handover.values.get(url)
            shared = decode_record(url, value) if value is not None else None
            if shared is not None:
                self._poller.adopt(later(self._poller.record(url), shared), recent_ids(shared), now)
        lost = self._owned - owned
        self._owned = owned
        self._poller.own(owned)
        log.info(
            "feeds owned=%d of %d gained=%d lost=%d",
            len(owned),
            len(self._urls),
            len(gained),
            len(lost),
        )
        return gained

    def close(self) -> None:
        self._member.close()
