"""The tagger's tokenizer rules on the real model."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.model


def test_a_hyphen_after_an_abbreviation_splits_like_one_after_a_letter(model_tagger) -> None:  # type: ignore[no-untyped-def]
    from process.tagger import ABBREVIATION_HYPHEN, load_vocab, split_abbreviation_hyphens

    nlp = model_tagger.nlp
    split_abbreviation_hyphens(nlp)  # idempotent: the rule is in the pattern once
    pattern = nlp.tokenizer.infix_finditer.__self__.pattern
    assert pattern.count(ABBREVIATION_HYPHEN) == 1
    assert [t.text for t in nlp.tokenizer("U.S.-Russia talks")] == ["U.S.", "-", "Russia", "talks"]
    assert [t.text for t in nlp.tokenizer("U.S.–Russia")] == ["U.S.", "–", "Russia"]
    assert [t.text for t in nlp.tokenizer("U.S.-2")] == ["U.S.-2"]
    assert [t.text for t in nlp.tokenizer("a U.S.-brokered deal")][1:4] == ["U.S.", "-", "brokered"]
    assert [t.text for t in load_vocab().tokenizer("U.S.-Russia")] == ["U.S.", "-", "Russia"]
    (tags,) = model_tagger.tag_batch([("", "U.S.-Russia talks began in Riyadh on Tuesday.")])
    assert {"United States", "Russia"} <= {a.name for a in tags.actors}
