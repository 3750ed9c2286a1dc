"""Candidates → actors/places, on plain data (no spaCy model)."""

from __future__ import annotations

import pytest

from process.actors import aggregate_actors, aggregate_places
from process.gazetteer import Gazetteer, load_gazetteer
from process.mentions import Candidate
from process.resolve import resolve, vote_labels
from process.roles import Role


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return load_gazetteer()


def cand(
    gaz: Gazetteer, text: str, role: Role = "other", label: str = "", **kw: object
) -> Candidate:
    tokens = tuple(text.split())
    hits = tuple(gaz.lookup(text)) if not label else ()
    start = kw.pop("start", 0)
    assert isinstance(start, int)
    return Candidate(tokens=tokens, label=label, start=start, role=role,
                     hits=hits, **kw)  # type: ignore[arg-type]


def run(gaz: Gazetteer, *cands: Candidate) -> tuple[dict[str, str], set[str]]:
    actors, places = resolve(cands, gaz, set())
    return ({a.name: a.type for a in aggregate_actors(actors, 1000)},
            {p.name for p in aggregate_places(places)})


def test_capital_acts_as_its_state_only_when_acting(gaz: Gazetteer) -> None:
    actors, places = run(gaz, cand(gaz, "Moscow", "agent"), cand(gaz, "Kyiv", "locative"))
    assert actors == {"Russia": "state"}
    assert places == {"Kyiv"}


def test_demonym_counts_only_when_the_state_acts(gaz: Gazetteer) -> None:
    actors, places = run(gaz, cand(gaz, "Russian", "other"), cand(gaz, "Ukrainian", "proxy"))
    assert actors == {"Ukraine": "state"} and places == set()


def test_state_named_as_location_is_a_place(gaz: Gazetteer) -> None:
    actors, places = run(gaz, cand(gaz, "Türkiye", "locative"), cand(gaz, "Russia", "agent"))
    assert actors == {"Russia": "state"} and places == {"Türkiye"}


def test_places_never_become_persons(gaz: Gazetteer) -> None:
    actors, places = run(gaz, Candidate(("Kyiv",), "PERSON", 0, hits=tuple(gaz.lookup("Kyiv"))))
    assert actors == {} and places == {"Kyiv"}
    gpe, person = cand(gaz, "Bakhmut", label="GPE"), cand(gaz, "Bakhmut", label="PERSON", start=9)
    actors, places = run(gaz, gpe, person)
    assert actors == {} and places == {"Bakhmut"}


def test_headline_span_trimmed_to_known_name(gaz: Gazetteer) -> None:
    c = Candidate(("Zelensky", "Invites"), "PERSON", 0, in_title=True, headline=True)
    t = Candidate(("Trump", "Calls"), "PERSON", 50, headline=True)
    actors, _ = run(gaz, c, t)
    assert actors == {"Volodymyr Zelensky": "person", "Donald Trump": "person"}


def test_unknown_headline_span_needs_the_body(gaz: Gazetteer) -> None:
    junk = Candidate(("Mark", "Turning", "Point"), "PERSON", 0, headline=True)
    name = Candidate(("Jayapal", "Says"), "PERSON", 5, headline=True)
    body = Candidate(("Pramila", "Jayapal"), "PERSON", 90)
    actors, _ = run(gaz, junk, name, body)
    assert actors == {"Pramila Jayapal": "person"}


def test_surname_and_weak_alias_resolution(gaz: Gazetteer) -> None:
    actors, _ = run(gaz, cand(gaz, "Boris Johnson"), cand(gaz, "Johnson", start=40))
    assert actors == {"Boris Johnson": "person"}
    actors, _ = run(gaz, cand(gaz, "Johnson", preceding="Prime Minister"))
    assert actors == {"Boris Johnson": "person"}
    actors, _ = run(gaz, cand(gaz, "Johnson"))
    assert actors == {}


def test_sources_and_reporters_are_not_actors(gaz: Gazetteer) -> None:
    actors, _ = run(
        gaz,
        Candidate(("Reuters",), "ORG", 0),
        Candidate(("ABC", "News"), "ORG", 10),
        Candidate(("Jane", "Roe"), "PERSON", 20, role="reporter"),
        Candidate(("Marine",), "ORG", 30, preceding="and a former"),
        Candidate(("Bellingcat",), "ORG", 40, role="agent"),
    )
    assert actors == {"Bellingcat": "organization"}


