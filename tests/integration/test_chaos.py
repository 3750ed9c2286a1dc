"""The delivery proof, short version (the full one: ``chaos/run --articles 3000 --kills 20``).

The four services run on the private Kafka + Elasticsearch pair (see :mod:`chaos.services`)
over a local feed server; a random stage is killed with SIGKILL five times at random moments
and restarted. At the end every article is in Elasticsearch exactly once, every
(rule, story) was alerted exactly once, the dead-letter topic holds exactly the injected
poison records, and each group of near-duplicates (an article and its syndicated copies in
other feeds) has one story id. The seed is printed with the result, so a failure can be
re-run. Several instances of each stage: ``tests/integration/test_chaos_scaleout.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chaos.harness import ChaosConfig, run
from chaos.services import PrivateServices

#: above the harness's own bounds (kill phase + settle_timeout), so a run that does not settle
#: fails with its result line and the stages' logs rather than a bare pytest-timeout
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]


def test_kill_9_five_times_loses_and_duplicates_nothing(
    tmp_path: Path, private_services: PrivateServices
) -> None:
    bus, store = private_services.bus, private_services.store
    seed = int(os.environ["NEWSMON_CHAOS_SEED"]) if "NEWSMON_CHAOS_SEED" in os.environ else None
    result = run(
        ChaosConfig(
            bus=bus,
            store=store,
            articles=300,
            kills=5,
            gap=(4.0, 10.0),
            release_seconds=30,
            workdir=tmp_path,
            settle_timeout=420,
            seed=seed,
        )
    )
    print(result.line())
    assert result.settled, result.line()
    assert result.kills == 5 and result.runs >= 9
    assert (result.duplicates, result.losses) == (0, 0), result.line()
    assert (result.double_alerts, result.alert_losses, result.unexpected_alerts) == (0, 0, 0)
    assert result.alerts_expected > 50
    assert (result.unexpected_dead_letters, result.missing_dead_letters) == (0, 0)
    assert result.near_duplicate_share >= 0.3  # the world has syndicated copies ...
    assert (result.split_groups, result.merged_groups) == (0, 0)  # ... one story per group
    assert result.clean_exits, "every service exits 0 on SIGTERM"
