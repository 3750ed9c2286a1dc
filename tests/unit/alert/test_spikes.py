"""Spike arithmetic (pure): grid, baseline, threshold, the diversity gate, publishers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alert.spikes import (
    EPOCH,
    STEPS,
    Baseline,
    Limit,
    Moments,
    SpikeSpec,
    SpikeState,
    decide,
    fold,
    publisher,
    spec_of,
    summarize,
    timely,
    window_counts,
)

SPEC = SpikeSpec()  # 1 h windows, k = 3, 3 publishers, at least 5
T = datetime(2025, 5, 12, 10, 0, tzinfo=UTC)  # a Monday


def hit(n: int, site: str, minute: int = 0, story: str | None = None) -> dict[str, Any]:
    return {
        "article_id": f"a{n}",
        "story_id": story or f"s{n}",
        "at": (T + timedelta(minutes=minute)).isoformat(),
        "url": f"https://www.{site}/news/{n}",
        "source": site.split(".")[0].title(),
    }


def test_the_grid_slides_by_a_quarter_window_from_monday_midnight_utc() -> None:
    assert SPEC.step == 900 and SPEC.slots == 672
    tick = SPEC.tick(T)
    assert SPEC.start(tick) == T and SPEC.slot(tick) == 40  # Monday 10:00 is step 40
    start, end = SPEC.bounds(tick)
    assert (start, end) == (T - timedelta(minutes=45), T + timedelta(minutes=15))
    assert SPEC.tick(EPOCH) == 0 and SPEC.tick(EPOCH - timedelta(seconds=1)) == -1
    assert spec_of({"k": 4.0, "window": None}).k == 4.0
    assert spec_of({"window": timedelta(hours=2)}).step == 1800


def test_moments_start_as_a_plain_average_then_forget_with_the_half_life() -> None:
    m = Moments()
    for x in (4.0, 6.0):
        m = m.add(x, 0.01)
    assert (m.mean, m.dev, m.n) == (5.0, 1.0, 2)  # the first value has nothing to deviate from
    fast = Moments(5.0, 1.0, 1000).add(15.0, 0.5)
    assert fast.mean == 10.0 and fast.dev == 5.5


def test_a_slot_leans_on_the_overall_level_until_it_has_seen_a_few_weeks() -> None:
    level = Moments(10.0, 2.0, 500)
    young = Baseline(level, {3: Moments(1.0, 0.0, 1)})
    assert young.expected(3) == pytest.approx((1 / 3 * 1.0 + 2 / 3 * 10.0, 2 / 3 * 2.0))
    assert young.expected(4) == (10.0, 2.0)
    old = Baseline(level, {3: Moments(1.0, 0.5, 98)})
    assert old.expected(3)[0] == pytest.approx(0.98 * 1.0 + 0.02 * 10.0)


def test_threshold_is_k_times_mean_plus_deviation_with_a_floor_and_a_warmup() -> None:
    warm = Baseline(Moments(6.0, 2.0, SPEC.warmup_ticks))
    assert warm.threshold(0, SPEC) == (24.0, 8.0)
    quiet = Baseline(Moments(0.2, 0.3, SPEC.warmup_ticks))
    assert quiet.threshold(0, SPEC) == (5.0, pytest.approx(0.5))  # min_count
    assert Baseline(Moments(6.0, 2.0, SPEC.warmup_ticks - 1)).threshold(0, SPEC) is None


def test_fold_fixes_each_limit_four_steps_ahead_and_a_spike_barely_moves_the_baseline() -> None:
    start = SpikeState(folded=-1)
    calm = fold(start, {j: (6, 6) for j in range(200)}, 199, SPEC)
    assert calm.folded == 199 and calm.baseline.level.n == 200
    assert set(calm.limits) == {200, 201, 202, 203}  # window j's limit is fixed when j-4 folds
    assert calm.limits[203].stories == (pytest.approx(18.0), pytest.approx(6.0))
    spiked = fold(calm, {200: (60, 60)}, 200, SPEC)
    assert spiked.baseline.level.mean < 6.1  # folded as mean + 2 deviations, not as 60
    again = SpikeState.from_doc(spiked.to_doc())
    assert again == spiked
    articles = fold(
        SpikeState(folded=-1), {j: (6, 9) for j in range(200)}, 199, SpikeSpec(count="articles")
    )
    assert articles.limits[203].of("articles")[0] == pytest.approx(27.0)
    assert articles.limits[203].of("stories")[0] == pytest.approx(18.0)


def test_window_counts_slide_and_count_stories_and_articles() -> None:
    hits = [hit(1, "a.org"), hit(2, "b.org", 20, story="s1"), hit(3, "c.org", 50)]
    counts = window_counts(hits, SPEC.tick(T) - 1, SPEC.tick(T) + 4, SPEC)
    tick = SPEC.tick(T)
    assert counts[tick - 1] == (0, 0)
    assert counts[tick] == (1, 1)  # 09:15-10:15
    assert counts[tick + 1] == (1, 2)  # a1 and its copy b2: one story, two articles
    assert counts[tick + 3] == (2, 3)
    assert counts[tick + 4] == (2, 2)  # 10:00-10:15 slid out: a1 gone, its copy stays


def test_publisher_is_the_site_of_the_url() -> None:
    assert publisher({"url": "https://news.bbc.co.uk/x"}) == "bbc.co.uk"
    assert publisher({"url": "https://www.pravda.com.ua/x"}) == "pravda.com.ua"
    assert publisher({"url": "https://edition.cnn.com/x"}) == "cnn.com"
    assert publisher({"url": "https://meduza.io/x"}) == "meduza.io"
    assert publisher({"url": "", "source": "Wire"}) == "Wire"


LIMIT = Limit((15.0, 5.0))  # threshold 15, usual 5: the gate wants > 10 stories without the top 2


def test_a_rise_from_many_publishers_fires() -> None:
    hits = [hit(p * 10 + i, f"pub{p}.org", i) for p in range(6) for i in range(4)]
    decision = decide(summarize(hits, "stories"), LIMIT, SPEC)
    assert decision.fire and decision.count == 24 and decision.publishers == 6
    assert decision.rest == 16


def test_one_busy_newsroom_never_fires_even_with_a_busy_background() -> None:
    busy = [hit(i, "live.org", i % 40) for i in range(40)]
    background = [hit(100 + i, f"pub{i}.org", i) for i in range(10)]  # twice the usual
    decision = decide(summarize(busy + background, "stories"), LIMIT, SPEC)
    assert not decision.fire and "too few publishers" in decision.reason
    assert decision.count == 50 and decision.publishers == 11


def test_syndicated_copies_count_once_for_the_first_publisher() -> None:
    wire = [hit(i, f"outlet{i}.org", i, story="wire-1") for i in range(40)]
    summary = summarize(wire, "articles")
    assert summary.count == 40 and summary.stories == 1
    assert summary.publishers == {"outlet0.org": 1}
    assert summary.lines[0].articles == 40 and len(summary.lines[0].sources) == 40
    limit = Limit((15.0, 5.0), (15.0, 5.0))
    decision = decide(summary, limit, SpikeSpec(count="articles"))
    assert not decision.fire and "fewer than 3" in decision.reason


def test_two_publishers_are_not_three() -> None:
    hits = [hit(i, "a.org", i) for i in range(15)] + [hit(50 + i, "b.org", i) for i in range(15)]
    hits.append(hit(99, "c.org", 5))
    decision = decide(summarize(hits, "stories"), LIMIT, SPEC)
    assert not decision.fire and decision.rest == 1


def test_below_threshold_or_warming_up_does_not_fire() -> None:
    hits = [hit(i, f"pub{i}.org", i) for i in range(12)]
    assert "not above the threshold" in decide(summarize(hits, "stories"), LIMIT, SPEC).reason
    assert "warming up" in decide(summarize(hits, "stories"), None, SPEC).reason


def test_summary_ranks_stories_by_spread() -> None:
    hits = [
        hit(1, "a.org", 0),
        hit(2, "b.org", 1, story="s3"),
        hit(3, "c.org", 0),
        hit(4, "d.org", 2, story="s3"),
    ]
    lines = summarize(hits, "stories").lines
    assert [line.story_id for line in lines] == ["s3", "s1"]
    assert lines[0].publisher == "c.org" and lines[0].sources == ("C", "B", "D")
    assert STEPS == 4


def test_old_items_found_late_do_not_count() -> None:
    def doc(published: str | None) -> dict[str, Any]:
        return {"published": published} if published else {}

    assert timely(doc(None), T, SPEC)
    assert timely(doc((T - timedelta(hours=2, minutes=59)).isoformat()), T, SPEC)
    assert not timely(doc((T - timedelta(hours=3, minutes=1)).isoformat()), T, SPEC)
    assert not timely(doc("2024-01-01T00:00:00Z"), T, SPEC)  # an archive item
    assert timely(
        doc((T - timedelta(hours=7)).isoformat()), T, SpikeSpec(window=timedelta(hours=4))
    )
    assert timely(doc("not a date"), T, SPEC)
