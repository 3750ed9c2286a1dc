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
    also = [m("Lavrov", "speaker", 30)]
    venue = [m("Erdogan", "other", 120)]
    idle = [m("Guterres", "other", 150)]
    groups = [talks, host, also, venue, idle]
    got = [features(g, 400, True, groups) for g in groups]
    # the first acts most; a tie shares its place; whoever does not act is last
    assert [f.acting_rank for f in got] == [0.0, 1 / 3, 1 / 3, 1.0, 1.0]
    assert {f.acting_actors for f in got} == {3}
    # a copy of the actor's mentions counts as itself, not as one more actor
    assert features(list(talks), 400, True, groups) == got[0]
    # alone in its article, with no others given, or built by hand: the same
    assert features(talks, 400, True, [talks]) == features(talks, 400)
    alone = features(talks, 400)
    assert (alone.acting_rank, alone.acting_actors) == (0.0, 1)
    quiet = Features(mentions=1, acting=0, in_title=False, first=0.5)
    assert (quiet.acting_rank, quiet.acting_actors) == (1.0, 0)


def test_nobody_acting_has_its_own_input_not_a_count_of_zero() -> None:
    import math

    from process.salience import LEARNED_FEATURES, feature_row

    row = dict(zip(LEARNED_FEATURES, feature_row(
        Features(mentions=1, acting=0, in_title=False, first=0.5, acting_actors=0)), strict=True))
    assert row["nobody_acts"] == 1.0 and row["acting_actors"] == math.log1p(1)
    row = dict(zip(LEARNED_FEATURES, feature_row(
        Features(mentions=1, acting=0, in_title=False, first=0.5, acting_actors=2)), strict=True))
    assert row["nobody_acts"] == 0.0 and row["acting_actors"] == math.log1p(2)
    # without a parse nobody is seen acting: that is no article where nobody acts (the model
    # never saw such a row, and would lift every actor of an unparsed text)
    row = dict(zip(LEARNED_FEATURES, feature_row(Features(
        mentions=1, acting=0, in_title=False, first=0.5, parsed=False, acting_actors=0)),
        strict=True))
    assert row["nobody_acts"] == 0.0
