"""Diversity pools: the action-word pool for diverse Sokoban prompts and the face-card mappings for diverse GP.

Sokoban (spec 3.3): each diverse example draws 4 distinct words from the original 210-entry pool, mapped in order
to Up, Down, Left, Right; the prompt shows them with a "where w1 is Up, ..." line and the demonstration answers in
the same words. The original pool lists mouse, fish, orange and lime twice (a duplicate draw could crash it); ours
keeps the first occurrence of each word, so it has 206 distinct words.

General Points (spec 2, 5): the diverse training set cycles through the 8 face-card mappings of the `mixed` preset,
in equal consecutive blocks (paper: 8 x 1250 hands).

Training and evaluation vocabularies must never meet: the check below runs at import time against every label of
the paper's eval variants (and the extra Cardinal/Emoji ones), and `check_disjoint_from_variants` repeats it at
build time against the live Sokoban variant table.
"""

from __future__ import annotations

import numpy as np

# Spec 3.3, seven categories of 30 entries, in the original order.
_CATEGORIES: dict[str, str] = {
    "animals": "cat dog bird fish lion tiger bear wolf fox deer eagle hawk owl duck swan frog snake turtle rabbit "
    "mouse elephant giraffe zebra monkey panda koala dolphin whale shark butterfly",
    "nature": "tree flower leaf rock stone water fire wind earth sun moon star cloud rain snow mountain valley "
    "river ocean forest desert island beach cave volcano meadow field garden pond lake",
    "colours": "red blue green yellow orange purple pink brown black white gray silver gold copper bronze maroon "
    "navy teal lime olive aqua crimson scarlet amber jade ruby sapphire emerald pearl coral",
    "objects": "book pen cup key phone chair table lamp door window box bag hat shoe clock mirror brush knife fork "
    "spoon plate bowl bottle glass camera computer keyboard mouse screen speaker",
    "food": "apple banana orange grape cherry strawberry peach pear lemon lime bread cheese milk egg meat fish rice "
    "pasta pizza burger salad soup cake cookie candy chocolate honey sugar salt pepper",
    "actions": "run jump fly swim walk dance sing laugh cry sleep wake eat drink play work study read write draw "
    "paint build create fix open close start stop move push pull",
    "abstract": "happy quick bright calm strong wise kind brave gentle fierce magic power energy force spirit dream "
    "hope love peace freedom truth beauty wonder mystery secret destiny luck chance victory glory",
}

RAW_POOL: tuple[str, ...] = tuple(word for text in _CATEGORIES.values() for word in text.split())
WORD_POOL: tuple[str, ...] = tuple(dict.fromkeys(RAW_POOL))  # first occurrence kept, order preserved

# Every label any eval variant shows or accepts (spec 1.4, 3.2), including the extras not in the paper's eval list.
EVAL_LABELS: frozenset[str] = frozenset(
    ["Up", "Down", "Left", "Right", "A", "B", "C", "D", "1", "2", "3", "4", "*", "&", "M"]
    + ["North", "South", "West", "East", "⬆️", "⬇️", "⬅️", "➡️", "⬆", "⬇", "⬅", "➡"]
)


def _fold(labels) -> set[str]:
    return {str(label).strip().casefold() for label in labels}


def _check_pool() -> None:
    assert len(RAW_POOL) == 210, f"the spec's pool has 210 entries, found {len(RAW_POOL)}"
    assert len(WORD_POOL) == 206, f"expected 206 distinct words after dedup, found {len(WORD_POOL)}"
    clash = _fold(WORD_POOL) & _fold(EVAL_LABELS)
    # The env matches labels case-insensitively, so the check is case-insensitive too.
    assert not clash, f"diverse word pool contains eval labels: {sorted(clash)}"


_check_pool()


def diverse_labels(seed: int, index: int) -> tuple[str, str, str, str]:
    """The 4 distinct pool words for example `index` of a build with `seed`, in Up, Down, Left, Right order.

    Deterministic: a numpy Generator seeded with the pair (seed, index), independent of any other example, so a
    row's words do not change when the dataset is made larger or smaller.
    """
    rng = np.random.default_rng([int(seed), int(index)])
    picked = rng.choice(len(WORD_POOL), size=4, replace=False)
    return tuple(WORD_POOL[int(i)] for i in picked)  # type: ignore[return-value]


def check_disjoint_from_variants(variants) -> None:
    """Raise AssertionError if any pool word equals (case-insensitively) a label of any given Sokoban variant."""
    labels: set[str] = set()
    for variant in variants:
        labels |= _fold(variant.prompt_labels) | _fold(variant.accepted_labels)
    clash = _fold(WORD_POOL) & labels
    assert not clash, f"diverse word pool contains eval labels: {sorted(clash)}"


def mixed_mapping(index: int, n: int, preset: tuple[str, ...]) -> str:
    """The face-card mapping of hand `index` out of `n` in the diverse GP set: equal consecutive blocks."""
    if not 0 <= index < n:
        raise IndexError(f"hand index {index} outside 0..{n - 1}")
    return preset[index * len(preset) // n]


def check_gp_disjoint(train_mappings, eval_prompt_mappings) -> None:
    """Raise AssertionError if a GP training mapping is one a non-ID eval split states in its prompt."""
    clash = set(train_mappings) & set(eval_prompt_mappings)
    assert not clash, f"GP training mappings overlap the eval rule variants: {sorted(clash)}"
