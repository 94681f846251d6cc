"""What a task has beyond the core: the capabilities a task class opts into by listing them as bases.

The core (`sftlab.task_adapters.base.Task`) is what evaluation needs: names, eval suites and their splits, the
eval options, the verdict of a response (`judge()`) or a closed-loop `environment()`, and the display. Each
capability below is a small mixin with the members of one concern, and a task has it iff it subclasses it:

- `TrainingData` ("data"): training presets, their rows, the verifier of a demonstration, the leakage key, the
  spec-condition -> preset rule;
- `Rewards` ("rewards"): the RL reward of a response and its reward options, the rejected responses of DPO pairs;
- `ReferencePolicies` ("policies"): the oracle and random answers of `--backend oracle|random`;
- `VerlExport` ("verl"): the verl parquet fields; it includes `Rewards` (verl trains on the task's reward).

Code that needs a capability asks for it with `require(task, Capability)`, which returns the task or raises a
one-line ConfigError naming the task and the capability it lacks (docs/adding-a-task.md).
"""

from __future__ import annotations

import random
from typing import Any, TypeVar

from sftlab.errors import ConfigError
from sftlab.task_adapters.base import MAX_RESPONSE_CHARS, NoOptions, Preset, RewardResult, Task, TaskOptions

C = TypeVar("C")


class TrainingData:
    """Capability "data": the task builds training rows (`sft` and `rl` presets) and checks them.

    Its `presets()` list the training presets beside the eval suites; `train_rows()` builds them.
    """

    capability = "data"
    what = "training data"
    paper_seeds: bool = False  # has the original's training seeds (--paper-seeds)
    cot_options: tuple[str, ...] = ()  # knobs a non-teacher CoT build takes (e.g. dead_ends)
    teacher_defaults: dict | None = None  # None: no teacher sampling for this task
    teacher_options: tuple[str, ...] = ()  # build options that `teacher_accepts` takes as keywords
    rl_options: tuple[str, ...] = ()  # build options a diverse RL preset takes (Sokoban: action_spaces)
    answer_only_options: tuple[str, ...] = ()  # build options an answer-only preset takes
    leakage_key_text: str = ""  # what "the same item" means, for the manifest
    spec_demos: tuple[str, ...] = ()  # demo values a spec condition may ask for (default: its sft presets' demos)
    diverse_prompts: bool = False  # has diverse-prompt presets

    def train_rows(self, config, keys: set, progress: bool, skip_keys: bool) -> tuple[list[dict], dict]:
        """(rows, counts) of a training build `config` (a BuildConfig); rows whose leakage key is in `keys` are
        skipped when `skip_keys`."""
        raise NotImplementedError(f"task {self.name} declares TrainingData but defines no train_rows()")

    def pair_presets(self) -> list[Preset]:
        """A preference-pair preset `<preset>-pairs` over each demonstration preset whose demonstrations are
        verified (not the deliberately low-quality arms): the rows DPO trains on. Only a task with `Rewards` has
        them (a rejected response is one its reward scores lower)."""
        if not isinstance(self, Rewards):
            return []
        return [Preset(f"{p.name}-pairs", p.task, "pairs", p.demo, p.diverse, p.default_n,
                       f"Preference pairs over {p.name}: chosen its verified demonstration, rejected one the "
                       "verifier fails", p.options)
                for p in self.presets() if p.kind == "sft" and p.demo != "lowq"]

    def verify_row(self, row: dict) -> bool:
        """Whether a row's completion is a correct demonstration (the task's own verifier)."""
        return True

    def teacher_accepts(self, row: dict, text: str, **options) -> bool:
        """Whether a teacher model's sampled response makes a demonstration for `row` (default: `verify_row`).
        `options`: the build's values of the task's `teacher_options`."""
        return self.verify_row({**row, "completion": [{"role": "assistant", "content": text}]})

    def leakage_key(self, row: dict) -> str:
        """The content key of a row: two rows with the same key are the same item."""
        return f"{row.get('task')}|{row.get('id')}"

    def problem_key(self, row: dict) -> str | None:
        """A coarser "same problem" key reported for information only (None: not defined)."""
        return None

    def leakage_eval_splits(self) -> list[str] | None:
        """The splits of the default suite a training set could leak into (None: all)."""
        return None

    def derive_preset(self, rows: str, prompts: str | None, demo: str | None) -> str:
        """The data preset of a spec condition whose method trains on `rows` (a preset kind), e.g. sokoban + sft
        rows + diverse + cot -> `sokoban-diverse-cot`; rl -> `sokoban-diverse-rl`; pairs -> `sokoban-diverse-cot-pairs`.
        """
        diverse = "diverse-" if prompts == "diverse" else ""
        names = {"rl": f"{self.prefix}-{diverse}rl", "pairs": f"{self.prefix}-{diverse}{demo}-pairs"}
        return names.get(rows, f"{self.prefix}-{diverse}{demo}")


