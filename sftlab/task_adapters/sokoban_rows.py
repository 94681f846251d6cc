"""Sokoban rows: training rows (one per state along the shortest path) and the eval suite (one per episode).

Training (spec 5): 6x6 rooms with 1 box; for each puzzle, every state from the start up to (not including) the
solved state gives one row whose ground truth is the optimal action there (the solver's first move from that
state, ties broken Up, Down, Left, Right). Fixed prompts use Up/Down/Left/Right; diverse prompts draw 4 pool
words per row (sftlab.prompts.diversity) and the demonstration answers in those words. A diverse RL build with
`--option action_spaces=base+cardinal` mixes named action spaces instead, as the original's GRPO data
(`create_mixed_dataset.py`) did (docs/data.md).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from sftlab.errors import ConfigError, DataError
from sftlab.task_adapters.rows import completion_text, make_row, train_seed_base

# Named action spaces of the original's create_mixed_dataset.py: the variant with its labels, and whether its
# `_answers_block` adds the `where A is Up, ...` line
NAMED_SPACES = {"base": ("SimpleSokoban", False), "cardinal": ("CardinalSokoban", False),
                "alphabetical": ("SimpleSokobanAlphabetical", True), "numerical": ("SimpleSokobanNumerical", True),
                "emoji": ("EmojiSokoban", False)}
RANDOM_WORDS = "random-words"
TRAIN_DIM = (6, 6)
TRAIN_BOXES = 1
EVAL_BASE_SEED = 123


def trajectory(rows) -> list[tuple[tuple[str, ...], list[str]]]:
    """The states along the optimal path from `rows` with the remaining plan at each; the solved state excluded."""
    from sftlab.tasks.sokoban import SokobanGame, solve

    game = SokobanGame(rows, max_steps=1000)
    out = []
    while not game.solved:
        plan = solve(game.rows)
        if not plan:
            raise DataError(f"the solver found no plan for a generated puzzle state {game.rows!r}")
        out.append((game.rows, plan))
        game.step(plan[0])
    return out


def state_key(rows) -> str:
    """The content key of a Sokoban state for the leakage check: its XSB rows."""
    return "\n".join(rows)


def train_rows(config, eval_keys: set[str], progress: bool, skip_leaks: bool) -> tuple[list[dict], dict]:
    """The training rows of a Sokoban preset, and counts for the manifest."""
    from tqdm import tqdm

    from sftlab.demos.answer_only import sokoban_answer_only
    from sftlab.demos.solver_cot import sokoban_cot
    from sftlab.prompts.diversity import check_disjoint_from_variants, diverse_labels
    from sftlab.prompts.sokoban import BASE_LABELS, user_prompt
    from sftlab.tasks.sokoban import VARIANTS, generate

    spec = config.spec
    if spec.diverse:
        check_disjoint_from_variants(VARIANTS.values())
    base = train_seed_base(config.seed, config.paper_seeds)
    board_copy = config.options.get("cot_board", "positions")
    rows: list[dict] = []
    skipped = candidates = puzzles = 0
    bar = tqdm(total=config.size, desc=spec.name, unit="puzzle", disable=not progress, leave=False)
    while puzzles < config.size:
        puzzle = generate(dim=TRAIN_DIM, num_boxes=TRAIN_BOXES, seed=base + candidates)
        candidates += 1
        states = trajectory(puzzle.rows)
        if skip_leaks and any(state_key(s) in eval_keys for s, _ in states):
            skipped += 1
            continue
        for step, (state, plan) in enumerate(states):
            index = len(rows)
            labels = diverse_labels(config.seed, index) if spec.diverse else BASE_LABELS
            label = labels[("Up", "Down", "Left", "Right").index(plan[0])]
            if spec.kind == "rl" or config.teacher:
                completion = None
            elif spec.demo == "answer-only":
                completion = sokoban_answer_only(label, config.options.get("answer_only_converter", "778bcc4"))
            else:
                completion = sokoban_cot(state, plan, labels, board_copy)
            rows.append(make_row(
                id=f"{spec.name}-{index:06d}", task="sokoban", split="train",
                variant="diverse" if spec.diverse else "fixed", seed=puzzle.seed,
                prompt=user_prompt(state, labels=labels, where_line=spec.diverse or None),
                completion=completion, answer=plan[0],
                metadata={"rows": list(state), "labels": list(labels), "accepted": list(labels),
                          "dim": list(TRAIN_DIM), "num_boxes": TRAIN_BOXES, "puzzle_seed": puzzle.seed,
                          "step": step, "plan": list(plan)},
            ))
        puzzles += 1
        bar.update(1)
    bar.close()
    counts = {"puzzles": config.size, "candidates": candidates, "skipped_for_leakage": skipped}
    spaces = parse_action_spaces(config.options.get("action_spaces", RANDOM_WORDS))
    if spaces:
        counts["action_spaces"] = mix_action_spaces(rows, spaces, config.seed)
    return rows, counts


def parse_action_spaces(value: str) -> tuple[str, ...] | None:
    """`random-words` -> None; `base+cardinal` -> ("base", "cardinal"); anything else is a ConfigError."""
    if value == RANDOM_WORDS:
        return None
    names = tuple(part.strip().lower() for part in str(value).split("+"))
    if len(names) < 2 or len(set(names)) != len(names) or not set(names) <= set(NAMED_SPACES):
        raise ConfigError(f"option action_spaces must be {RANDOM_WORDS} or 2+ distinct names joined by '+' from "
                          f"{', '.join(NAMED_SPACES)} (e.g. base+cardinal), got {value!r}")
    return names


def mix_action_spaces(rows: list[dict], spaces: tuple[str, ...], seed: int) -> dict[str, int]:
    """Give each row one of the named `spaces` (its labels, prompt and `action_space`), in place; the row counts.

    The original's `convert_to_mixed_data`: a permutation of the rows; each later space takes `len // k` of them
    (k = the number of spaces), the first space the rest. The original drew the permutation with numpy's global
    RNG (unseeded at 707425c, seed 42 later); here a generator seeded with the build seed.
    """
    from sftlab.prompts.sokoban import user_prompt
    from sftlab.tasks.sokoban import get_variant

    order = np.random.default_rng([int(seed), len(rows)]).permutation(len(rows))
    share = len(rows) // len(spaces)
    first = len(rows) - share * (len(spaces) - 1)
    counts = {}
    for k, name in enumerate(spaces):
        chosen = order[:first] if k == 0 else order[first + (k - 1) * share: first + k * share]
        variant_name, where_line = NAMED_SPACES[name]
        labels = get_variant(variant_name).prompt_labels
        for i in chosen:
            row = rows[int(i)]
            meta = row["metadata"]
            text = user_prompt(meta["rows"], labels=labels, where_line=where_line)
            row["prompt"] = [{"role": "user", "content": text}]
            meta.update(labels=list(labels), accepted=list(labels), action_space=name)
        counts[name] = len(chosen)
    return counts


def verify_row(row: dict) -> bool:
    """Re-check a training completion with the task's own parser: its answer maps to the expert action."""
    from sftlab.tasks.sokoban import extract_answer, parse_action

    text = completion_text(row)
    if text is None:
        return True
    if not text.startswith("<think></think>") and text.endswith(" </answer>\n") and "<answer>" not in text:
        # the 077d4cf converter's answer-only form (`<think>X </answer>`): no <answer> tag to parse
        label = text[len("<think>"): -len(" </answer>\n")]
        accepted = row["metadata"]["accepted"]
        return text.startswith("<think>") and parse_action(label, accepted) == row["answer"]
    think_end, answer = text.find("</think>"), text.find("<answer>")
    if think_end < 0 or answer < 0 or think_end > answer:
        return False
    return parse_action(extract_answer(text), row["metadata"]["accepted"]) == row["answer"]


