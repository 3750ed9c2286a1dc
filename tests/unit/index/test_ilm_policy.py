"""The optional ILM policy shipped in index/templates: a valid lifecycle, checked statically
(the test Elasticsearch has no ILM; the integration test proves the clear error there)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from index.ilm import load_policy, policy_problems


def test_shipped_policy_rolls_over_by_size_and_age_then_deletes() -> None:
    body = load_policy()
    assert policy_problems(body) == []
    phases = body["policy"]["phases"]
    assert phases["hot"]["actions"]["rollover"] == {"max_primary_shard_size": "50gb",
                                                    "max_age": "30d"}
    assert phases["delete"] == {"min_age": "730d", "actions": {"delete": {}}}
    assert set(body) == {"policy"}  # exactly what PUT _ilm/policy/<name> takes


def _edit(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(load_policy())
    node = body
    for key in path[:-1]:
        node = node[key]
    if value is None:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return body


@pytest.mark.parametrize(("path", "value", "expected"), [
    (("policy", "phases", "hot", "actions", "rollover"), None, "hot phase needs a rollover"),
    (("policy", "phases", "hot", "actions", "rollover"), {"max_docs": 5}, "hot phase needs"),
    (("policy", "phases", "hot", "actions", "rollover", "max_gb"), 5, "unknown rollover"),
    (("policy", "phases", "hot", "actions", "delete"), {}, "action 'delete' not allowed"),
    (("policy", "phases", "frozen"), {"actions": {}}, "unknown phase 'frozen'"),
    (("policy", "phases", "delete", "min_age"), None, "delete phase needs a min_age"),
    (("policy", "phases"), None, "no policy.phases"),
])
def test_policy_problems_are_named(path: tuple[str, ...], value: Any, expected: str) -> None:
    assert any(expected in p for p in policy_problems(_edit(path, value)))
