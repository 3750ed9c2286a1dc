"""Kafka adapter of the :class:`~newsmon.bus.Bus` port (kafka-python 3.x).

Producer: ``acks=all``, idempotent, delivery checked on :meth:`KafkaBus.flush`. Consumers: no
auto-commit; the runtime commits after the handler succeeded. Vendor errors become
:class:`TransientError` here so stage code never sees ``kafka``.

A producer that failed to deliver is thrown away and the next publish builds a new one. Its
records were not acknowledged, so the caller publishes them again (ingest leaves them unseen, a
stage does not commit); a record the old producer did deliver is a duplicate the idempotent
writes downstream absorb. kafka-python 3.0.12 needs this: an idempotent producer whose batch
expires after it was sent (a broker stopped or frozen with requests in flight) resets its
producer id but never asks for a new one, and sends nothing again (``tests/integration/
test_outages.py::test_a_producer_whose_batches_expired_in_flight_is_replaced``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaConfigurationError, KafkaError, TopicAlreadyExistsError

from newsmon.adapters.kafka_auth import verify_credentials
from newsmon.bus import ALL_TOPICS, Record
from newsmon.errors import ConfigError, TransientError
from newsmon.security import KafkaSecurity

if TYPE_CHECKING:
    from newsmon.adapters.kafka_table import KafkaMember

log = logging.getLogger(__name__)


def bootstrap_servers(url: str) -> list[str]:
    """``kafka://h1:9092,h2:9092`` → ``["h1:9092", "h2:9092"]``."""
    if not url.startswith("kafka://"):
        raise ConfigError(f"not a kafka:// URL: {url!r}")
    hosts = [h.strip() for h in url.removeprefix("kafka://").rstrip("/").split(",") if h.strip()]
    if not hosts:
        raise ConfigError(f"no broker in {url!r}")
    return hosts


class KafkaBus:
    def __init__(
        self,
        url: str,
        *,
        partitions: int = 3,
        prefix: str = "",
        client_id: str = "newsmon",
        security: KafkaSecurity | None = None,
        request_timeout_ms: int = 20_000,
        delivery_timeout_ms: int = 60_000,
    ) -> None:
        self._servers = bootstrap_servers(url)
        self._request_timeout_ms = request_timeout_ms
        self._delivery_timeout_ms = delivery_timeout_ms
        self._security = security or KafkaSecurity()
        self._verified = False
        self._prefix = prefix
        self._partitions = partitions
        self._client_id = client_id
        self._producer: KafkaProducer | None = None
        self._pending: list[Any] = []

    def _common(self) -> dict[str, Any]:
        """Options of every client: first use checks the credentials once (kafka-python itself
        would retry a rejected SASL login until its bootstrap timeout), raising ConfigError."""
        if not self._verified and self._security.sasl:
            verify_credentials(self._servers, self._security)
        self._verified = True
        return {
            "bootstrap_servers": self._servers,
            "client_id": self._client_id,
            **self._security.client_options(),
        }

    def _get_producer(self) -> KafkaProducer:
        if self._producer is None:
            try:
                self._producer = KafkaProducer(
                    **self._common(),
                    acks="all",
                    enable_idempotence=True,
                    linger_ms=5,
                    # whole stage batches per request: 16 KiB (the default) holds 2-3 articles;
                    # 256 KiB cut broker CPU per record ~3x in bench/run's producer check
                    batch_size=256 * 1024,
                    compression_type="gzip",  # article JSON shrinks ~3x; client CPU unchanged
                    max_block_ms=10_000,
                    request_timeout_ms=self._request_timeout_ms,
                    delivery_timeout_ms=self._delivery_timeout_ms,
                )
            except KafkaConfigurationError as exc:
                raise ConfigError(f"kafka producer settings: {exc}") from exc
            except KafkaError as exc:
                raise TransientError(f"kafka producer unavailable: {exc}") from exc
        return self._producer

    def publish(
        self, topic: str, key: str | None, value: bytes, headers: Mapping[str, bytes] | None = None
    ) -> None:
        try:
            future = self._get_producer().send(
                self._prefix + topic,
                value=value,
                key=key.encode() if key is not None else None,
                headers=list((headers or {}).items()),
            )
        except KafkaError as exc:
            self._discard_producer()
            raise TransientError(f"kafka publish to {topic} failed: {exc}") from exc
        self._pending.append(future)

    def send_to(self, topic: str, partition: int, key: str, value: bytes) -> None:
        """Queue a record for one partition of ``topic`` (already prefixed): a shared table
        writes each key where its owner reads it. Durable once :meth:`flush` returned."""
        try:
            future = self._get_producer().send(
                topic, value=value, key=key.encode(), partition=partition
            )
        except KafkaError as exc:
            self._discard_producer()
            raise TransientError(f"kafka publish to {topic} failed: {exc}") from exc
        self._pending.append(future)

    def flush(self, timeout: float = 30.0) -> None:
        if self._producer is None:
            return
        pending, self._pending = self._pending, []
        try:
            self._producer.flush(timeout=timeout)
            for future in pending:
                future.get(timeout=timeout)
        except KafkaError as exc:
            self._discard_producer()
            raise TransientError(
                f"kafka did not acknowledge {len(pending)} records: {exc}"
            ) from exc

    def _discard_producer(self) -> None:
        """Drop the producer after a failed delivery; the next publish builds a new one."""
        producer, self._producer, self._pending = self._producer, None, []
        if producer is not None:
            log.warning("kafka producer failed to deliver: replacing it")
            _close_producer(producer, timeout=0)

    def consumer(self, group: str, topics: Sequence[str]) -> KafkaBusConsumer:
        return KafkaBusConsumer(
            self._common(), self._prefix + group, [self._prefix + t for t in topics], self._prefix
        )

    def member(self, group: str, topic: str) -> KafkaMember:
        """Join ``group`` as an owner of part of the compacted table ``topic``."""
        from newsmon.adapters.kafka_table import KafkaMember, ensure_table

        ensure_table(self._common(), self._prefix + topic)
        return KafkaMember(self, self._common(), self._prefix + group, self._prefix + topic)

    def ensure_topics(self, topics: Sequence[str] = ALL_TOPICS) -> None:
        try:
            admin = KafkaAdminClient(**self._common())
        except KafkaError as exc:
            raise TransientError(f"kafka admin unavailable: {exc}") from exc
        try:
            existing = set(admin.list_topics())
            new = [
                NewTopic(self._prefix + t, num_partitions=self._partitions, replication_factor=1)
                for t in topics
                if self._prefix + t not in existing
            ]
            if new:
                admin.create_topics(new)
        except TopicAlreadyExistsError:
            pass
        except KafkaError as exc:
            raise TransientError(f"creating topics failed: {exc}") from exc
        finally:
            admin.close()

    def check(self) -> None:
        try:
            admin = KafkaAdminClient(**self._common(), request_timeout_ms=5000)
            admin.list_topics()
            admin.close()
        except KafkaError as exc:
            raise TransientError(f"kafka unreachable: {exc}") from exc

    def close(self) -> None:
        """Deliver what is pending (10 s at most), then stop the producer. Never raises:
        records not delivered by then were not acknowledged, and their caller has not marked
        them done."""
        producer, self._producer, self._pending = self._producer, None, []
        if producer is not None:
            _close_producer(producer, timeout=10)


