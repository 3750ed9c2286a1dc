"""Several ingest instances on the in-memory twin of the group: each feed polled by exactly
one, handed over with its shared record (validators, schedule, published items) when an
instance leaves; the shared record's encoding and merge rules."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.ownership import GROUP, FeedOwnership
from ingest.politeness import host_key
from ingest.poller import FeedPoller
from ingest.shared import (
    RECENT_MAX,
    RECENT_MIN,
    decode_record,
    encode_record,
    later,
    recent_ids,
    with_recent,
)
from ingest.state import FeedRecord
from newsmon.bus import FEEDS_TOPIC, RAW_TOPIC, TABLE_PARTITIONS, MemoryBus, table_partition
from newsmon.config import FeedConfig, Settings
from newsmon.schema import RawArticle, decode
from tests.unit.ingest.feedserver import FeedServer, rss, running_server, with_etag

T0 = datetime(2025, 5, 11, 12, tzinfo=UTC)
HOSTS = 8  # loopback addresses 127.0.0.1-8: a feed's host decides its owner
FEEDS = 24


def items(feed: int, count: int = 3) -> list[tuple[str, str]]:
    return [(f"Feed {feed} story {i}", f"https://f{feed}.example.org/{i}") for i in range(count)]


class Instance:
    """One ``newsmon ingest``: its own data_dir, poller and group membership."""

    def __init__(self, name: str, settings: Settings, feeds: list[FeedConfig], bus: MemoryBus):
        mine = settings.model_copy(update={"data_dir": settings.data_dir / name})
        self.poller = FeedPoller(feeds, bus, None, mine)
        self.ownership = FeedOwnership(self.poller, bus.member(GROUP, FEEDS_TOPIC), feeds)

    def close(self) -> None:
        self.ownership.close()
        self.poller.close()


@pytest.fixture
def servers() -> Iterator[list[FeedServer]]:
    with ExitStack() as stack:
        yield [stack.enter_context(running_server(f"127.0.0.{h + 1}")) for h in range(HOSTS)]


class Hits:
    def __init__(self, servers: list[FeedServer]) -> None:
        self.servers = servers

    def __call__(self, n: int) -> int:
        return self.servers[n % HOSTS].hits(f"/f{n}")


@pytest.fixture
def hits(servers: list[FeedServer]) -> Hits:
    return Hits(servers)


def route(servers: list[FeedServer], n: int, body: bytes, etag: str) -> None:
    servers[n % HOSTS].routes[f"/f{n}"] = with_etag(body, etag)


@pytest.fixture
def feeds(servers: list[FeedServer]) -> list[FeedConfig]:
    for n in range(FEEDS):
        route(servers, n, rss(items(n)), f'"v{n}"')
    return [
        FeedConfig(url=servers[n % HOSTS].url(f"/f{n}"), interval=60)  # type: ignore[arg-type]
        for n in range(FEEDS)
    ]


@pytest.fixture
def pair(settings: Settings, feeds: list[FeedConfig]) -> Iterator[tuple[Instance, Instance]]:
    bus = MemoryBus()
    a, b = Instance("a", settings, feeds, bus), Instance("b", settings, feeds, bus)
    yield a, b
    a.close()
    b.close()


def published(bus: MemoryBus) -> list[str]:
    return [decode(RawArticle, r.value).article_id for r in bus.records(RAW_TOPIC)]


def test_each_feed_is_polled_by_exactly_one_instance(
    pair: tuple[Instance, Instance], feeds: list[FeedConfig], hits: Hits
) -> None:
    a, b = pair
    a.ownership.sync(0, T0), b.ownership.sync(0, T0), a.ownership.sync(0, T0)
    urls = {str(f.url) for f in feeds}
    assert a.ownership.owned | b.ownership.owned == urls
    assert not a.ownership.owned & b.ownership.owned
    assert a.ownership.owned and b.ownership.owned, "both share the work"
    for mine in (a.ownership.owned, b.ownership.owned):  # a host's feeds stay together
        assert not {host_key(u) for u in mine} & {host_key(u) for u in urls - mine}
    a.poller.poll_due(T0)
    b.poller.poll_due(T0)
    assert all(hits(n) == 1 for n in range(FEEDS))
    bus = a.poller._bus
    assert isinstance(bus, MemoryBus)
    ids = published(bus)
    assert len(ids) == len(set(ids)) == FEEDS * 3


def test_the_survivor_takes_over_with_validators_schedule_and_seen_items(
    pair: tuple[Instance, Instance], servers: list[FeedServer]
) -> None:
    a, b = pair
    a.ownership.sync(0, T0), b.ownership.sync(0, T0), a.ownership.sync(0, T0)
    a.poller.poll_due(T0)
    b.poller.poll_due(T0)
    b_feeds = sorted(b.ownership.owned)
    b_records = {u: b.poller.record(u) for u in b_feeds}
    moved = b_feeds[0]
    path = "/" + moved.rsplit("/", 1)[1]
    n = int(path.removeprefix("/f"))
    route(servers, n, rss(items(n, 4)), '"changed"')  # one new item
    b.ownership.close()  # b leaves (or dies: the group hands its partitions over alike)
    gained = a.ownership.sync(0, T0 + timedelta(seconds=1))
    assert sorted(gained) == b_feeds and len(a.ownership.owned) == FEEDS
    for url in b_feeds:  # the same validators and schedule as the last owner's
        taken = a.poller.record(url)
        assert taken.etag == b_records[url].etag and taken.next_poll == b_records[url].next_poll
    assert a.poller.poll_due(T0 + timedelta(seconds=30)).feeds == ()  # not due: schedule kept
    report = a.poller.poll_due(T0 + timedelta(minutes=2))
    assert {f.status for f in report.feeds if f.url != moved} == {"not_modified"}
    bus = a.poller._bus
    assert isinstance(bus, MemoryBus)
    ids = published(bus)
    assert len(ids) == len(set(ids)) == FEEDS * 3 + 1, "only the new item, nothing twice"


def test_an_instance_joining_takes_its_share_and_polls_only_that(
    settings: Settings, feeds: list[FeedConfig], hits: Hits
) -> None:
    bus = MemoryBus()
    a = Instance("a", settings, feeds, bus)
    try:
        a.ownership.sync(0, T0)
        assert len(a.ownership.owned) == FEEDS
        a.poller.poll_due(T0)
        b = Instance("b", settings, feeds, bus)
        try:
            a.ownership.sync(0, T0), b.ownership.sync(0, T0)
            assert not a.ownership.owned & b.ownership.owned and b.ownership.owned
            assert len(a.ownership.owned) + len(b.ownership.owned) == FEEDS
            later_on = T0 + timedelta(minutes=2)
            a.poller.poll_due(later_on), b.poller.poll_due(later_on)
            assert all(hits(n) == 2 for n in range(FEEDS))
            assert len(published(bus)) == FEEDS * 3
        finally:
            b.close()
    finally:
        a.close()


def test_memory_members_split_the_table_and_hand_values_over() -> None:
    bus = MemoryBus()
    a, b = bus.member("g", "t"), bus.member("g", "t")
    first_a, first_b = a.sync(), b.sync()
    assert first_a.gained | first_b.gained == frozenset(range(TABLE_PARTITIONS))
    assert not first_a.gained & first_b.gained
    keys = [f"k{i}" for i in range(40)]
    for key in keys:
        (a if a.owns(key) else b).put(key, key.encode())
    a.sync()  # its own writes come back, as on Kafka
    b.close()
    handover = a.sync()
    assert handover.gained == first_b.gained and not handover.lost
    assert all(a.owns(k) for k in keys)
    b_keys = [k for k in keys if table_partition(k) in first_b.gained]
    assert b_keys and all(handover.values[k] == k.encode() for k in b_keys)


def test_shared_record_round_trip_and_the_later_poll_wins(tmp_path: Path) -> None:
    record = FeedRecord(
        url="https://f.example.org/rss",
        etag='"x"',
        last_polled=T0,
        next_poll=T0 + timedelta(minutes=5),
        consecutive_failures=2,
        history="1/3 0/3",
        gone=False,
        recent="a b",
    )
    assert decode_record(record.url, encode_record(record)) == record
    assert decode_record("https://other.example.org/", encode_record(record)) is None
    assert decode_record(record.url, b"{not json") is None
    older = replace(record, last_polled=T0 - timedelta(hours=1), etag='"old"')
    assert later(older, record) == record
    assert later(record, older) == record
    resumed = replace(older, resumed=T0 + timedelta(minutes=1))
    taken = later(resumed, replace(record, gone=True, next_poll=None))
    assert taken.etag == '"x"' and not taken.gone and taken.resumed == resumed.resumed


def test_recent_ids_are_newest_first_deduplicated_and_capped() -> None:
    record = FeedRecord(url="u", recent="c b a")
    assert recent_ids(with_recent(record, ["d", "b"])) == ["d", "b", "c", "a"]
    many = [f"id{i}" for i in range(2 * RECENT_MAX)]
    assert len(recent_ids(with_recent(record, many))) == RECENT_MIN
    assert len(recent_ids(with_recent(record, many, listed=30))) == 60, "twice the listing"
    assert len(recent_ids(with_recent(record, many, listed=10_000))) == RECENT_MAX
    assert recent_ids(with_recent(record, many))[0] == "id0"
