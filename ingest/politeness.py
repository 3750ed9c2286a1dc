"""Politeness: at most N requests in flight per host, and a minimum gap between their starts.

One :class:`HostGate` is shared by every fetch of the poller (feeds and article pages), so
twenty feeds and their full-text pages on one news site never hit it harder than configured.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from urllib.parse import urlsplit


class _Host:
    def __init__(self, concurrency: int) -> None:
        self.slots = threading.BoundedSemaphore(concurrency)
        self.lock = threading.Lock()
        self.next_start = 0.0


class HostGate:
    """Per-host concurrency limit and spacing (monotonic clock; ``sleep`` injectable)."""

    def __init__(
        self,
        concurrency: int,
        spacing: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._concurrency, self._spacing = max(1, concurrency), max(0.0, spacing)
        self._clock, self._sleep = clock, sleep
        self._hosts: dict[str, _Host] = {}
        self._lock = threading.Lock()

    @contextmanager
    def slot(self, url: str) -> Iterator[None]:
        """Hold one of the host's slots for the ``with`` block, starting no sooner than
        ``spacing`` seconds after the previous request to that host started."""
        host = self._host(host_key(url))
        with host.slots:
            with host.lock:
                wait = host.next_start - self._clock()
                if wait > 0:
                    self._sleep(wait)
                host.next_start = self._clock() + self._spacing
            yield

    def _host(self, key: str) -> _Host:
        with self._lock:
            if key not in self._hosts:
                self._hosts[key] = _Host(self._concurrency)
            return self._hosts[key]


@lru_cache(maxsize=8192)
def host_key(url: str) -> str:
    """The politeness key of a URL: its host name, lower case (ports ignored)."""
    return (urlsplit(url).hostname or "").lower()