def test_unknown_people_are_kept_with_mention_counts(gaz: Gazetteer) -> None:
    actors, _ = resolve(
        [Candidate(("Ro", "Khanna"), "PERSON", 0, role="speaker"),
         Candidate(("Khanna",), "PERSON", 50, role="agent")], gaz, set())
    (khanna,) = aggregate_actors(actors, 1000)
    assert (khanna.name, khanna.type, khanna.mentions) == ("Ro Khanna", "person", 2)
    assert khanna.salience >= 0.5


def test_the_office_word_of_a_title_is_no_organisation(gaz: Gazetteer) -> None:
    """spaCy tags "State" in "Secretary of State Marco Rubio" and "Defense" in "Defense Minister
    Rustem Umerov" as organisations; the people stay, the office words go."""
    actors, _ = run(
        gaz,
        cand(gaz, "State", label="ORG", preceding="U.S. Secretary of"),
        cand(gaz, "Marco Rubio", "agent"),
        cand(gaz, "Defense", label="ORG", preceding="the Ukrainian delegation,"),
        cand(gaz, "Mobile TeleSystems", label="ORG"),
        cand(gaz, "Ukrenergo", label="ORG"),
    )
    assert actors == {"Marco Rubio": "person", "Mobile TeleSystems": "organization",
                      "Ukrenergo": "organization"}


def ministry(text: str, role: Role = "agent", **kw: object) -> Candidate:
    start = kw.pop("start", 20)
    assert isinstance(start, int)
    return Candidate(tuple(text.split()), "ORG", start, role=role, **kw)  # type: ignore[arg-type]


def test_a_state_s_ministry_is_its_gazetteer_entry_or_the_state(gaz: Gazetteer) -> None:
    assert run(gaz, ministry("Turkish Defense Ministry"))[0] == {"Türkiye": "state"}
    assert run(gaz, ministry("the Philippines ' Foreign Ministry"))[0] == {
        "Philippines": "state"}
    assert run(gaz, ministry("Moscow 's Ministry of National Defence"))[0] == {
        "Russian Ministry of Defence": "organization"}
    # the state right before, on the same line
    russia = cand(gaz, "Russia", start=10)
    assert run(gaz, russia, ministry("Ministry of Defence", preceding="Meanwhile, Russia's"))[
        0] == {"Russia": "state", "Russian Ministry of Defence": "organization"}
    # ... not across a line break (a headline's state, then the body's "Foreign Ministry")
    assert run(gaz, cand(gaz, "Ukraine", start=0),
               ministry("Foreign Ministry", preceding="on Ukraine\n\n"))[0] == {
        "Ukraine": "state", "Foreign Ministry": "organization"}
    # after "of" / "in"
    uae = cand(gaz, "United Arab Emirates", start=60,
               preceding="Ministry of Foreign Affairs of the")
    assert run(gaz, ministry("Ministry of Foreign Affairs"), uae)[0] == {
        "United Arab Emirates": "state"}
    beijing = cand(gaz, "Beijing", start=60, preceding="by the Foreign Ministry in")
    assert run(gaz, ministry("Foreign Ministry"), beijing)[0] == {
        "Chinese Ministry of Foreign Affairs": "organization"}
    # a ministry as a venue does not make its state an actor, nor does a ministry of no state
    assert run(gaz, ministry("Ministry of Defence of Azerbaijan"))[0] == {"Azerbaijan": "state"}
    assert run(gaz, ministry("China 's National Defense Ministry"))[0] == {"China": "state"}
    assert run(gaz, ministry("Turkish Foreign Ministry", role="locative"))[0] == {
        "Turkish Foreign Ministry": "organization"}
    assert run(gaz, ministry("Ministry of Foreign Affairs"))[0] == {
        "Ministry of Foreign Affairs": "organization"}


def test_a_surname_of_a_full_name_wins_a_tie_of_labels_only() -> None:
    full = Candidate(("Artem", "Kobzar"), "PERSON", 0)
    assert [c.label for c in vote_labels([full, Candidate(("Kobzar",), "ORG", 40)])] == [
        "PERSON", "PERSON"]
    fulls = [Candidate(("Artem", "Kobzar"), "PERSON", k) for k in range(3)]
    orgs = [Candidate(("Kobzar",), "ORG", 40 + k) for k in range(4)]
    assert {c.label for c in vote_labels([*fulls, *orgs])[3:]} == {"ORG"}  # outvoted, 4 to 3
    ties = vote_labels([Candidate(("Bayraktar",), "ORG", 0), Candidate(("Bayraktar",), "GPE", 9)])
    assert [c.label for c in ties] == ["ORG", "ORG"]  # no full name: the first label seen
