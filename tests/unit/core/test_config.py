from __future__ import annotations

from pathlib import Path

import pytest

from newsmon.config import Settings, load_feeds, load_rules
from newsmon.errors import ConfigError


def test_settings_read_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSMON_BUS", "kafka://127.0.0.1:9092")
    monkeypatch.setenv("NEWSMON_STORE", "http://127.0.0.1:9200")
    s = Settings()
    assert s.bus == "kafka://127.0.0.1:9092" and s.store == "http://127.0.0.1:9200"


def test_feeds_file_validated_with_line_numbers(tmp_path: Path) -> None:
    good = tmp_path / "feeds.yaml"
    good.write_text(
        "- url: https://example.com/rss\n  name: Ex\n  interval: 600\n- {url: 'http://127.0.0.1:8000/f'}\n"
    )
    feeds = load_feeds(good)
    assert [f.display_name for f in feeds] == ["Ex", "http://127.0.0.1:8000/f"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("- url: https://example.com/rss\n- name: no url here\n  tags: [x]\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:2: feeds #2: url: Field required"):
        load_feeds(bad)


def test_rules_require_webhook_url_and_unique_names(tmp_path: Path) -> None:
    f = tmp_path / "rules.yaml"
    f.write_text("- name: r1\n  query: ceasefire\n  channels: [{type: webhook}]\n")
    with pytest.raises(ConfigError, match="webhook channel needs a url"):
        load_rules(f)
    f.write_text("- {name: r1, query: a}\n- {name: r1, query: b}\n")
    with pytest.raises(ConfigError, match="duplicate rule name 'r1'"):
        load_rules(f)
    f.write_text("- name: r1\n  query: 'ceasefire AND actor:\"Vladimir Putin\"'\n")
    assert load_rules(f)[0].channels[0].type == "log"


def test_not_a_list_is_a_clear_error(tmp_path: Path) -> None:
    f = tmp_path / "feeds.yaml"
    f.write_text("url: https://example.com\n")
    with pytest.raises(ConfigError, match="expected a YAML list of feeds"):
        load_feeds(f)
