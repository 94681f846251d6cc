"""reasoning-gym datasets as sftlab training tasks: one adapter for any dataset, admitted only if its scorer is sound.

`ReasoningGymTask("maze", id_config={...}, hard_config={...})` is the task `rg_maze` with the presets
`rg-maze-answer-only` (SFT: the question and `\\boxed{reference answer}`), `rg-maze-rl` (RL prompts, reasoning-gym's
own `score_answer` as the reward) and the eval suite `rg-maze-eval` with two splits: `id` (the training config,
held-out items) and `hard` (the harder config: the papers' difficulty-variant idea, e.g. a larger grid).

A row's `answer` names the item ({dataset, config (JSON text), seed, index, answer}); the scorer regenerates it (reasoning-gym
item i of a dataset comes from `Random(seed + i)`), so nothing dataset-specific is serialised.

Soundness: before a task is used (data built, rows scored), `check_sound()` generates items and checks that the
reference answer scores 1.0 and that perturbed answers (empty, a changed digit, a dropped token, another item's
answer) score below it. A scorer that fails is refused with a one-line error naming the failure, e.g. puzzle24,
which accepts any 4-number formula worth 24, whatever the given numbers.

Needs the `reasoning` extra (pip install 'sftlab[reasoning]').
"""

from __future__ import annotations

import functools
import json
import random
import re

from sftlab.errors import ConfigError
from sftlab.task_adapters.base import MAX_RESPONSE_CHARS, Preset, RewardResult, Suite, Task
from sftlab.task_adapters.capabilities import ReferencePolicies, TrainingData, VerlExport
from sftlab.task_adapters.rows import completion_text, make_row
from sftlab.tasks.crossdomain import final_answer
from sftlab.tasks.expr import Verdict

INSTRUCTION = "\nPlease reason step by step, and put your final answer within \\boxed{}."
SOUNDNESS_ITEMS = 20
TRAIN_SEED_BASE = 1_000_000  # training items live far from the eval seeds (0 for `id`, 1 for `hard`)
EVAL_SEEDS = {"id": 0, "hard": 1}

# The presets shipped with sftlab: (dataset, in-domain config, harder config, what the harder config changes).
BUILTIN = (
    ("maze", {}, {"min_grid_size": 12, "max_grid_size": 16, "min_dist": 12, "max_dist": 24},
     "grids 12-16 and 12-24 steps instead of 5-10"),
    ("mini_sudoku", {"min_empty": 4, "max_empty": 8}, {"min_empty": 10, "max_empty": 12},
     "10-12 empty cells instead of 4-8"),
    ("shortest_path", {}, {"min_rows": 10, "max_rows": 12, "min_cols": 10, "max_cols": 12},
     "10-12 x 10-12 grids instead of 5-8"),
)


def _require():
    try:
        import reasoning_gym
    except ImportError:
        raise ConfigError("reasoning-gym tasks need the reasoning extra: pip install 'sftlab[reasoning]'") from None
    return reasoning_gym


@functools.lru_cache(maxsize=64)
def _dataset(name: str, config_json: str, seed: int):
    rg = _require()
    try:
        return rg.create_dataset(name, seed=seed, size=10**9, **json.loads(config_json))
    except (AssertionError, TypeError, ValueError) as exc:
        raise ConfigError(f"reasoning-gym dataset {name} rejects config {config_json}: {exc}") from None


def _entry(name: str, config: dict | str, seed: int, index: int) -> tuple[object, dict]:
    text = json.dumps(json.loads(config) if isinstance(config, str) else config, sort_keys=True)
    ds = _dataset(name, text, int(seed))
    return ds, ds[int(index)]


def _score(ds, answer: str | None, entry: dict) -> float:
    try:
        value = float(ds.score_answer(answer, entry))
    except Exception:  # a scorer crashing on malformed model output is a wrong answer, not our crash
        return 0.0
    return value if value == value else 0.0  # NaN -> 0


def perturbations(reference: str, other: str) -> list[tuple[str, str]]:
    """(wrong answer, what was done) pairs derived from a reference answer and another item's answer."""
    out = [("", "an empty answer"), ("no idea", "an unrelated answer")]
    digit = re.search(r"\d", reference)
    if digit:
        d = digit.start()
        out.append((reference[:d] + str((int(reference[d]) + 1) % 10) + reference[d + 1:], "one digit changed"))
    tokens = reference.split()
    if len(tokens) > 1:
        out.append((" ".join(tokens[:-1]), "the last token dropped"))
    if other.strip() != reference.strip():
        out.append((other, "another item's answer"))
    return out


