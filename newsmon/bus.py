"""The message bus port and its in-memory twin.

A :class:`Bus` publishes keyed records to topics and hands out consumers that belong to a
consumer group. Delivery is at-least-once: a consumer's position only becomes durable on
:meth:`Consumer.commit`, and :meth:`Consumer.rewind` goes back to the last commit after a
transient failure, so the uncommitted records are delivered again.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

RAW_TOPIC = "news.articles.raw.v1"
TAGGED_TOPIC = "news.articles.tagged.v1"
DEADLETTER_TOPIC = "news.deadletter.v1"
HEALTH_TOPIC = "news.health.v1"  # feed health changes: ingest -> alert (operator alerts)
ALL_TOPICS = (RAW_TOPIC, TAGGED_TOPIC, DEADLETTER_TOPIC, HEALTH_TOPIC)


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes
    headers: Mapping[str, bytes] = field(default_factory=dict)


class Consumer(Protocol):
    def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[Record]:
        """Up to ``max_records`` records after the current position; may return none."""

    def commit(self) -> None:
        """Make the position after every record returned so far durable for the group."""

    def rewind(self) -> None:
        """Go back to the last committed position (after a transient failure)."""

    def lag(self) -> int:
        """Records published but not yet committed by this consumer's group."""

    def close(self) -> None: ...


class Bus(Protocol):
    def publish(
        self, topic: str, key: str | None, value: bytes, headers: Mapping[str, bytes] | None = None
    ) -> None:
        """Queue a record; it is durable only once :meth:`flush` returned."""

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every queued record is acknowledged; TransientError if not."""

    def consumer(self, group: str, topics: Sequence[str]) -> Consumer: ...

    def ensure_topics(self, topics: Sequence[str] = ALL_TOPICS) -> None: ...

    def check(self) -> None:
        """Raise TransientError unless the bus is reachable (health check)."""

    def close(self) -> None: ...


class MemoryBus:
    """In-process twin of the Kafka bus: one partition per topic, offsets per group."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._topics: dict[str, list[Record]] = defaultdict(list)
        self._committed: dict[tuple[str, str], int] = defaultdict(int)

    def publish(
        self, topic: str, key: str | None, value: bytes, headers: Mapping[str, bytes] | None = None
    ) -> None:
        with self._lock:
            log = self._topics[topic]
            log.append(Record(topic, 0, len(log), key, value, dict(headers or {})))

    def flush(self, timeout: float = 30.0) -> None:
        return None

    def consumer(self, group: str, topics: Sequence[str]) -> MemoryConsumer:
        return MemoryConsumer(self, group, tuple(topics))

    def ensure_topics(self, topics: Sequence[str] = ALL_TOPICS) -> None:
        with self._lock:
            for topic in topics:
                self._topics.setdefault(topic, [])

    def check(self) -> None:
        return None

    def close(self) -> None:
        return None

    def records(self, topic: str) -> list[Record]:
        """Every record ever published to ``topic`` (for tests and the embedded runner)."""
        with self._lock:
            return list(self._topics[topic])


class MemoryConsumer:
    def __init__(self, bus: MemoryBus, group: str, topics: tuple[str, ...]) -> None:
        self._bus, self._group, self._topics = bus, group, topics
        self._position = {t: bus._committed[(group, t)] for t in topics}

    def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[Record]:
        out: list[Record] = []
        with self._bus._lock:
            for topic in self._topics:
                log = self._bus._topics[topic]
                start = self._position[topic]
                batch = log[start : start + max_records - len(out)]
                self._position[topic] = start + len(batch)
                out.extend(batch)
        return out

    def commit(self) -> None:
        with self._bus._lock:
            for topic, position in self._position.items():
                self._bus._committed[(self._group, topic)] = position

    def rewind(self) -> None:
        with self._bus._lock:
            for topic in self._topics:
                self._position[topic] = self._bus._committed[(self._group, topic)]

    def lag(self) -> int:
        with self._bus._lock:
            return sum(
                len(self._bus._topics[t]) - self._bus._committed[(self._group, t)]
                for t in self._topics
            )

    def close(self) -> None:
        return None