class Rewards:
    """Capability "rewards": the RL reward of a response (GRPO on TRL, verl) and DPO's rejected responses."""

    capability = "rewards"
    what = "reward"
    # The task's own reward settings (a TaskOptions dataclass): `sftlab train grpo` / `train.grpo` take them and
    # `reward()` gets an instance.
    reward_options: type[TaskOptions] = NoOptions
    grpo_max_completion: int = 4096
    # What the original's RL prompts had already written of the response (Sokoban: `<think>`); a GRPO run with
    # prompt_prefill on ends each rendered prompt with it, and the reward counts it.
    rl_prefill: str = ""

    def reward(self, response: str, answer: Any, metadata: dict, *, prefill: str = "",
               options: TaskOptions | None = None, whole_sequence: bool = False) -> RewardResult:
        """The RL reward of one response (TRL and verl alike); never raises on model output. `options`: an instance
        of this task's `reward_options` (None: its defaults); `whole_sequence`: `response` is the decoded prompt
        followed by the response (verl's `complete` reward manager). Default: the verdict's reward."""
        if not response or len(response) > MAX_RESPONSE_CHARS:
            return RewardResult(0.0, "empty" if not response else "too long")
        verdict = self.judge(response, answer)
        return RewardResult(float(verdict.reward), "correct" if verdict.correct else "wrong")

    def wrong_response(self, row: dict, rng: random.Random) -> str | None:
        """A candidate rejected response for a demonstration row (default: the random policy's answer, None
        without `ReferencePolicies`); tasks that can corrupt the demonstration itself (a wrong action, a wrong
        final expression) override it."""
        return self.random_answer(row, rng) if isinstance(self, ReferencePolicies) else None

    def rejected_response(self, row: dict, rng: random.Random, tries: int = 20) -> str | None:
        """A response to `row` that the task's verifier fails: it scores below the row's demonstration (the
        reward() of both), or None when `tries` candidates of `wrong_response` found none."""
        answer, metadata = row["answer"], row.get("metadata") or {}
        chosen = row["completion"][0]["content"]
        best = self.reward(chosen, answer, metadata).reward
        for _ in range(tries):
            text = self.wrong_response(row, rng)
            if text is not None and text != chosen and self.reward(text, answer, metadata).reward < best:
                return text
        return None


class ReferencePolicies:
    """Capability "policies": the oracle and random answers, the reference rows (`--backend oracle|random`)."""

    capability = "policies"
    what = "oracle or random policy"

    def oracle_answer(self, row: dict, rng: random.Random) -> str:
        """A correct answer to the row (a closed-loop task: to its current state), in the task's answer format."""
        raise NotImplementedError(f"task {self.name} declares ReferencePolicies but defines no oracle_answer()")

    def random_answer(self, row: dict, rng: random.Random) -> str:
        """A random answer in the task's format (a baseline)."""
        raise NotImplementedError(f"task {self.name} declares ReferencePolicies but defines no random_answer()")


class VerlExport(Rewards):
    """Capability "verl": rows exported as verl parquet, scored in verl by `sftlab.integrations.verl` (so it
    includes `Rewards`)."""

    capability = "verl"
    what = "verl export"
    ability: str = "reasoning"

    def data_source(self, row: dict) -> str:
        """verl's `data_source` for a row."""
        return f"{self.name}_{row['split']}"

    def ground_truth(self, row: dict):
        """verl's `reward_model.ground_truth` for a row."""
        return row["answer"]

    def verl_inputs(self, ground_truth, extra_info: dict, metadata: dict) -> tuple[Any, dict]:
        """(answer, metadata) for `reward()` from a verl rollout's ground truth and extra_info."""
        answer = ground_truth
        if isinstance(ground_truth, dict) and "answer" in ground_truth:
            answer = ground_truth["answer"]
        return answer, metadata


CAPABILITIES = (TrainingData, Rewards, ReferencePolicies, VerlExport)


def require(task: Task, capability: type[C]) -> C:
    """`task` itself when it has `capability` (one of CAPABILITIES), else a one-line ConfigError naming the task and
    what it lacks: "task corridor has no training data: it does not opt into TrainingData (see ...)"."""
    if isinstance(task, capability):
        return task
    raise ConfigError(f"task {task.name} has no {capability.what}: it does not opt into {capability.__name__} "
                      "(see docs/adding-a-task.md)")


def capabilities_of(task: Task) -> tuple[str, ...]:
    """The names of the capabilities `task` has ("data", "rewards", "policies", "verl"), for `sftlab tasks`."""
    return tuple(c.capability for c in CAPABILITIES if isinstance(task, c))
