from __future__ import annotations

from process.salience import Features, salience


def test_actors_that_act_are_principal_others_not() -> None:
    assert salience(Features(mentions=1, acting=1, in_title=False, first=0.9)) >= 0.5
    assert salience(Features(mentions=9, acting=0, in_title=True, first=0.0)) < 0.5


def test_more_presence_means_more_salience() -> None:
    low = salience(Features(mentions=1, acting=1, in_title=False, first=0.9))
    high = salience(Features(mentions=6, acting=3, in_title=True, first=0.0))
    assert 0.5 <= low < high <= 1.0


def test_states_named_once_in_an_article_are_not_principal() -> None:
    f = Features(mentions=1, acting=1, in_title=False, first=0.5, person=False)
    assert salience(f) < 0.5
    assert salience(Features(mentions=1, acting=1, in_title=False, first=0.5, person=False,
                             short=True)) >= 0.5


def test_a_passing_quote_in_a_long_article_is_not_principal() -> None:
    assert salience(Features(mentions=1, acting=1, in_title=False, first=0.5, long=True)) < 0.5


def test_without_a_parse_title_or_repetition_decides() -> None:
    assert salience(Features(mentions=3, acting=0, in_title=False, first=0.1, parsed=False)) >= 0.5
    assert salience(Features(mentions=1, acting=0, in_title=False, first=0.1, parsed=False)) < 0.5


def test_a_person_known_by_one_word_only_is_never_principal() -> None:
    from process.actors import aggregate_actors
    from process.mentions import ActorMention

    def said(name: str, start: int) -> ActorMention:
        return ActorMention(name, "person", None, "speaker", True, start, False)

    from process.salience import load_salience

    mentions = [said("Breakthrough", 0), said("Breakthrough", 90), said("Cerelyn Davis", 40),
                said("Cerelyn Davis", 120), said("Blumenthal", 200), said("Blumenthal", 260)]
    mentions[-1] = ActorMention("Blumenthal", "person", None, "speaker", False, 260, False, True)
    for model in (None, load_salience()):
        actors = {a.name: a for a in aggregate_actors(mentions, length=400, model=model)}
        assert actors["Cerelyn Davis"].salience >= 0.5  # the same evidence, a full name
        assert actors["Blumenthal"].salience >= 0.5  # after a title: "Senator Blumenthal"
        assert actors["Breakthrough"].salience < 0.5


def test_who_acts_most_beside_the_others() -> None:
    from process.mentions import ActorMention
    from process.salience import features

    def m(name: str, role: str, start: int) -> ActorMention:
        return ActorMention(name, "person", None, role, False, start, True)  # type: ignore[arg-type]

    talks = [m("Umerov", "speaker", 0), m("Umerov", "agent", 50), m("Umerov", "meet", 90)]
    host = [m("Fidan", "speaker", 20), m("Fidan", "other", 70)]
    venue = [m("Erdogan", "other", 120)]
    groups = [talks, host, venue]
    first, second, third = (features(g, 400, True, groups) for g in groups)
    assert (first.acting_share, first.acting_top, first.acting_rank) == (0.75, 1.0, 0.0)
    assert (second.acting_share, round(second.acting_top, 3), second.acting_rank) == (
        0.25, 0.333, 0.5)
    assert (third.acting_share, third.acting_top, third.acting_rank) == (0.0, 0.0, 1.0)
    assert first.acting_actors == second.acting_actors == third.acting_actors == 2
