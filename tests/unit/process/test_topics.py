from __future__ import annotations

from pathlib import Path

import pytest

from newsmon.schema import Actor
from process.topics import (
    TopicError,
    compile_topic,
    keyword_signal,
    load_topics,
    needs_vector,
    parse_topic,
    score_topics,
)

ZELENSKY = Actor(name="Volodymyr Zelensky", type="person", country="UA", mentions=3, salience=0.8)
RUSSIA = Actor(name="Russia", type="state", country="RU", mentions=2, salience=0.7)


@pytest.fixture(scope="module")
def topics():  # type: ignore[no-untyped-def]
    return load_topics()


def test_peace_talks_fires_with_evidence(topics) -> None:  # type: ignore[no-untyped-def]
    found = score_topics(
        topics,
        "Zelensky invites Putin to Istanbul peace talks",
        "Ukraine proposed a 30-day ceasefire; Russia said it was open to negotiations.",
        [ZELENSKY, RUSSIA],
    )
    assert [t.name for t in found] == ["peace_talks"]
    assert {"peace talks", "ceasefire"} <= set(found[0].evidence)
    assert "Volodymyr Zelensky" in found[0].evidence
    assert 0.5 <= found[0].score <= 1.0


def test_gaza_ceasefire_does_not_fire(topics) -> None:  # type: ignore[no-untyped-def]
    israel = Actor(name="Israel", type="state", country="IL", mentions=3, salience=0.8)
    found = score_topics(
        topics,
        "Hamas and Israel agree Gaza ceasefire",
        "Hamas released hostages in Gaza as the truce held; Israel said the ceasefire deal stands.",
        [israel],
    )
    assert found == ()


def test_armenia_azerbaijan_deal_does_not_fire(topics) -> None:  # type: ignore[no-untyped-def]
    found = score_topics(
        topics,
        "Armenia and Azerbaijan sign peace deal",
        "Armenia and Azerbaijan agreed a peace agreement; Russia, once the mediator, was absent.",
        [RUSSIA],
    )
    assert found == ()


def test_no_conflict_context_no_topic(topics) -> None:  # type: ignore[no-untyped-def]
    found = score_topics(topics, "Union and employers agree truce", "A truce in the strike.", [])
    assert found == ()


THAI_TALKS = (
    "The foreign ministers of Thailand and Cambodia began two days of peace talks in China on "
    "Sunday to turn the ceasefire into a peace agreement."
)


@pytest.mark.parametrize("dateline", ["MOSCOW, December 28. /TASS/. ", "MOSCOW (Reuters) - "])
def test_a_dateline_is_not_the_conflicts_context(topics, dateline: str) -> None:  # type: ignore[no-untyped-def]
    """A Russian agency reports other talks from Moscow: the place it files from is neither
    context for the keyword score nor a reason to ask the learned layer."""
    peace = next(t for t in topics if t.spec.name == "peace_talks")
    dated, said = dateline + THAI_TALKS, "In Moscow, officials said: " + THAI_TALKS
    assert not needs_vector(peace, "", dated)
    assert keyword_signal(peace, "", dated, []).share == 0.0
    assert needs_vector(peace, "", said)
    assert keyword_signal(peace, "", said, []).share > 0.0


def test_german_terms_fire(topics) -> None:  # type: ignore[no-untyped-def]
    found = score_topics(
        topics,
        "Waffenstillstand: Russland und Ukraine nehmen Friedensgespräche auf",
        "Kiew und Moskau verhandeln.",
        [],
    )
    assert [t.name for t in found] == ["peace_talks"]


def test_topic_file_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(TopicError, match="terms"):
        parse_topic({"name": "x"}, "x.yaml")
    with pytest.raises(TopicError, match="name"):
        parse_topic({"name": "Bad Name", "terms": {"a": 1}}, "x.yaml")
    with pytest.raises(TopicError, match="threshold"):
        parse_topic({"name": "x", "terms": {"a": 1}, "threshold": 2}, "x.yaml")
    with pytest.raises(TopicError, match="negative"):
        parse_topic({"name": "x", "terms": {"a": -1}}, "x.yaml")
    (tmp_path / "a.yaml").write_text("name: t\nterms: {truce: 1}\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("name: t\nterms: {truce: 1}\n", encoding="utf-8")
    with pytest.raises(TopicError, match="duplicate"):
        load_topics(tmp_path)


def test_users_add_topics_as_files(tmp_path: Path) -> None:
    (tmp_path / "grain.yaml").write_text(
        "name: grain_deal\nthreshold: 0.3\nterms: {grain deal: 1.5, grain corridor: 1.5}\n",
        encoding="utf-8",
    )
    found = score_topics(load_topics(tmp_path), "Grain deal extended", "The grain corridor.", [])
    assert [t.name for t in found] == ["grain_deal"]


def test_other_negotiations_are_weighed_apart_from_the_keyword_score(topics) -> None:  # type: ignore[no-untyped-def]
    """Distractors (EU accession, prisoner exchanges ...) feed the learned layer only: the
    keyword score of a talks report that also agreed an exchange does not drop."""
    (topic,) = [t for t in topics if t.spec.name == "peace_talks"]
    without = compile_topic(topic.spec.model_copy(update={"distractors": {}}))
    title = "Ukraine and Russia agree prisoner exchange at Istanbul peace talks"
    body = "Delegations of Ukraine and Russia agreed a prisoner exchange at the peace talks."
    signal = keyword_signal(topic, title, body, [ZELENSKY, RUSSIA])
    plain = keyword_signal(without, title, body, [ZELENSKY, RUSSIA])
    assert signal.distract == 3.0  # headline and text, and the headline once more
    assert plain.distract == 0.0 and signal.score == plain.score
    text = "Ukraine opened EU accession clusters; обмін полоненими."
    accession = keyword_signal(topic, "", text, [])
    assert accession.distract > 2.0


def test_distractor_weights_are_validated(tmp_path: Path) -> None:
    bad = {"name": "t", "terms": {"truce": 1.0}, "distractors": {"grain deal": -1.0}}
    with pytest.raises(TopicError, match="negative weight"):
        parse_topic(bad, "t.yaml")
