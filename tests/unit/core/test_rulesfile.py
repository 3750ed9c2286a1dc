"""Editing a rule's query in the rules file: only that text changes, or nothing does."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsmon.config import load_rules
from newsmon.errors import ConfigError
from newsmon.rulesfile import set_query

RULES = """\
# our rules (comment kept)
- name: block   # trailing comment
  query: 'ceasefire AND actor:"Vladimir Putin"'
  channels:
    - {type: log}
- {name: flow, query: Istanbul, channels: [{type: log}]}
- name: folded
  query: >
    topic:peace_talks
    AND Geneva
  realert: 2h
"""


@pytest.mark.parametrize("name", ["block", "flow", "folded"])
def test_only_the_query_changes(tmp_path: Path, name: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    new = 'café AND "a \\" quote" AND title:"it\'s"'
    changed = set_query(path, name, new)
    assert changed.query == new
    rules = {r.name: r for r in load_rules(path)}
    assert rules[name].query == new
    before = {r.name: r for r in load_rules(_write(tmp_path / "old.yaml", RULES))}
    for other in set(before) - {name}:
        assert rules[other] == before[other]
    text = path.read_text()
    assert text.startswith("# our rules (comment kept)\n") and "# trailing comment" in text
    assert rules["folded"].realert == before["folded"].realert


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_refused_edits_write_nothing(tmp_path: Path) -> None:
    path = _write(tmp_path / "rules.yaml", RULES)
    for name, query, message in [
        ("nope", "x", "no rule named 'nope'"),
        ("flow", "a AND (", "bad query"),
        ("flow", "colour:red", "unknown field"),
        ("flow", "   ", "cannot be empty"),
    ]:
        with pytest.raises(ConfigError, match=message):
            set_query(path, name, query)
        assert path.read_text() == RULES
    assert not list(tmp_path.glob(".rules.yaml.*")) and not list(tmp_path.glob("tmp*.yaml"))
