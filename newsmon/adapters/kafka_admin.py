"""Read-only Kafka figures for ``newsmon status``: consumer-group lag and topic sizes.

A consumer with the group's id reads the group's committed offsets without joining it (no
subscription), so asking never rebalances a running service.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from newsmon.adapters.kafka_bus import bootstrap_servers
from newsmon.errors import TransientError


def _consumer(
    url: str, group: str | None, options: Mapping[str, Any] | None = None
) -> KafkaConsumer:
    return KafkaConsumer(
        **dict(options or {}),
        bootstrap_servers=bootstrap_servers(url),
        group_id=group,
        enable_auto_commit=False,
        request_timeout_ms=10_000,
        bootstrap_timeout_ms=5_000,
        client_id="newsmon-status",
    )


def _partitions(consumer: KafkaConsumer, topics: Sequence[str]) -> list[TopicPartition]:
    return [
        TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())
    ]


def group_lags(
    url: str, groups: Mapping[str, Sequence[str]], prefix: str = "",
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``{group: {"lag": n, "committed": n, "end": n}}`` for unprefixed group → topics."""
    out: dict[str, Any] = {}
    try:
        for group, topics in groups.items():
            consumer = _consumer(url, prefix + group, options)
            try:
                parts = _partitions(consumer, [prefix + t for t in topics])
                ends = consumer.end_offsets(parts) if parts else {}
                committed = {tp: consumer.committed(tp) or 0 for tp in parts}
            finally:
                consumer.close(autocommit=False)
            out[group] = {
                "lag": sum(max(0, ends[tp] - committed[tp]) for tp in parts),
                "committed": sum(committed.values()),
                "end": sum(ends.values()),
            }
    except KafkaError as exc:
        raise TransientError(f"kafka lag query failed: {exc}") from exc
    return out


def topic_sizes(
    url: str, topics: Sequence[str], prefix: str = "", options: Mapping[str, Any] | None = None
) -> dict[str, int]:
    """Records currently held per (unprefixed) topic: end minus beginning offsets."""
    try:
        consumer = _consumer(url, None, options)
        try:
            sizes: dict[str, int] = {}
            for topic in topics:
                parts = _partitions(consumer, [prefix + topic])
                if not parts:
                    sizes[topic] = 0
                    continue
                ends, starts = consumer.end_offsets(parts), consumer.beginning_offsets(parts)
                sizes[topic] = sum(ends[tp] - starts[tp] for tp in parts)
            return sizes
        finally:
            consumer.close(autocommit=False)
    except KafkaError as exc:
        raise TransientError(f"kafka topic query failed: {exc}") from exc


def unconsumed_before(
    url: str,
    groups: Mapping[str, Sequence[str]],
    before: float,
    prefix: str = "",
    options: Mapping[str, Any] | None = None,
) -> int:
    """Records published before ``before`` (epoch seconds) that a group has not committed
    yet, over the (unprefixed) groups → topics: what is still on its way downstream. Later
    records do not count, so a busy pipeline that keeps up reads 0."""
    behind = 0
    try:
        for group, topics in groups.items():
            consumer = _consumer(url, prefix + group, options)
            try:
                parts = _partitions(consumer, [prefix + t for t in topics])
                if not parts:
                    continue
                ends, starts = consumer.end_offsets(parts), consumer.beginning_offsets(parts)
                found = consumer.offsets_for_times({tp: int(before * 1000) for tp in parts})
                for tp in parts:
                    hit = found.get(tp)
                    cut = hit.offset if hit is not None else ends[tp]  # first record at/after
                    done = max(consumer.committed(tp) or 0, starts[tp])  # retention dropped some
                    behind += max(0, cut - done)
            finally:
                consumer.close(autocommit=False)
    except KafkaError as exc:
        raise TransientError(f"kafka lag query failed: {exc}") from exc
    return behind
