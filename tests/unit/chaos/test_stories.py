"""Story checks of a chaos run against the ground truth: split groups, merged groups, and the
difference of two runs' partitions (story ids are names; only the partition counts)."""

from __future__ import annotations

from chaos.stories import check, difference, partition

GROUPS = {1: 1, 2: 1, 3: 1, 4: 4, 5: 4, 6: 6, 7: 7}


def test_one_story_per_group_passes() -> None:
    stories = {1: "s1", 2: "s1", 3: "s1", 4: "s4", 5: "s4", 6: "s6", 7: "s7"}
    report = check(GROUPS, stories)
    assert (report.groups, report.stories, report.split_groups, report.merged_groups) == (
        2,
        4,
        0,
        0,
    )


def test_a_split_group_and_merged_groups_are_counted_and_listed() -> None:
    stories = {1: "s1", 2: "s1", 3: "x", 4: "s4", 5: "s4", 6: "s4", 7: "s4"}
    report = check(GROUPS, stories)
    assert report.split == {1: {"s1": [1, 2], "x": [3]}}
    assert report.merged == {"s4": [4, 6, 7]}
    assert (report.split_groups, report.merged_groups) == (1, 2)
    assert report.examples()["split"] == [{"group": 1, "stories": {"s1": [1, 2], "x": [3]}}]


def test_a_group_with_one_article_stored_is_not_a_near_duplicate_group() -> None:
    report = check(GROUPS, {1: "s1", 4: "s4", 6: "s6"})  # losses are counted elsewhere
    assert report.groups == 0 and report.split_groups == 0


def test_the_same_partition_under_other_names_is_no_difference() -> None:
    a = {1: "a", 2: "a", 3: "b"}
    b = {1: "z", 2: "z", 3: "y", 9: "only in b"}  # items one run lacks are left out
    assert partition(a) == {frozenset({1, 2}), frozenset({3})}
    assert difference(a, b) == ([], [])


def test_a_different_partition_prints_the_stories_each_side_lacks() -> None:
    one = {1: "a", 2: "a", 3: "a", 4: "d"}
    two = {1: "p", 2: "p", 3: "q", 4: "r"}
    assert difference(one, two) == ([[1, 2, 3]], [[1, 2], [3]])
