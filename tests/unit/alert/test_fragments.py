"""Matched text: the title and one or two sentences with the matcher's terms marked (pure),
and how each channel renders them."""

from __future__ import annotations

from alert import templates
from alert.fragments import fragments, render, segments, sentences
from newsmon.query import compile_query

DOC = {
    "title": "Putin agrees to ceasefire talks in Istanbul",
    "text": (
        "MOSCOW (Reuters) - Russian President Vladimir Putin said on Sunday he was ready for "
        "direct peace talks with Ukraine. Mr. Zelensky said a ceasefire must come first. U.S. "
        "officials welcomed the news.\nA second paragraph mentions nothing of note. The Kremlin "
        "declined to comment on the cease-fire proposal."
    ),
    "actor": ["Vladimir Putin"],
}


def fired(query: str) -> dict[str, object]:
    """What an alert carries: fragments from the ``matched`` of the matcher that fired."""
    matched = compile_query(query).explain(DOC)
    assert matched is not None
    return fragments(DOC, matched)


def test_terms_are_marked_in_the_title_and_the_best_sentence() -> None:
    out = fired("ceasefire")
    assert out["title"] == "Putin agrees to <em>ceasefire</em> talks in Istanbul"
    assert out["text"] == ["Mr. Zelensky said a <em>ceasefire</em> must come first."]


def test_phrases_are_marked_whole_and_keyword_matches_mark_nothing() -> None:
    out = fired('"peace talks" AND actor:"Vladimir Putin"')
    assert out["title"] == DOC["title"]  # "talks" alone is not the phrase
    assert out["text"] == [
        "MOSCOW (Reuters) - Russian President Vladimir Putin said on Sunday he was ready for "
        "direct <em>peace talks</em> with Ukraine."
    ]


def test_two_sentences_in_text_order_for_two_terms_and_wildcards_by_their_terms() -> None:
    out = fired("kremlin OR zelensky")
    assert out["text"] == [
        "Mr. <em>Zelensky</em> said a ceasefire must come first.",
        "The <em>Kremlin</em> declined to comment on the cease-fire proposal.",
    ]
    assert fired("cease*")["text"][1].endswith("on the <em>cease</em>-fire proposal.")


def test_a_title_only_match_keeps_the_lead_sentence_unmarked() -> None:
    out = fired("title:istanbul")
    assert out["title"].endswith("in <em>Istanbul</em>")
    assert out["text"][0].startswith("MOSCOW (Reuters)") and "<em>" not in out["text"][0]


def test_sentences_skip_abbreviations_and_initials() -> None:
    text = "Gen. V. Smith met Mr. Lee in the U.S. on Friday. They spoke. «Нет», сказал он."
    assert [text[a:b].strip() for a, b in sentences(text)] == [
        "Gen. V. Smith met Mr. Lee in the U.S. on Friday.",
        "They spoke.",
        "«Нет», сказал он.",
    ]


def test_a_long_sentence_is_cut_around_its_mark() -> None:
    long = "word " * 120 + "the ceasefire holds " + "more " * 120 + "."
    (piece,) = fragments({"title": "", "text": long}, ["ceasefire"])["text"]
    assert "<em>ceasefire</em>" in piece and len(piece) < 320
    assert piece.startswith("… ") and piece.endswith(" …")


def test_cyrillic_terms_are_found_by_the_same_analyzer() -> None:
    doc = {"title": "Перемирие", "text": "Стороны обсудили перемирие в Стамбуле. Погода."}
    out = fragments(doc, compile_query("перемирие").explain(doc) or [])
    assert out == {
        "title": "<em>Перемирие</em>",
        "text": ["Стороны обсудили <em>перемирие</em> в Стамбуле."],
    }


def test_channels_render_the_marks_their_own_way() -> None:
    piece = "a <em>cease&fire</em> <b>"
    assert segments(piece) == [("a ", False), ("cease&fire", True), (" <b>", False)]
    assert render(piece, "*", "*") == "a *cease&fire* <b>"
    payload = {
        "kind": "alert",
        "rule": "r",
        "title": "T",
        "url": "https://x.org/1",
        "matched": ["ceasefire"],
        "fragments": fired("ceasefire"),
    }
    assert "  > Mr. Zelensky said a **ceasefire** must come first." in templates.text_body(payload)
    assert "<mark>ceasefire</mark>" in templates.html_body(payload)
    slack = templates.slack_message(payload)["blocks"][2]["elements"]
    assert any(e["text"] == "> Mr. Zelensky said a *ceasefire* must come first." for e in slack)
    assert "fragment" in templates.PLACEHOLDERS
    assert templates.fill("{fragment}", payload).startswith("Putin agrees to **ceasefire**")
