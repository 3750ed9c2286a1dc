from __future__ import annotations

from process.names import clean_person_name, resolve_surnames
from process.normalize import fold


def test_surname_resolves_to_the_full_name_seen_in_the_article() -> None:
    mapping = resolve_surnames(["Pramila Jayapal", "Jayapal", "Ro Khanna", "Khanna"])
    assert mapping == {"Jayapal": "Pramila Jayapal", "Khanna": "Ro Khanna"}


def test_first_name_resolves_when_unique() -> None:
    assert resolve_surnames(["Roman Abramovich", "Roman"]) == {"Roman": "Roman Abramovich"}


def test_ambiguous_surname_is_left_alone() -> None:
    assert resolve_surnames(["Boris Johnson", "Mike Johnson", "Johnson"]) == {}


def test_chains_resolve_to_the_longest_name() -> None:
    mapping = resolve_surnames(["Joseph R. Biden", "R. Biden", "Biden"])
    assert mapping["Biden"] == "Joseph R. Biden"


def test_honorifics_and_possessives_are_stripped() -> None:
    assert clean_person_name(["Sir", "Keir", "Starmer", "'s"]) == ("Keir", "Starmer")
    assert clean_person_name(["Ms.", "Jayapal"]) == ("Jayapal",)
    assert clean_person_name(["President"]) == ("President",)


def test_fold_meets_spelling_variants() -> None:
    assert fold("Erdoğan") == fold("Erdogan")
    assert fold("Türkiye") == "turkiye"
    assert fold("Zelensky\u2019s") == "zelensky's"


def test_an_owner_before_a_possessive_and_stray_brackets_are_not_the_name() -> None:
    assert clean_person_name(["National", "Review", "\u2019s", "Desmond", "Lachman"]) == (
        "Desmond", "Lachman")
    assert clean_person_name(["Ukraine's", "Foreign", "Minister", "Pavel", "]", "Klimkin"]) == (
        "Pavel", "Klimkin")
    assert clean_person_name(["Presidential", "Spokesman", "Serhiy", "Nikiforov"]) == (
        "Serhiy", "Nikiforov")
    assert clean_person_name(["Abdel", "-", "Fattah"]) == ("Abdel", "-", "Fattah")
