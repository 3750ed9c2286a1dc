"""The seed article (tests/fixtures/seed): topic, principal actors, places, no headline junk."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsmon.schema import Tags

pytestmark = pytest.mark.model

HERE = Path(__file__).resolve()
SEED_NAME = "istanbul-talks-invitation.txt"
CANDIDATES = [HERE.parents[2] / "fixtures" / "seed" / SEED_NAME]
PRINCIPALS = {
    "Volodymyr Zelensky", "Vladimir Putin", "Donald Trump", "Keir Starmer", "Emmanuel Macron",
    "Friedrich Merz", "Donald Tusk", "Dmitry Peskov", "Joe Biden", "Ukraine", "Russia", "Kremlin",
}
ALLOWED = PRINCIPALS | {"United States"}


@pytest.fixture(scope="module")
def tags(model_tagger) -> Tags:  # type: ignore[no-untyped-def]
    found = [p for p in CANDIDATES if p.exists()]
    assert found, f"seed article not found in any of {CANDIDATES}"
    path = found[0]
    title, _, body = path.read_text(encoding="utf-8").partition("\n")
    found_tags: Tags = model_tagger.tag_batch([(title, body)])[0]
    return found_tags


def test_topic_is_peace_talks_with_evidence(tags: Tags) -> None:
    assert [t.name for t in tags.topics] == ["peace_talks"]
    topic = tags.topics[0]
    assert topic.score >= 0.5
    assert {"ceasefire", "peace talks"} <= set(topic.evidence)


def test_principal_actors_are_canonical_and_salient(tags: Tags) -> None:
    by_name = {a.name: a for a in tags.actors}
    missing = PRINCIPALS - by_name.keys()
    assert not missing
    low = {n: by_name[n].salience for n in PRINCIPALS if by_name[n].salience < 0.5}
    assert not low


def test_nothing_spurious_is_principal(tags: Tags) -> None:
    principal = {a.name for a in tags.actors if a.salience >= 0.5}
    assert principal <= ALLOWED


def test_types_and_countries(tags: Tags) -> None:
    by_name = {a.name: a for a in tags.actors}
    assert (by_name["Kremlin"].type, by_name["Kremlin"].country) == ("organization", "RU")
    assert by_name["Ukraine"].type == by_name["Russia"].type == "state"
    assert by_name["Volodymyr Zelensky"].in_title and by_name["Vladimir Putin"].in_title
    assert by_name["Volodymyr Zelensky"].mentions >= 5


def test_no_headline_junk_or_places_as_people(tags: Tags) -> None:
    people = {a.name for a in tags.actors if a.type == "person"}
    assert not people & {"Kyiv", "Zelensky Invites", "Trump Calls", "Twitter", "Mark Turning Point"}
    assert all(" " not in a.name or a.name[0].isupper() for a in tags.actors)


def test_places(tags: Tags) -> None:
    places = {p.name: p.country for p in tags.places}
    assert places.keys() >= {"Istanbul", "Türkiye", "Kyiv", "Moscow"}
    assert places["Istanbul"] == places["Türkiye"] == "TR"
    assert places["Kyiv"] == "UA" and places["Moscow"] == "RU"