class ReasoningGymTask(Task, TrainingData, VerlExport, ReferencePolicies):
    """A reasoning-gym dataset as a task named `rg_<dataset>` (see the module docstring)."""

    ability = "reasoning"
    table_metrics = ("acc", "parsed", "response_tokens", "reflection_rate")
    spec_demos = ("answer-only",)
    leakage_key_text = "the question text"
    grpo_max_completion = 2048

    def __init__(self, dataset: str, id_config: dict | None = None, hard_config: dict | None = None,
                 hard_text: str = "", default_n: int = 1000, eval_n: int = 100):
        self.dataset = dataset
        self.id_config = dict(id_config or {})
        self.hard_config = dict(hard_config) if hard_config is not None else None
        self.name = f"rg_{dataset}"
        self.preset_prefix = f"rg-{dataset.replace('_', '-')}"
        self.label = f"reasoning-gym {dataset}"
        self.description = f"reasoning-gym's {dataset} as a training task" + (
            f"; harder split: {hard_text}" if hard_text else "")
        self.hard_text = hard_text
        self.default_n = default_n
        self.eval_n = eval_n
        self._sound: str | None = None  # None: not checked yet; "" sound; else the failure

    # --- names, presets, suites -----------------------------------------------------------------------------
    @property
    def suite_name(self) -> str:
        return f"{self.prefix}-eval"

    def splits(self) -> dict[str, dict]:
        """Split name -> reasoning-gym config (in-domain `id`, and `hard` when a harder config is set)."""
        out = {"id": self.id_config}
        if self.hard_config is not None:
            out["hard"] = self.hard_config
        return out

    def variants(self) -> dict[str, str]:
        return {"id": f"the training config {json.dumps(self.id_config)}",
                **({"hard": self.hard_text or json.dumps(self.hard_config)} if self.hard_config is not None
                   else {})}

    def presets(self) -> list[Preset]:
        p = self.prefix
        return [
            Preset(f"{p}-answer-only", self.name, "sft", "answer-only", False, self.default_n,
                   f"reasoning-gym {self.dataset} SFT: question + \\boxed{{reference answer}}"),
            Preset(f"{p}-rl", self.name, "rl", None, False, self.default_n,
                   f"reasoning-gym {self.dataset} RL prompts, its score_answer as the reward"),
            Preset(self.suite_name, self.name, "eval", None, False, self.eval_n,
                   f"reasoning-gym {self.dataset} eval: held-out items (id) and the harder config (hard)"),
        ]

    def suites(self) -> list[Suite]:
        return [Suite(self.suite_name, f"reasoning-gym {self.dataset}: in-domain items and a harder config",
                      self.eval_n, 0)]

    def split_order(self, suite: str) -> list[str]:
        return list(self.splits())

    # --- soundness ----------------------------------------------------------------------------------------------
    def check_sound(self, n: int = SOUNDNESS_ITEMS) -> None:
        """Raise ConfigError unless, on `n` items of every split, the reference answer scores 1.0 and every
        perturbed answer scores below it (memoised)."""
        if self._sound is None:
            self._sound = self._soundness_failure(n)
        if self._sound:
            raise ConfigError(f"reasoning-gym task {self.dataset} is refused, its scorer is unsound: {self._sound}")

    def _soundness_failure(self, n: int) -> str:
        for split, config in self.splits().items():
            items = [_entry(self.dataset, config, 7, i) for i in range(n)]
            for i, (ds, entry) in enumerate(items):
                reference = str(entry["answer"])
                if _score(ds, reference, entry) < 1.0:
                    return f"the reference answer of {split} item {i} scores below 1.0"
                other = str(items[(i + 1) % n][1]["answer"])
                for wrong, what in perturbations(reference, other):
                    if _score(ds, wrong, entry) >= 1.0:
                        return f"{what} ({wrong[:40]!r}) scores 1.0 on {split} item {i} (reference {reference[:40]!r})"
        return ""

    # --- rows -----------------------------------------------------------------------------------------------------
    def _row(self, *, split: str, config: dict, seed: int, index: int, row_id: str, completion: bool) -> dict:
        _ds, entry = _entry(self.dataset, config, seed, index)
        answer = str(entry["answer"])
        return make_row(
            id=row_id, task=self.name, split=split, variant=split, seed=seed + index,
            prompt=str(entry["question"]) + INSTRUCTION,
            completion=f"\\boxed{{{answer}}}" if completion else None,
            # JSON text: parquet cannot store an empty struct, and every row keeps one column layout
            answer={"dataset": self.dataset, "config": json.dumps(config, sort_keys=True), "seed": seed,
                    "index": index, "answer": answer},
            metadata={"difficulty": json.dumps(entry["metadata"].get("difficulty", {}), sort_keys=True, default=str)},
        )

    def suite_rows(self, suite, n, seed, progress, splits, source) -> list[dict]:
        self.check_sound()
        rows = []
        for split, config in self.splits().items():
            if splits is not None and split not in splits:
                continue
            base = seed * 100 + EVAL_SEEDS[split]
            rows += [self._row(split=split, config=config, seed=base, index=j,
                               row_id=f"{self.suite_name}-{split}-{j:04d}", completion=False) for j in range(n)]
        return rows

    def leakage_eval_splits(self) -> list[str] | None:
        return ["id"]  # training items use the id config; the hard config's items differ by construction

    def train_rows(self, config, keys, progress, skip_keys):
        self.check_sound()
        spec = config.spec
        base = TRAIN_SEED_BASE * (config.seed + 1)
        rows, skipped, index = [], 0, 0
        while len(rows) < config.size:
            row = self._row(split="train", config=self.id_config, seed=base, index=index,
                            row_id=f"{spec.name}-{len(rows):06d}", completion=spec.kind == "sft")
            index += 1
            if skip_keys and self.leakage_key(row) in keys:
                skipped += 1
                continue
            rows.append(row)
        return rows, {"items": len(rows), "candidates": index, "skipped_for_leakage": skipped}

    def verify_row(self, row: dict) -> bool:
        text = completion_text(row)
        return text is None or self.judge(text, row["answer"]).correct

    def leakage_key(self, row: dict) -> str:
        return row["prompt"][-1]["content"]

    # --- scoring --------------------------------------------------------------------------------------------------
    def judge(self, response: str, answer, refused=None, options=None):

        self.check_sound()
        if not response or len(response) > MAX_RESPONSE_CHARS:
            return Verdict(0, "the response is empty." if not response else "the response is too long.")
        extracted = final_answer(response)
        if extracted is None:
            return Verdict(0, "no final answer in \\boxed{} or <answer> tags was found.")
        ds, entry = _entry(answer["dataset"], answer["config"], answer["seed"], answer["index"])
        value = _score(ds, extracted, entry)
        if value >= 1.0:
            return Verdict(1, "the answer is correct.", formula=extracted, value=value, correct=True)
        return Verdict(0, f"the answer {extracted[:80]!r} is wrong (score {value:.2f}).", formula=extracted,
                       value=value)

    def reward(self, response, answer, metadata, *, prefill="", options=None, whole_sequence=False) -> RewardResult:
        verdict = self.judge(response, answer)
        score = verdict.value if verdict.value is not None else float(verdict.reward)
        return RewardResult(float(score), "correct" if verdict.correct else verdict.reason)

    def oracle_answer(self, row: dict, rng: random.Random) -> str:
        return f"<think> Worked it out. </think>\n\\boxed{{{row['answer']['answer']}}}"

    def random_answer(self, row: dict, rng: random.Random) -> str:
        return f"<think> A guess. </think>\n\\boxed{{{rng.randrange(100)}}}"

    # --- verl -----------------------------------------------------------------------------------------------------
    def data_source(self, row: dict) -> str:
        return f"{self.name}_{row['split']}"

    def verl_inputs(self, ground_truth, extra_info, metadata):
        return ground_truth, metadata  # the whole {dataset, config, seed, index, answer} names the item


def builtin_tasks() -> list[ReasoningGymTask]:
    """The reasoning-gym tasks shipped as presets (maze, mini_sudoku, shortest_path)."""
    return [ReasoningGymTask(name, id_config, hard_config, hard_text)
            for name, id_config, hard_config, hard_text in BUILTIN]
