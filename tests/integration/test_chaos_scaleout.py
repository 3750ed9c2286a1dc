"""The delivery proof with several instances of each stage, short version (the full one:
``chaos/run --articles 3000 --kills 20 --ingesters 2 --processors 2 --alerters 2
--add-processor --feeds 12``), and one world through one processor and through two.

On the private Kafka + Elasticsearch pair (see :mod:`chaos.services`): two ``newsmon ingest``
(feeds on twelve loopback hosts, shared through the ingest group), two ``newsmon process``, one
``newsmon index`` and two ``newsmon alert``; 600 articles, 35 % of them syndicated copies of
another in other feeds (re-headlined, trimmed, edited, re-flowed); seven kill -9 of random
instances, and a third processor joins halfway. At the end every article is in Elasticsearch
exactly once, every (rule, story) was alerted exactly once, the dead-letter topic holds exactly
the injected poison, and every near-duplicate group has exactly one story id (none shared with
another group). The seed is printed with the result (``NEWSMON_CHAOS_SEED`` replays it).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chaos.harness import ChaosConfig, compare_processors, run
from chaos.services import PrivateServices

#: above the harness's own bounds (kill phase + settle_timeout), so a run that does not settle
#: fails with its result line and the stages' logs rather than a bare pytest-timeout
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

SCALE_OUT = {"ingest": 2, "process": 2, "index": 1, "alert": 2}


def _seed() -> int | None:
    return int(os.environ["NEWSMON_CHAOS_SEED"]) if "NEWSMON_CHAOS_SEED" in os.environ else None


def test_two_of_each_killed_seven_times_with_a_processor_added_mid_stream(
    tmp_path: Path, private_services: PrivateServices
) -> None:
    result = run(
        ChaosConfig(
            bus=private_services.bus,
            store=private_services.store,
            articles=600,
            kills=7,
            feeds=12,
            gap=(5.0, 10.0),
            release_seconds=50,
            instances=SCALE_OUT,
            add_processor=True,
            workdir=tmp_path,
            settle_timeout=420,
            seed=_seed(),
        )
    )
    print(result.line())
    assert result.settled, result.line()
    assert result.kills == 7 and result.added == ["process-3"]
    assert result.near_duplicate_share >= 0.3 and result.groups > 100
    assert (result.duplicates, result.losses) == (0, 0), result.line()
    assert (result.double_alerts, result.alert_losses, result.unexpected_alerts) == (0, 0, 0)
    assert result.alerts_expected > 50
    assert (result.unexpected_dead_letters, result.missing_dead_letters) == (0, 0)
    assert (result.split_groups, result.merged_groups) == (0, 0), result.story_examples
    assert len(result.ingest_feeds_owned) == 2, "both ingest instances said what they own"
    assert result.clean_exits, "every instance exits 0 on SIGTERM"


def test_one_and_two_processors_give_the_same_story_partition(
    tmp_path: Path, private_services: PrivateServices
) -> None:
    comparison = compare_processors(
        ChaosConfig(
            bus=private_services.bus,
            store=private_services.store,
            articles=300,
            feeds=6,
            release_seconds=10,  # a burst: the two processors meet copies at the same time
            workdir=tmp_path,
            settle_timeout=300,
            seed=_seed(),
        )
    )
    print(comparison.line())
    one, two = comparison.runs
    assert one.settled and two.settled, comparison.line()
    assert (one.losses, two.losses, one.duplicates, two.duplicates) == (0, 0, 0, 0)
    assert comparison.identical, comparison.line()
    assert (two.split_groups, two.merged_groups) == (0, 0), two.story_examples
