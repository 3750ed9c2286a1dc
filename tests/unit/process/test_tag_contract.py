"""`newsmon tag`: JSON Lines in, one tagged JSON line per input out, same order (DESIGN.md)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers import seed_article

pytestmark = pytest.mark.model


def test_tag_command_keeps_order_and_fields() -> None:
    title, text = seed_article()
    lines = [
        json.dumps({"id": "seed", "title": title, "text": text, "url": "https://x/1"}),
        "this is not json",
        json.dumps({"id": 7, "title": "Markets rally as tech stocks climb"}),
        json.dumps({"text": "Gaza ceasefire talks resume in Cairo with Hamas and Israel."}),
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "newsmon", "tag"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o["id"] for o in out] == ["seed", None, 7, None]
    assert "error" in out[1] and out[1]["topics"] == []
    seed = out[0]
    assert [t["name"] for t in seed["topics"]] == ["peace_talks"]
    assert seed["topics"][0]["evidence"] and 0 < seed["topics"][0]["score"] <= 1
    names = {a["name"]: a for a in seed["actors"]}
    assert names["Volodymyr Zelensky"]["type"] == "person"
    assert names["Volodymyr Zelensky"]["salience"] >= 0.5
    assert all(a["type"] in {"person", "state", "organization", "group"} for a in seed["actors"])
    assert all(0 <= a["salience"] <= 1 for a in seed["actors"])
    assert out[2]["topics"] == [] and out[3]["topics"] == []


def test_eval_command_reports_the_thresholds_on_the_dev_set() -> None:
    from pathlib import Path

    dev = Path(__file__).resolve().parents[2] / "fixtures" / "dev" / "articles.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "newsmon", "eval", str(dev), "--json"],
        capture_output=True, text=True, timeout=300, check=True,
    )
    report = json.loads(proc.stdout)
    assert report["items"] == 39
    assert report["topic"]["f1"] >= 0.95
    assert report["principal_actors"]["f1"] >= 0.85
    assert report["core_recall_all"] >= 0.95
    assert set(report["by_language"]) >= {"en", "de"}