def _close_producer(producer: KafkaProducer, timeout: float) -> None:
    """``KafkaProducer.close`` with a bound that holds: kafka-python's close raises when its
    flush times out, before it stops the I/O thread, which then runs on. Here the thread is
    force-closed (its undelivered batches fail) and the producer closed for good."""
    try:
        producer.close(timeout=timeout)
        return
    except KafkaError as exc:
        log.warning("kafka producer closed with records not delivered: %s", exc)
    sender = getattr(producer, "_sender", None)  # no public way to stop it after a failed flush
    if sender is not None:
        sender.force_close()
        sender.join(5)
    try:
        producer.close(timeout=0)  # nothing left in flight: completes
    except KafkaError as exc:
        log.warning("kafka producer did not close: %s", exc)


class KafkaBusConsumer:
    def __init__(
        self, common: dict[str, Any], group: str, topics: Sequence[str], prefix: str = ""
    ) -> None:
        self._prefix = prefix
        self._topics = list(topics)
        try:
            self._consumer = KafkaConsumer(
                *topics,
                **common,
                group_id=group,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_interval_ms=600_000,
                session_timeout_ms=10_000,  # a kill -9ed member leaves the group in 10 s
                heartbeat_interval_ms=3_000,
            )
        except KafkaError as exc:
            raise TransientError(f"kafka consumer unavailable: {exc}") from exc

    def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[Record]:
        try:
            batches = self._consumer.poll(timeout_ms=int(timeout * 1000), max_records=max_records)
        except KafkaError as exc:
            raise TransientError(f"kafka poll failed: {exc}") from exc
        return [
            Record(
                topic=r.topic.removeprefix(self._prefix),
                partition=r.partition,
                offset=r.offset,
                key=r.key.decode() if r.key is not None else None,
                value=r.value,
                headers=dict(r.headers or []),
            )
            for records in batches.values()
            for r in records
        ]

    def commit(self) -> None:
        try:
            self._consumer.commit()
        except KafkaError as exc:
            raise TransientError(f"kafka commit failed: {exc}") from exc

    def rewind(self) -> None:
        try:
            for tp in self._consumer.assignment():
                committed = self._consumer.committed(tp)
                if committed is None:
                    self._consumer.seek_to_beginning(tp)
                else:
                    self._consumer.seek(tp, committed)
        except KafkaError as exc:
            raise TransientError(f"kafka rewind failed: {exc}") from exc

    def lag(self) -> int:
        """Records not yet committed by the group, over every partition of the topics."""
        try:
            parts = [
                TopicPartition(topic, p)
                for topic in self._topics
                for p in (self._consumer.partitions_for_topic(topic) or ())
            ]
            if not parts:
                return 0
            ends = self._consumer.end_offsets(parts)
            return sum(ends[tp] - (self._consumer.committed(tp) or 0) for tp in parts)
        except KafkaError as exc:
            raise TransientError(f"kafka lag query failed: {exc}") from exc

    def close(self) -> None:
        self._consumer.close(autocommit=False)
