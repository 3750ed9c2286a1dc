"""Roles from a hand-written dependency parse (no model)."""

from __future__ import annotations

import spacy
from spacy.tokens import Doc

from process.roles import role_of

VOCAB = spacy.blank("en").vocab


def parse(words: list[str], heads: list[int], deps: list[str]) -> Doc:
    return Doc(VOCAB, words=words, heads=heads, deps=deps)


def test_subject_of_a_verb_acts_and_of_a_speech_verb_speaks() -> None:
    doc = parse(["Moscow", "shelled", "Kharkiv"], [1, 1, 1], ["nsubj", "ROOT", "dobj"])
    assert role_of(doc[0]) == "agent"
    doc = parse(["Peskov", "said", "so"], [1, 1, 1], ["nsubj", "ROOT", "advmod"])
    assert role_of(doc[0]) == "speaker"


def test_location_is_locative() -> None:
    doc = parse(["talks", "in", "Moscow"], [0, 0, 1], ["ROOT", "prep", "pobj"])
    assert role_of(doc[2]) == "locative"


def test_meeting_partners_and_their_conjuncts_act() -> None:
    words = ["Zelensky", "met", "with", "Starmer", "and", "Macron"]
    doc = parse(words, [1, 1, 1, 2, 3, 3], ["nsubj", "ROOT", "prep", "pobj", "cc", "conj"])
    assert role_of(doc[3]) == role_of(doc[5]) == "meet"


def test_a_call_between_two_leaders_is_a_meeting_of_both() -> None:
    words = ["a", "call", "between", "Zelensky", "and", "Lukashenko"]
    doc = parse(words, [1, 1, 1, 2, 3, 3], ["det", "ROOT", "prep", "pobj", "cc", "conj"])
    assert role_of(doc[3]) == role_of(doc[5]) == "meet"
    doc = parse(["a", "gap", "between", "Kyiv"], [1, 1, 1, 2], ["det", "ROOT", "prep", "pobj"])
    assert role_of(doc[3]) == "other"


def test_the_source_of_according_to_and_of_remarks_by_speaks() -> None:
    doc = parse(["according", "to", "Umerov"], [0, 0, 1], ["prep", "prep", "pobj"])
    assert role_of(doc[2]) == "speaker"
    doc = parse(["remarks", "by", "Overchuk"], [0, 0, 1], ["ROOT", "prep", "pobj"])
    assert role_of(doc[2]) == "speaker"
    doc = parse(["a", "book", "by", "Overchuk"], [1, 1, 1, 2], ["det", "ROOT", "prep", "pobj"])
    assert role_of(doc[3]) == "other"


def test_who_takes_part_acts() -> None:
    doc = parse(["the", "participation", "of", "Fidan"], [1, 1, 1, 2],
                ["det", "ROOT", "prep", "pobj"])
    assert role_of(doc[3]) == "agent"
    doc = parse(["without", "the", "participation", "of", "Kyiv"], [0, 2, 0, 2, 3],
                ["ROOT", "det", "pobj", "prep", "pobj"])
    assert role_of(doc[4]) == "other"
    doc = parse(["the", "capital", "of", "Ukraine"], [1, 1, 1, 2], ["det", "ROOT", "prep", "pobj"])
    assert role_of(doc[3]) == "other"


def test_states_acting_through_their_delegations_and_the_sides_of_a_ceasefire() -> None:
    doc = parse(["representatives", "of", "Qatar"], [0, 0, 1], ["ROOT", "prep", "pobj"])
    assert role_of(doc[2]) == "proxy"
    doc = parse(["delegations", "from", "Qatar"], [0, 0, 1], ["ROOT", "prep", "pobj"])
    assert role_of(doc[2]) == "proxy"
    doc = parse(["delegations", "representing", "Ukraine"], [0, 0, 1], ["ROOT", "acl", "dobj"])
    assert role_of(doc[2]) == "proxy"
    words = ["a", "ceasefire", "between", "Israel", "and", "Hezbollah"]
    doc = parse(words, [1, 1, 1, 2, 3, 3], ["det", "ROOT", "prep", "pobj", "cc", "conj"])
    assert role_of(doc[3]) == role_of(doc[5]) == "meet"
    doc = parse(["a", "border", "between", "Israel"], [1, 1, 1, 2], ["det", "ROOT", "prep", "pobj"])
    assert role_of(doc[3]) == "other"
    doc = parse(["people", "from", "Qatar"], [0, 0, 1], ["ROOT", "prep", "pobj"])
    assert role_of(doc[2]) == "other"
    # what others act on: "sanctions on the government / the delegation of Iran"
    for noun in ("government", "delegation"):
        doc = parse(["sanctions", "on", "the", noun, "of", "Iran"], [0, 0, 3, 1, 3, 4],
                    ["ROOT", "prep", "det", "pobj", "prep", "pobj"])
        assert role_of(doc[5]) == "other"


def test_demonym_acts_through_forces_but_not_through_a_title() -> None:
    doc = parse(["Russian", "forces", "attacked"], [1, 2, 2], ["amod", "nsubj", "ROOT"])
    assert role_of(doc[0]) == "proxy"
    doc = parse(["Russian", "President", "Putin", "said"], [1, 2, 3, 3],
                ["amod", "compound", "nsubj", "ROOT"])
    assert role_of(doc[0]) == "other"


def test_reporter_credit_is_not_acting() -> None:
    doc = parse(["Smith", "contributed", "to", "this", "report"], [1, 1, 1, 4, 2],
                ["nsubj", "ROOT", "prep", "det", "pobj"])
    assert role_of(doc[0]) == "reporter"


def test_without_a_parse_everything_is_other() -> None:
    doc = Doc(VOCAB, words=["Moscow", "demands"])
    assert role_of(doc[0]) == "other"
