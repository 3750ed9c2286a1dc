"""One contract for every Bus implementation: the in-memory twin and real Kafka."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from newsmon.bus import Bus, Membership, MemoryBus


@pytest.fixture(params=["memory", pytest.param("kafka", marks=pytest.mark.integration)])
def bus(request: pytest.FixtureRequest, unique: str) -> Iterator[Bus]:
    if request.param == "memory":
        yield MemoryBus()
        return
    from newsmon.adapters.kafka_bus import KafkaBus

    services = request.getfixturevalue("services")
    kafka = KafkaBus(services.bus, partitions=1, prefix=f"t{unique}.")
    kafka.ensure_topics(["in", "out"])
    yield kafka
    kafka.close()


def _poll_all(consumer, expected: int, rounds: int = 40) -> list:  # type: ignore[no-untyped-def]
    got: list = []
    for _ in range(rounds):
        got.extend(consumer.poll(max_records=100, timeout=0.5))
        if len(got) >= expected:
            break
    return got


def test_published_records_arrive_in_order_with_key_and_headers(bus: Bus) -> None:
    for i in range(5):
        bus.publish("in", f"k{i}", f"v{i}".encode(), {"h": b"x"})
    bus.flush()
    consumer = bus.consumer("g1", ["in"])
    got = _poll_all(consumer, 5)
    assert [r.value for r in got] == [f"v{i}".encode() for i in range(5)]
    assert [r.key for r in got] == [f"k{i}" for i in range(5)]
    assert all(r.topic == "in" and r.headers.get("h") == b"x" for r in got)
    consumer.close()


def test_uncommitted_records_are_redelivered_after_rewind(bus: Bus) -> None:
    for i in range(3):
        bus.publish("in", None, str(i).encode())
    bus.flush()
    consumer = bus.consumer("g2", ["in"])
    first = _poll_all(consumer, 3)
    assert len(first) == 3
    consumer.rewind()
    again = _poll_all(consumer, 3)
    assert [r.value for r in again] == [r.value for r in first]
    consumer.close()


def test_commit_is_durable_for_the_group_and_other_groups_are_independent(bus: Bus) -> None:
    for i in range(4):
        bus.publish("in", None, str(i).encode())
    bus.flush()
    c1 = bus.consumer("g3", ["in"])
    assert len(_poll_all(c1, 4)) == 4
    c1.commit()
    c1.close()
    bus.publish("in", None, b"4")
    bus.flush()
    c2 = bus.consumer("g3", ["in"])
    rest = _poll_all(c2, 1)
    assert [r.value for r in rest] == [b"4"]
    c2.close()
    other = bus.consumer("g4", ["in"])
    assert len(_poll_all(other, 5)) == 5
    other.close()


def test_lag_counts_uncommitted_records(bus: Bus) -> None:
    for i in range(3):
        bus.publish("out", None, str(i).encode())
    bus.flush()
    consumer = bus.consumer("g5", ["out"])
    _poll_all(consumer, 3)
    assert consumer.lag() == 3
    consumer.commit()
    assert consumer.lag() == 0
    consumer.close()


def test_table_members_own_disjoint_keys_and_the_survivor_takes_over_the_last_values(
    bus: Bus,
) -> None:
    keys = [f"https://feed{i}.example.org/rss" for i in range(24)]
    seen: dict[str, dict[str, bytes]] = {"a": {}, "b": {}}

    def sync(name: str, member: Membership) -> None:
        seen[name].update(member.sync(0.3).values)

    def until(check: Callable[[], bool], *members: tuple[str, Membership]) -> None:
        for _ in range(200):
            for name, member in members:
                sync(name, member)
                owners = [[k for k in keys if m.owns(k)] for _, m in members]
                assert len(sum(owners, [])) == len({k for o in owners for k in o}), "two owners"
            if check():
                return
        raise AssertionError("the group did not settle")

    a = bus.member("ingest", "table")
    until(lambda: all(a.owns(k) for k in keys), ("a", a))
    for key in keys:
        a.put(key, b"1")
    bus.flush()
    b = bus.member("ingest", "table")
    until(
        lambda: all(a.owns(k) != b.owns(k) for k in keys) and any(b.owns(k) for k in keys),
        ("a", a),
        ("b", b),
    )
    mine = [k for k in keys if b.owns(k)]
    assert all(seen["b"][k] == b"1" for k in mine), "a new owner reads the last values first"
    for key in mine:
        b.put(key, b"2")
    bus.flush()
    b.close()  # leaves: the survivor takes every key over
    until(lambda: all(a.owns(k) for k in keys), ("a", a))
    assert all(seen["a"][k] == b"2" for k in mine), "with what the last owner wrote"
    a.close()