def eval_seed_list(tag_index: int, n: int, base_seed: int) -> list[int]:
    """Episode seeds of eval tag `tag_index`: the paper's `base + 100 * tag + episode` (stride n when n > 100)."""
    stride = max(n, 100)
    start = base_seed + stride * tag_index
    return list(range(start, start + n))


def eval_rows(n: int, base_seed: int, progress: bool = False, tags=None) -> Iterator[dict]:
    """The sokoban-eval suite: the paper's 8 tags x `n` episodes; one row per episode (its initial state)."""
    from tqdm import tqdm

    from sftlab.prompts.sokoban import user_prompt
    from sftlab.tasks.sokoban import EVAL_TAGS, generate, get_variant

    chosen = [(t, tag) for t, tag in enumerate(EVAL_TAGS) if tags is None or tag in tags]
    bar = tqdm(total=n * len(chosen), desc="sokoban-eval", unit="episode", disable=not progress, leave=False)
    for t, tag in chosen:
        variant = get_variant(tag)
        for j, seed in enumerate(eval_seed_list(t, n, base_seed)):
            puzzle = generate(dim=variant.dim, num_boxes=variant.num_boxes, seed=seed,
                              search_depth=variant.search_depth)
            bar.update(1)
            yield make_row(
                id=f"sokoban-eval-{tag}-{j:04d}", task="sokoban", split=tag, variant=tag, seed=seed,
                prompt=user_prompt(puzzle.rows, labels=variant.prompt_labels, where_line=variant.where_line),
                completion=None, answer=list(puzzle.solution),
                metadata={"rows": list(puzzle.rows), "labels": list(variant.prompt_labels),
                          "accepted": list(variant.accepted_labels), "dim": list(variant.dim),
                          "num_boxes": variant.num_boxes, "puzzle_seed": seed, "step": 0, "role": variant.role,
                          "max_steps": variant.max_steps},
            )
    bar.close()
