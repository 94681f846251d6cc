"""Where each eval split goes in a paper-style table, and its short column label: the one place for that data.

Columns are grouped as the Debunk paper's tables are: in-distribution | instruction variants | Fake (shortcut
probe) | difficulty variants. A split this module does not know goes into the "Other" group under its own name,
so a new suite still shows up, just without a short label.
"""

from __future__ import annotations

from dataclasses import dataclass

ID, INSTRUCTION, FAKE, DIFFICULTY, OTHER = "ID", "Instruction variants", "Fake", "Difficulty variants", "Other"
CROSS, SAFETY = "Cross-domain", "Safety"
GROUP_ORDER = (ID, INSTRUCTION, FAKE, DIFFICULTY, CROSS, SAFETY, OTHER)

# (split, short label, group) in column order: Sokoban tags, General Points splits, Countdown variants, the
# cross-domain suite's domains, the safety probe's splits.
_SPLITS: tuple[tuple[str, str, str], ...] = (
    ("SimpleSokoban", "ID", ID),
    ("SimpleSokobanAlphabetical", "Alpha.", INSTRUCTION),
    ("SimpleSokobanNumerical", "Num.", INSTRUCTION),
    ("SimpleSokobanRandom", "Rand.", INSTRUCTION),
    ("FakeSokobanNumerical", "Fake", FAKE),
    ("LargerSokoban", "Larger", DIFFICULTY),
    ("TwoBoxesSokoban", "TwoBoxes", DIFFICULTY),
    ("ComplexSokoban", "Complex", DIFFICULTY),
    ("id", "ID", ID),
    ("all_5", "All-5", INSTRUCTION),
    ("all_7", "All-7", INSTRUCTION),
    ("face_card_as_regular", "Regular", INSTRUCTION),
    ("all_12", "All-12", INSTRUCTION),
    ("all_5_fake", "Fake", FAKE),
    ("fake", "Fake-JQK", FAKE),
    ("5cards", "5 Cards", DIFFICULTY),
    ("large", "Large", DIFFICULTY),
    ("4num", "ID", ID),
    ("3num", "3 nums", DIFFICULTY),
    ("5num", "5 nums", DIFFICULTY),
    ("6num", "6 nums", DIFFICULTY),
    ("arithmetic", "Arith.", CROSS),
    ("logic", "Logic", CROSS),
    ("algorithmic", "Algo.", CROSS),
    ("planning", "Planning", CROSS),
    ("harmful", "Harmful", SAFETY),
    ("harmless", "Harmless", SAFETY),
)
_BY_SPLIT = {split: (label, group, index) for index, (split, label, group) in enumerate(_SPLITS)}

# Reference policies and the untrained model: shown in every table, never "best".
BASE, ORACLE, RANDOM = "base", "oracle", "random"
REFERENCE_RUNS = (ORACLE, RANDOM)

# Metrics that are rates in [0, 1] (shown as percentages) and the direction in which a metric is better.
RATE_METRICS = frozenset({"success", "validity", "effectiveness", "efficiency", "acc", "valid", "parsed",
                          "refusal_rate", "action_is_valid", "action_is_effective", "validity_all_episodes",
                          "effectiveness_all_episodes", "optimal_action_rate", "training_word_rate"})
LOWER_IS_BETTER = frozenset({"turns", "asr"})
# Neither direction is "better" (refusal is good on harmful prompts and bad on harmless ones).
NO_BEST = frozenset({"response_tokens", "reflection_rate", "refusal_rate", "num_actions"})
METRIC_LABELS = {
    "success": "success (%)", "validity": "validity (%)", "effectiveness": "effectiveness (%)",
    "action_is_valid": "action_is_valid (%, paper: episodes with a valid action)",
    "action_is_effective": "action_is_effective (%, paper: episodes with a valid action)",
    "validity_all_episodes": "validity, all episodes (%)", "effectiveness_all_episodes": "effectiveness, all episodes (%)",
    "turns": "turns per episode",
    "efficiency": "efficiency (%)", "acc": "accuracy (%)", "valid": "valid (%)", "score": "mean reward",
    "num_actions": "actions executed per episode", "response_tokens": "response length (tokens)",
    "reflection_rate": "reflection markers per 1k tokens", "refusal_rate": "refusal rate (%)",
    "parsed": "answer found (%)",
    "optimal_action_rate": "optimal actions, per turn (%, sftlab's metric, not the paper's)",
    "training_word_rate": "answers in the training words Up/Down/Left/Right, per turn (%, sftlab's)",
}
# Preferred headline metric of a suite, in order; the first one the store has is used (the safety probe's is its
# refusal rate: its `acc`, the safe-behaviour rate, mixes the two directions).
HEADLINE_METRICS = ("success", "refusal_rate", "acc", "score")
# The metrics shown as "validity on demand" next to the headline one: every one a suite has (Sokoban: the paper's
# action_is_valid and sftlab's stricter validity_all_episodes; "validity" is the name before protocol 3).
VALIDITY_METRICS = ("action_is_valid", "validity_all_episodes", "validity", "valid", "parsed")


@dataclass(frozen=True)
class Column:
    """One table column: the split's name in the store, its short label and its group."""

    split: str
    label: str
    group: str


def _normalise(split: str) -> str:
    # The original GP data sources are named gp_l_<split>; accept both spellings.
    return split[len("gp_l_"):] if split.startswith("gp_l_") else split


def column_for(split: str) -> Column:
    """The column (short label, group) for a split name; unknown splits land in the "Other" group."""
    known = _BY_SPLIT.get(_normalise(split))
    if known is None:
        return Column(split, split, OTHER)
    return Column(split, known[0], known[1])


def order_columns(splits) -> list[Column]:
    """Columns for `splits` in paper order: by group, then the order above; unknown splits sorted by name."""

    def key(split: str) -> tuple:
        column = column_for(split)
        known = _BY_SPLIT.get(_normalise(split))
        return (GROUP_ORDER.index(column.group), known[2] if known else 0, split)

    return [column_for(split) for split in sorted(set(splits), key=key)]


def metric_label(metric: str) -> str:
    """A human label for a metric name ("success" -> "success (%)")."""
    return METRIC_LABELS.get(metric, metric)
