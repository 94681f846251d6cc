"""General Points rows: training hands (fixed J/Q/K = 10, or the 8 `mixed` mappings) and the 9-split eval suite.

Training (spec 5): 4 cards in 1..13, target 24, no forced face card (ood=False), one row per hand. The fixed set
uses `all_10`; the diverse set gives hand i of n the mapping `MIXED_PRESET[8 i // n]` (equal blocks, as the
paper's 8 x 1250). Hands come from `sftlab.tasks.general_points.deal` with consecutive candidate seeds; a seed
with no solvable hand, or whose hand is an eval hand (leakage), is skipped.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

from sftlab.task_adapters.rows import completion_text, make_row, row_rng, train_seed_base

FIXED_MAPPING = "all_10"
TARGET = 24
NUM_CARDS = 4


@functools.lru_cache(maxsize=200_000)
def _deal(seed: int, mapping: str):
    from sftlab.tasks.general_points import deal

    return deal(seed, num_cards=NUM_CARDS, largest_card=13, ood=False, mapping=mapping, target=TARGET)


def hand_key(row: dict) -> str:
    """The leakage key of a General Points row: the cards as shown (in order), the stated mapping, the target."""
    meta = row["metadata"]
    return f"{meta['mapping']}|{row['answer']['target']}|{','.join(meta['cards'])}"


def check_mappings(diverse: bool) -> None:
    """Assert that no training mapping is the stated rule of a non-ID eval split (All-5, All-7, 11/12/13 ...)."""
    from sftlab.prompts.diversity import check_gp_disjoint
    from sftlab.tasks.general_points import MIXED_PRESET, SPLITS

    train = MIXED_PRESET if diverse else (FIXED_MAPPING,)
    check_gp_disjoint(train, {s.prompt_mapping for s in SPLITS.values() if s.prompt_mapping != FIXED_MAPPING})


def _row(spec_name: str, index: int, hand, diverse: bool, completion: str | None) -> dict:
    from sftlab.prompts.general_points import user_prompt

    return make_row(
        id=f"{spec_name}-{index:06d}", task="general_points", split="train",
        variant="diverse" if diverse else "fixed", seed=hand.seed,
        prompt=user_prompt(hand.cards, hand.prompt_mapping, target=hand.target, training=diverse),
        completion=completion,
        answer={"numbers": list(hand.values), "target": hand.target},
        metadata={"cards": list(hand.cards), "mapping": hand.prompt_mapping, "value_mapping": hand.mapping,
                  "solutions": list(hand.solutions)},
    )


def train_rows(config, eval_keys: set[str], progress: bool, skip_leaks: bool) -> tuple[list[dict], dict]:
    """The training rows of a General Points preset, and counts for the manifest."""
    from tqdm import tqdm

    from sftlab.demos.answer_only import gp_answer_only
    from sftlab.demos.solver_cot import gp_cot
    from sftlab.prompts.diversity import mixed_mapping
    from sftlab.tasks.general_points import MAPPINGS, MIXED_PRESET

    spec = config.spec
    check_mappings(spec.diverse)
    base = train_seed_base(config.seed, config.paper_seeds)
    rows: list[dict] = []
    skipped = unsolvable = untraceable = candidates = 0
    dead_ends = int(config.options.get("dead_ends", 2))
    with tqdm(total=config.size, desc=spec.name, unit="hand", disable=not progress, leave=False) as bar:
        while len(rows) < config.size:
            index = len(rows)
            mapping = mixed_mapping(index, config.size, MIXED_PRESET) if spec.diverse else FIXED_MAPPING
            hand = _deal(base + candidates, mapping)
            candidates += 1
            if hand is None:
                unsolvable += 1
                continue
            row = _row(spec.name, index, hand, spec.diverse, None)
            if skip_leaks and hand_key(row) in eval_keys:
                skipped += 1
                continue
            if spec.kind == "sft" and not config.teacher:
                rng = row_rng(config.seed, index, 1)
                if spec.demo == "answer-only":
                    text = gp_answer_only(hand.cards, hand.values, hand.solutions, rng)
                else:
                    text = gp_cot(hand.cards, hand.values, MAPPINGS[hand.mapping], hand.target, rng, dead_ends)
                    if text is None:  # our positive-intermediate search found no branch (not seen in practice)
                        untraceable += 1
                        continue
                row = _row(spec.name, index, hand, spec.diverse, text)
            rows.append(row)
            bar.update(1)
    counts = {"hands": len(rows), "candidates": candidates, "skipped_for_leakage": skipped,
              "skipped_unsolvable": unsolvable, "skipped_untraceable": untraceable}
    if spec.diverse:
        counts["per_mapping"] = {m: sum(1 for r in rows if r["metadata"]["mapping"] == m) for m in MIXED_PRESET}
    return rows, counts


def verify_row(row: dict) -> bool:
    """Re-check a completion with the task's reward: it must score +5 (a correct formula, right numbers)."""
    from sftlab.tasks.general_points import score

    text = completion_text(row)
    if text is None:
        return True
    return score(text, row["answer"]["numbers"], row["answer"]["target"]) == 5


def eval_rows(n: int, base_seed: int, progress: bool = False, splits=None) -> Iterator[dict]:
    """The gp-eval suite: each of the 9 test splits (or those in `splits`), `n` hands from seeds base_seed + i."""
    from tqdm import tqdm

    from sftlab.prompts.general_points import user_prompt
    from sftlab.tasks.general_points import SPLITS, make_split

    names = [s for s in SPLITS if splits is None or s in splits]
    for name in tqdm(names, desc="gp-eval", unit="split", disable=not progress, leave=False):
        spec = SPLITS[name]
        for j, hand in enumerate(make_split(name, n, base_seed)):
            yield make_row(
                id=f"gp-eval-{name}-{j:04d}", task="general_points", split=name, variant=name, seed=hand.seed,
                prompt=user_prompt(hand.cards, hand.prompt_mapping, target=hand.target), completion=None,
                answer={"numbers": list(hand.values), "target": hand.target},
                metadata={"cards": list(hand.cards), "mapping": hand.prompt_mapping, "value_mapping": hand.mapping,
                          "solutions": list(hand.solutions), "data_source": spec.data_source, "role": spec.role,
                          "num_cards": spec.num_cards},
            )
