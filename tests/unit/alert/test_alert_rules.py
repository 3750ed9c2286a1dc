"""Rules as data: validation with clear errors, filters, the rules file, the rule index."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from alert.matching import RuleIndex
from alert.rulefile import add_rule
from alert.rules import Rule, compile_rule, compile_rules, match
from newsmon.config import RuleConfig, load_rules
from newsmon.errors import ConfigError
from newsmon.query import compile_query, prepare

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
DOCS = [json.loads(line) for line in (FIXTURES / "parity_docs.jsonl").read_text().splitlines()]


def load(tmp_path: Path, text: str) -> list[RuleConfig]:
    f = tmp_path / "rules.yaml"
    f.write_text(text)
    return load_rules(f)


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("- {name: r, query: a, channels: [{type: webhook, url: 'http://x/h', secert: k}]}",
         r"rules #1: channels.0.secert: Extra inputs are not permitted"),
        ("- {name: r, query: a, channels: [{type: slack}]}", "a slack channel needs a url"),
        ("- {name: r, query: a, channels: [{type: email, host: h, sender: a@b}]}",
         "an email channel needs to"),
        ("- {name: r, query: a, channels: [{type: email, host: h, sender: a@b, to: [x]}]}",
         "not an email address: 'x'"),
        ("- {name: r, query: a, channels: [{type: sms}]}", "channels.0.type"),
        ("- {name: r, query: a, timezone: Mars/Base}", "unknown time zone 'Mars/Base'"),
        ("- {name: r, query: a, realert: soon}", "not a duration: 'soon'"),
        ("- {name: r, query: a, digest: 7m}", "the period must divide a day"),
        ("- {name: r, query: a, digest: weekly}", "use 30m, 2h, hourly, daily"),
        ("- {name: r, query: a, channels: []}", "at least one channel"),
        ("- {name: 'bad name', query: a}", "rules #1: name"),
    ],
)
def test_invalid_rules_name_the_line_and_the_field(
    tmp_path: Path, yaml_text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        load(tmp_path, yaml_text + "\n")
    assert "rules.yaml:1:" in str(info.value)


def test_a_full_rule_loads(tmp_path: Path) -> None:
    (cfg,) = load(tmp_path, """
- name: talks
  query: 'ceasefire AND actor:"Vladimir Putin"'
  topics: peace_talks
  actors: [Vladimir Putin]
  realert: 2h
  digest: daily 08:00
  timezone: Europe/Kyiv
  kibana_url: http://kibana.local:5601
  channels:
    - {type: webhook, url: 'http://127.0.0.1:1/h', secret: s3cret}
    - {type: email, to: [desk@example.org], sender: n@example.org, host: smtp.example.org,
       username: u, password: p}
""")
    assert cfg.realert == timedelta(hours=2) and cfg.topics == ("peace_talks",)
    assert "s3cret" not in repr(cfg) and "s3cret" not in str(cfg.model_dump())
    rule = compile_rule(cfg)
    assert [getattr(c, "label", "") for c in rule.channels] == [
        "webhook:127.0.0.1", "email:desk@example.org"]
    assert rule.lease > timedelta(seconds=30)


def test_bad_query_and_template_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="rule 'r': bad query"):
        compile_rules([RuleConfig(name="r", query="a AND (b")])
    with pytest.raises(ConfigError, match="unknown placeholder {titel}"):
        compile_rule(RuleConfig.model_validate(
            {"name": "r", "query": "a", "template": {"subject": "{titel}"}}))


def test_topic_and_actor_filters() -> None:
    doc = next(d for d in DOCS if "Vladimir Putin" in d["actor"])
    base = {"name": "r", "query": "*"}
    assert match(compile_rule(RuleConfig.model_validate(
        {**base, "actors": ["vladimir putin"]})), doc) is not None
    assert match(compile_rule(RuleConfig.model_validate(
        {**base, "actors": ["Nobody"]})), doc) is None
    assert match(compile_rule(RuleConfig.model_validate(
        {**base, "topics": ["no_such_topic"]})), doc) is None


QUERIES = [
    "ceasefire", "ceasefire AND putin", '"peace talks"', 'actor:"Vladimir Putin"',
    "istanbul OR riyadh", "NOT ceasefire", "cease*", "published:[2025-01-01 TO 2025-06-30]",
    "topic:peace_talks AND -trump", "zelensk~1", "title:(trump putin)", "source:*",
    'actor:"Volodymyr Zelensky" AND NOT actor:"Donald Trump"', "u.s", "nosuchwordanywhere",
]


def test_rule_index_selects_exactly_what_a_full_scan_selects() -> None:
    rules = [Rule(f"r{i}", q, compile_query(q), ()) for i, q in enumerate(QUERIES)]
    index = RuleIndex(rules)
    assert index.indexed >= 8 and index.always
    for doc in DOCS:
        prepared = prepare(doc)
        full = [r.name for r in rules if match(r, prepared) is not None]
        assert [r.name for r, _ in index.matches(prepared)] == full
        assert len(index.candidates(prepared)) <= len(rules)


def test_add_rule_appends_keeping_comments_and_refuses_invalid(tmp_path: Path) -> None:
    f = tmp_path / "rules.yaml"
    f.write_text("# our rules\n- name: a\n  query: ceasefire  # the main one\n")
    add_rule(f, {"name": "b", "query": "istanbul", "channels": [{"type": "log"}]})
    text = f.read_text()
    assert text.startswith("# our rules\n") and "# the main one" in text
    assert [r.name for r in load_rules(f)] == ["a", "b"]
    with pytest.raises(ConfigError, match=r"rules.yaml: duplicate rule name 'b'"):
        add_rule(f, {"name": "b", "query": "x"})
    with pytest.raises(ConfigError, match="bad query"):
        add_rule(f, {"name": "c", "query": "a AND (b"})
    assert f.read_text() == text, "nothing written on error"
    add_rule(tmp_path / "new" / "rules.yaml", {"name": "n", "query": "x"})
