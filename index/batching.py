"""Bulk batches by count, bytes and time, without breaking the commit contract.

:class:`BatchingConsumer` wraps any :class:`~newsmon.bus.Consumer`: one ``poll`` keeps polling
the inner consumer until the batch holds ``max_records`` records or ``max_bytes`` of payload, or
``linger`` seconds passed since the first record arrived (or a poll within it brought
nothing). The runtime hands that whole batch to
``IndexStage.handle`` (one bulk write) and commits only after it returned, so offsets are never
committed before Elasticsearch acknowledged every record of the batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from newsmon.bus import Consumer, Record
from newsmon.config import Settings


class BatchingConsumer:
    def __init__(
        self,
        inner: Consumer,
        *,
        max_records: int = 1000,
        max_bytes: int = 8 * 1024 * 1024,
        linger: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inner = inner
        self.max_records, self.max_bytes, self.linger = max_records, max_bytes, linger
        self._clock = clock

    @classmethod
    def from_settings(cls, inner: Consumer, settings: Settings) -> BatchingConsumer:
        return cls(
            inner,
            max_records=settings.index_batch_max_records,
            max_bytes=settings.index_batch_max_bytes,
            linger=settings.index_batch_linger,
        )

    def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[Record]:
        """``max_records`` of the caller is ignored: this consumer's own limits make batches."""
        batch = self._inner.poll(max_records=self.max_records, timeout=timeout)
        if not batch:
            return batch
        size = sum(len(r.value) for r in batch)
        deadline = self._clock() + self.linger
        while len(batch) < self.max_records and size < self.max_bytes:
            left = deadline - self._clock()
            if left <= 0:
                break
            more = self._inner.poll(max_records=self.max_records - len(batch), timeout=left)
            if not more:  # nothing arrived within the linger time
                break
            batch.extend(more)
            size += sum(len(r.value) for r in more)
        return batch

    def commit(self) -> None:
        self._inner.commit()

    def rewind(self) -> None:
        self._inner.rewind()

    def lag(self) -> int:
        return self._inner.lag()

    def close(self) -> None:
        self._inner.close()
