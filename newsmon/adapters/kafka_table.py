"""The :class:`~newsmon.bus.Membership` port on Kafka: a compacted keyed topic shared by a
consumer group.

The group protocol gives each partition of the topic to exactly one live member; a key's
partition is the murmur2 hash (Kafka's own partitioner's) of its route — the key itself, or
what the caller places it by — and :meth:`KafkaMember.put` writes there explicitly, so a key's
values always land where its owner reads. Nothing is ever
committed: a member that gains a partition reads it from the start (compaction keeps the last
value per key) up to the end offset it saw on gaining it, and owns the partition's keys only
then, so the new owner of a key starts from the last value the previous owner flushed.

Rebalance callbacks run on the client's I/O thread while the caller is blocked in
:meth:`KafkaMember.sync` (kafka-python runs group joins only from ``poll``), so ownership never
changes under a caller that is between two syncs. The protocol is eager: on a rebalance every
member gives up every partition before any member is given one, and the group waits (up to
``max_poll_interval_ms``) for each live member to come back to :meth:`sync`.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from kafka import ConsumerRebalanceListener, KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.partitioner.default import murmur2

from newsmon.bus import TABLE_PARTITIONS, Handover
from newsmon.errors import TransientError

if TYPE_CHECKING:
    from newsmon.adapters.kafka_bus import KafkaBus

log = logging.getLogger(__name__)

#: Compaction keeps the last value per key; segments roll hourly so the log a new owner
#: replays stays near one value per key plus an hour of writes.
TABLE_CONFIG = {
    "cleanup.policy": "compact",
    "segment.ms": str(3600 * 1000),
    "min.cleanable.dirty.ratio": "0.1",
}
SESSION_TIMEOUT_MS = 10_000  # a kill -9ed member's partitions move after this
MAX_POLL_INTERVAL_MS = 300_000  # a member that does not sync for this long is dropped
REPLAY_RECORDS = 5000  # records read per sync


def ensure_table(common: dict[str, Any], topic: str, partitions: int = TABLE_PARTITIONS) -> None:
    """Create the compacted ``topic`` (already prefixed) unless it exists."""
    try:
        admin = KafkaAdminClient(**common)
    except KafkaError as exc:
        raise TransientError(f"kafka admin unavailable: {exc}") from exc
    try:
        if topic not in set(admin.list_topics()):
            admin.create_topics(
                [NewTopic(topic, partitions, replication_factor=1, topic_configs=TABLE_CONFIG)]
            )
    except TopicAlreadyExistsError:
        pass
    except KafkaError as exc:
        raise TransientError(f"creating topic {topic} failed: {exc}") from exc
    finally:
        admin.close()


def key_partition(key: str, partitions: int) -> int:
    """Kafka's default partitioner for a key (the Java client's murmur2)."""
    return int(murmur2(key.encode()) & 0x7FFFFFFF) % partitions


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Notes the group's decisions; :meth:`KafkaMember.sync` acts on them in the caller."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[bool, set[int]]] = []  # (gained?, partitions)

    def on_partitions_revoked(self, revoked: Any) -> None:
        with self.lock:
            self.events.append((False, {tp.partition for tp in revoked}))

    def on_partitions_lost(self, lost: Any) -> None:
        self.on_partitions_revoked(lost)

    def on_partitions_assigned(self, assigned: Any) -> None:
        with self.lock:
            self.events.append((True, {tp.partition for tp in assigned}))

    def take(self) -> list[tuple[bool, set[int]]]:
        with self.lock:
            events, self.events = self.events, []
        return events


class KafkaMember:
    def __init__(self, bus: KafkaBus, common: dict[str, Any], group: str, topic: str) -> None:
        self._bus, self._topic = bus, topic
        self._listener = _Listener()
        self._owned: set[int] = set()
        self._loading: dict[int, int | None] = {}  # partition -> end offset to reach
        self._replayed: dict[int, dict[str, bytes]] = {}
        self._unread: dict[str, bytes] = {}
        self._count = 0
        try:
            self._consumer = KafkaConsumer(
                **common,
                group_id=group,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                session_timeout_ms=SESSION_TIMEOUT_MS,
                heartbeat_interval_ms=3_000,
                max_poll_interval_ms=MAX_POLL_INTERVAL_MS,
            )
            self._consumer.subscribe([topic], listener=self._listener)
        except KafkaError as exc:
            raise TransientError(f"kafka consumer unavailable: {exc}") from exc

    def sync(self, timeout: float = 0.0) -> Handover:
        try:
            batches = self._consumer.poll(
                timeout_ms=int(timeout * 1000), max_records=REPLAY_RECORDS
            )
            lost = self._apply(self._listener.take())
            for records in batches.values():
                for record in records:
                    self._read(record.partition, record.key, record.value)
            gained = self._replay_done()
        except KafkaError as exc:
            raise TransientError(f"kafka group sync failed: {exc}") from exc
        values, self._unread = self._unread, {}
        for partition in gained:
            values.update(self._replayed.pop(partition, {}))
        return Handover(frozenset(gained), frozenset(lost - gained), values)

    def _apply(self, events: list[tuple[bool, set[int]]]) -> set[int]:
        lost: set[int] = set()
        for gained, partitions in events:
            if not gained:
                lost |= partitions & self._owned
                self._owned -= partitions
                for partition in partitions:
                    self._loading.pop(partition, None)
                    self._replayed.pop(partition, None)
                continue
            fresh = [p for p in partitions if p not in self._owned and p not in self._loading]
            for partition in fresh:
                self._loading[partition] = None
                self._replayed[partition] = {}
            if fresh:
                self._consumer.seek_to_beginning(*(self._tp(p) for p in fresh))
        return lost

    def _read(self, partition: int, key: bytes | None, value: bytes | None) -> None:
        if key is None or value is None:  # tombstones: the table never deletes a key
            return
        if partition in self._loading:
            self._replayed[partition][key.decode()] = value
        elif partition in self._owned:
            self._unread[key.decode()] = value

    def _replay_done(self) -> set[int]:
        """The loading partitions read up to the end they had when gained: owned now."""
        unknown = [self._tp(p) for p, end in self._loading.items() if end is None]
        if unknown:
            for tp, end in self._consumer.end_offsets(unknown).items():
                self._loading[tp.partition] = int(end)
        done = {
            p
            for p, end in self._loading.items()
            if end is not None and self._consumer.position(self._tp(p)) >= end
        }
        for partition in done:
            del self._loading[partition]
            self._owned.add(partition)
        if done:
            log.info("table partitions owned topic=%s partitions=%s", self._topic, sorted(done))
        return done

    def _tp(self, partition: int) -> TopicPartition:
        return TopicPartition(self._topic, partition)

    def _partitions(self) -> int:
        if not self._count:
            self._count = len(self._consumer.partitions_for_topic(self._topic) or ())
        return self._count

    def owns(self, route: str) -> bool:
        count = self._partitions()
        return bool(count) and key_partition(route, count) in self._owned

    def put(self, key: str, value: bytes, route: str | None = None) -> None:
        count = self._partitions()
        if not count:
            raise TransientError(f"no partitions known for {self._topic} yet")
        self._bus.send_to(self._topic, key_partition(route or key, count), key, value)

    def close(self) -> None:
        try:
            self._consumer.close(autocommit=False)
        except KafkaError as exc:
            log.warning("leaving the group failed (the session timeout hands over): %s", exc)
