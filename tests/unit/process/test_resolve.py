"""Candidates → actors/places, on plain data (no spaCy model)."""

from __future__ import annotations

import pytest

from process.actors import aggregate_actors, aggregate_places
from process.gazetteer import Gazetteer, load_gazetteer
from process.mentions import Candidate
from process.resolve import resolve
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
