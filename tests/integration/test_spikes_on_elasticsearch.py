"""Spike rules on real Elasticsearch: a baseline backfilled from the stored articles, and two
alert workers sharing one store send one alert for one spike; a third worker started later
(a restart) adds nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from alert.stage import AlertStage
from newsmon.adapters.es_store import ElasticsearchStore
from tests.conftest import Services
from tests.unit.alert.test_alert_kinds import Clock, Recording, burst, spike_rule, stored_history

pytestmark = pytest.mark.integration


@pytest.fixture
def es(services: Services, unique: str) -> Iterator[ElasticsearchStore]:
    from index.layout import load_layout

    store = ElasticsearchStore(services.store, load_layout(f"t{unique}-"))
    store.ensure_schema()
    yield store
    store.drop()
    store.close()


def test_two_workers_and_a_restart_send_one_spike_alert(es: ElasticsearchStore) -> None:
    now = datetime(2025, 5, 12, 9, tzinfo=UTC)
    stored_history(es, 7, now)
    es.refresh()
    one, two, three = Recording(), Recording(), Recording()
    first = AlertStage(es, [spike_rule(one)], Clock(now))
    second = AlertStage(es, [spike_rule(two)], Clock(now))
    records = burst(now)
    first.handle(records[::2])
    second.handle(records[1::2])
    first.handle(burst(now + timedelta(minutes=10), offset=500)[:4])
    sent = one.sent + two.sent
    assert len(sent) == 1 and sent[0]["kind"] == "spike"
    assert sent[0]["spike"]["publishers"] >= 8 and sent[0]["spike"]["usual"] < 3
    later = AlertStage(es, [spike_rule(three)], Clock(now))
    later.handle(records)  # a restarted worker gets the uncommitted records again
    assert three.sent == []
    assert len(es.alerts({"kind": "spike"})) == 1
