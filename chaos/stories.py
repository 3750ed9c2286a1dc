"""The stories Elasticsearch holds, against the world's ground truth (pure).

Every group of near-duplicates (an original and its syndicated copies) must have exactly one
``story_id``, and no two groups may share one. :func:`check` finds the groups *split* over
several stories and the stories that *merged* groups; :func:`difference` compares two runs'
story partitions of the same world (story ids differ between runs: a story is named after the
article that founded it, and the articles' URLs carry the feed server's port; the partition of
the world's items into stories must not).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

EXAMPLES = 20  # split groups / merged stories listed in the result line


@dataclass(frozen=True)
class StoryReport:
    groups: int  # near-duplicate groups (two or more articles stored)
    stories: int  # distinct story ids
    split: dict[int, dict[str, list[int]]]  # group -> its stories -> their items
    merged: dict[str, list[int]]  # story -> the groups it holds (two or more)

    @property
    def split_groups(self) -> int:
        return len(self.split)

    @property
    def merged_groups(self) -> int:
        """Groups that went into another group's story (a story of k groups counts k - 1)."""
        return sum(len(gs) - 1 for gs in self.merged.values())

    def examples(self) -> dict[str, Any]:
        return {
            "split": [{"group": g, "stories": s} for g, s in sorted(self.split.items())[:EXAMPLES]],
            "merged": [
                {"story": s, "groups": gs} for s, gs in sorted(self.merged.items())[:EXAMPLES]
            ],
        }


def check(groups: Mapping[int, int], stories: Mapping[int, str]) -> StoryReport:
    """``groups``: item → its ground-truth group; ``stories``: item → story id, for the
    items stored (an item missing there is a loss, counted elsewhere)."""
    by_group: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    by_story: dict[str, set[int]] = defaultdict(set)
    for item, story in stories.items():
        by_group[groups[item]][story].append(item)
        by_story[story].add(groups[item])
    sizes: dict[int, int] = defaultdict(int)
    for item in stories:
        sizes[groups[item]] += 1
    return StoryReport(
        groups=sum(1 for n in sizes.values() if n >= 2),
        stories=len(by_story),
        split={
            g: {s: sorted(items) for s, items in ss.items()}
            for g, ss in by_group.items()
            if len(ss) > 1
        },
        merged={s: sorted(gs) for s, gs in by_story.items() if len(gs) > 1},
    )


def partition(stories: Mapping[int, str]) -> set[frozenset[int]]:
    """The items grouped by story, ids dropped."""
    blocks: dict[str, set[int]] = defaultdict(set)
    for item, story in stories.items():
        blocks[story].add(item)
    return {frozenset(b) for b in blocks.values()}


def difference(
    a: Mapping[int, str], b: Mapping[int, str]
) -> tuple[list[list[int]], list[list[int]]]:
    """The stories (as sorted item lists) of ``a`` that ``b`` does not have, and of ``b`` that
    ``a`` does not have, over the items both stored; empty and empty: the same partition."""
    both = a.keys() & b.keys()
    pa = partition({i: s for i, s in a.items() if i in both})
    pb = partition({i: s for i, s in b.items() if i in both})
    return sorted(sorted(x) for x in pa - pb), sorted(sorted(x) for x in pb - pa)
