from __future__ import annotations

from process.headline import is_headline_cased, trim_headline_tokens

KNOWN = {"zelensky", "trump", "putin"}


def known(text: str) -> bool:
    return text.lower() in KNOWN


def test_known_name_inside_a_headline_span_wins() -> None:
    assert trim_headline_tokens(("Zelensky", "Invites"), known) == ("Zelensky",)
    assert trim_headline_tokens(("Trump", "Calls"), known) == ("Trump",)


def test_unknown_names_lose_headline_words_at_both_ends() -> None:
    assert trim_headline_tokens(("Jayapal", "Says"), known) == ("Jayapal",)
    assert trim_headline_tokens(("Read", "More", "Nadezhdin"), known) == ("Nadezhdin",)


def test_words_the_article_uses_in_lower_case_are_stripped() -> None:
    assert trim_headline_tokens(("Pocan", "Retracts"), known, {"retracts"}) == ("Pocan",)


def test_a_span_of_headline_words_is_no_name() -> None:
    assert trim_headline_tokens(("Peace", "Deal"), known) == ()


def test_title_case_lines() -> None:
    assert is_headline_cased("Zelensky Invites Putin to Istanbul for Peace Talks")
    assert is_headline_cased("Trump Calls for Immediate Talks")
    assert not is_headline_cased("2nd round of talks between Russia and Ukraine end with no truce")
    assert not is_headline_cased("Putin said the talks would go on.")
