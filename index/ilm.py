"""Optional index lifecycle management: ``newsmon ilm install``.

By default the indexer rolls the write alias over itself (``NEWSMON_INDEX_ROLLOVER_*``), which
works on every cluster, the core server included. A cluster with ILM can take that over: the
policy shipped in ``templates/news-articles.ilm-policy.json`` (hot: roll over at 50 GB per
primary shard or 30 days; delete after two years) is put under the alias's name and referenced
from the settings component template and the existing backing indices. Then switch the
indexer's own rollover off (``NEWSMON_INDEX_ROLLOVER_MAX_SIZE=`` etc.). A cluster without ILM
gets a clear error and no change.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

POLICY_FILE = "news-articles.ilm-policy.json"
ROLLOVER_CONDITIONS = {"max_primary_shard_size", "max_age", "max_docs", "max_size",
                       "max_primary_shard_docs", "min_primary_shard_size", "min_age", "min_docs"}
PHASE_ACTIONS = {
    "hot": {"rollover", "set_priority", "forcemerge", "readonly", "shrink", "unfollow"},
    "warm": {"set_priority", "forcemerge", "readonly", "shrink", "allocate", "migrate"},
    "cold": {"set_priority", "readonly", "allocate", "migrate"},
    "delete": {"delete", "wait_for_snapshot"},
}


def load_policy() -> dict[str, Any]:
    """The shipped policy body (``{"policy": {...}}``, as ``PUT _ilm/policy/<name>`` takes)."""
    text = resources.files("index").joinpath("templates", POLICY_FILE).read_text("utf-8")
    body: dict[str, Any] = json.loads(text)
    return body


def policy_problems(body: Any) -> list[str]:
    """Why ``body`` is not a policy newsmon can ship: phases known, actions allowed in their
    phase, a hot-phase rollover with size or age conditions, delete only after hot."""
    policy = body.get("policy") if isinstance(body, dict) else None
    phases = policy.get("phases") if isinstance(policy, dict) else None
    if not isinstance(phases, dict) or not phases:
        return ["no policy.phases"]
    problems = [f"unknown phase {p!r}" for p in phases if p not in PHASE_ACTIONS]
    for name, phase in phases.items():
        actions = phase.get("actions") if isinstance(phase, dict) else None
        if not isinstance(actions, dict):
            problems.append(f"phase {name}: no actions")
            continue
        allowed = PHASE_ACTIONS.get(name, set())
        problems += [f"phase {name}: action {a!r} not allowed" for a in actions if a not in allowed]
    rollover = phases.get("hot", {}).get("actions", {}).get("rollover")
    if not isinstance(rollover, dict) or not {"max_primary_shard_size", "max_age"} & set(rollover):
        problems.append("hot phase needs a rollover by max_primary_shard_size or max_age")
    elif unknown := sorted(set(rollover) - ROLLOVER_CONDITIONS):
        problems.append(f"unknown rollover conditions {unknown}")
    delete = phases.get("delete")
    if delete is not None and not str(delete.get("min_age", "")).rstrip("dhms").isdigit():
        problems.append("delete phase needs a min_age such as 730d")
    return problems
