"""The message bus port and its in-memory twin.

A :class:`Bus` publishes keyed records to topics and hands out consumers that belong to a
consumer group. Delivery is at-least-once: a consumer's position only becomes durable on
:meth:`Consumer.commit`, and :meth:`Consumer.rewind` goes back to the last commit after a
transient failure, so the uncommitted records are delivered again.
"""

from __future__ import annotations

import threading
import zlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

RAW_TOPIC = "news.articles.raw.v1"
TAGGED_TOPIC = "news.articles.tagged.v1"
DEADLETTER_TOPIC = "news.deadletter.v1"
HEALTH_TOPIC = "news.health.v1"  # feed health changes: ingest -> alert (operator alerts)
ALL_TOPICS = (RAW_TOPIC, TAGGED_TOPIC, DEADLETTER_TOPIC, HEALTH_TOPIC)
#: Compacted, key = feed URL, value = the poller's record of that feed. Whoever owns a
#: partition in the ``newsmon-ingest`` group polls the feeds keyed there (:class:`Membership`).
FEEDS_TOPIC = "news.feeds.v1"
TABLE_PARTITIONS = 12  # of a shared table topic: the most members that can share its keys


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


@dataclass(frozen=True)
class Handover:
    """What one :meth:`Membership.sync` changed: partitions gained (their keys' last values
    read in full before they count as owned) and lost, and the last value of every key of an
    owned partition read since the previous sync (the replay of a gained partition, or a
    write by anyone to an owned one)."""

    gained: frozenset[int] = frozenset()
    lost: frozenset[int] = frozenset()
    values: Mapping[str, bytes] = field(default_factory=dict)

    @property
    def moved(self) -> bool:
        return bool(self.gained or self.lost)


class Membership(Protocol):
    """A member of a group that shares a compacted keyed table: every partition of the table
    (and so every key) belongs to exactly one live member at a time; a member that joins,
    leaves or dies has its partitions handed over, the new owner reading each key's last
    value before it owns the key. Ownership is only known, and only changes, inside
    :meth:`sync`; a member that stops calling it for long loses its partitions."""

    def sync(self, timeout: float = 0.0) -> Handover:
        """Take part in the group for up to ``timeout`` seconds (returns as soon as anything
        changed)."""

    def owns(self, route: str) -> bool:
        """Is the partition of ``route`` (a key, or what keys are placed by) ours, its last
        values read?"""

    def put(self, key: str, value: bytes, route: str | None = None) -> None:
        """Queue ``key``'s new value, in the partition of ``route`` (default: the key itself;
        keys placed by one route share one owner); durable once :meth:`Bus.flush` returned."""

    def close(self) -> None:
        """Leave the group (its partitions go to the others at once)."""


class Bus(Protocol):
    def publish(
        self, topic: str, key: str | None, value: bytes, headers: Mapping[str, bytes] | None = None
    ) -> None:
        """Queue a record; it is durable only once :meth:`flush` returned."""

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every queued record is acknowledged; TransientError if not."""

    def consumer(self, group: str, topics: Sequence[str]) -> Consumer: ...

    def ensure_topics(self, topics: Sequence[str] = ALL_TOPICS) -> None: ...

    def member(self, group: str, topic: str) -> Membership:
        """Join ``group`` as an owner of part of the compacted table ``topic`` (created if
        missing, :data:`TABLE_PARTITIONS` partitions)."""

    def check(self) -> None:
        """Raise TransientError unless the bus is reachable (health check)."""

    def close(self) -> None: ...


class MemoryBus:
    """In-process twin of the Kafka bus: one partition per topic, offsets per group."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._topics: dict[str, list[Record]] = defaultdict(list)
        self._committed: dict[tuple[str, str], int] = defaultdict(int)
        self._tables: dict[str, _MemoryTable] = {}

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

    def member(self, group: str, topic: str) -> MemoryMember:
        with self._lock:
            table = self._tables.setdefault(f"{group}\0{topic}", _MemoryTable())
        return MemoryMember(table)

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


def table_partition(key: str, partitions: int = TABLE_PARTITIONS) -> int:
    """The in-memory table's partition of ``key`` (Kafka's adapter uses Kafka's own hash)."""
    return zlib.crc32(key.encode()) % partitions


class _MemoryTable:
    """A compacted table (last value per key, per partition) and its group's live members."""

    def __init__(self, partitions: int = TABLE_PARTITIONS) -> None:
        self.partitions = partitions
        self.values: list[dict[str, bytes]] = [{} for _ in range(partitions)]
        self.members: list[MemoryMember] = []
        self.changed = threading.Condition()

    def owner_of(self, partition: int) -> MemoryMember | None:
        """Round-robin over the members in joining order (as Kafka's assignors, stable)."""
        return self.members[partition % len(self.members)] if self.members else None


class MemoryMember:
    """In-process twin of a Kafka group member: joins on creation, hands its partitions
    over on :meth:`close` (or when a test calls it to play a dead member)."""

    def __init__(self, table: _MemoryTable) -> None:
        self._table = table
        self._owned: frozenset[int] = frozenset()
        self._unread: dict[str, bytes] = {}
        with table.changed:
            table.members.append(self)
            table.changed.notify_all()

    def _assigned(self) -> frozenset[int]:
        return frozenset(
            p for p in range(self._table.partitions) if self._table.owner_of(p) is self
        )

    def sync(self, timeout: float = 0.0) -> Handover:
        table = self._table
        with table.changed:
            if self._assigned() == self._owned and not self._unread and timeout > 0:
                table.changed.wait(timeout)
            now = self._assigned()
            gained, lost = now - self._owned, self._owned - now
            values = dict(self._unread)
            for p in sorted(gained):
                values.update(table.values[p])
            self._owned, self._unread = now, {}
        return Handover(gained, lost, values)

    def owns(self, route: str) -> bool:
        return table_partition(route, self._table.partitions) in self._owned

    def put(self, key: str, value: bytes, route: str | None = None) -> None:
        table = self._table
        with table.changed:
            partition = table_partition(route or key, table.partitions)
            table.values[partition][key] = value
            owner = table.owner_of(partition)
            if owner is not None:  # as on Kafka, the owner reads every write, its own too
                owner._unread[key] = value
                table.changed.notify_all()

    def close(self) -> None:
        with self._table.changed:
            if self in self._table.members:
                self._table.members.remove(self)
            self._owned = frozenset()
            self._table.changed.notify_all()
