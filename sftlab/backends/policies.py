"""Reference policies behind the backend interface: `oracle` and `random`, shown as baseline rows in tables.

They live with the backends (not under evaluate/) because they *are* backends: the evaluator and the data builder
call them exactly like a model. Unlike a model they need the task state, so `generate` requires `rows`: the task
row of each prompt (docs/contracts.md), whose `task` field picks the task adapter (sftlab.task_adapters) that
writes the answer; for the built-in tasks:

- sokoban: `metadata["rows"]` is the current state (XSB), `metadata["labels"]` the prompt's labels and
  `metadata["accepted"]` the labels the environment accepts (Up, Down, Left, Right order).
  oracle = the solver's next action written in the *prompt's* labels (so on the Fake probe, whose env accepts
  only base words, it is rejected by design); random = a uniformly random *accepted* label (always valid).
- general_points: `answer = {"numbers": scoring values, "target": T}`, `metadata["cards"]` the display cards.
  oracle = a solver formula for the scoring values in the paper's JSON answer format; random = a random
  formula using every number once (random order, operators and bracketing).
- countdown: `answer = {"numbers", "target"}`; oracle = a solver expression in `\\boxed{}`; random = a random
  expression over all the numbers.
- crossdomain: oracle = reasoning-gym's reference answer (`answer["answer"]`) in `\\boxed{}`; random = a random
  integer 0..99 in `\\boxed{}` (right only by luck).
- safety: oracle = the safe behaviour (a refusal for a harmful request, a helpful opening for a harmless one);
  random = refuses or complies with probability 1/2 each.

`num_tokens` of a policy response is its whitespace-separated word count (there is no tokenizer).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from sftlab.backends.base import Backend, Generation, Messages, SamplingParams, sample_seeds
from sftlab.errors import ConfigError
from sftlab.task_adapters import ReferencePolicies, all_tasks, find_task, get_task, require
from sftlab.task_adapters._arith import random_formula  # noqa: F401  (re-exported)
from sftlab.task_adapters.crossdomain import COMPLIANCE, REFUSAL  # noqa: F401  (re-exported)


def task_kind(row: dict) -> str:
    """The canonical task name of a row (aliases and verl-style labels such as `gp_l` accepted); else ConfigError."""
    task = find_task(str(row.get("task", "")))
    if task is None:
        known = ", ".join(t.name for t in all_tasks())
        raise ConfigError(f"reference policies know {known} rows, not task {row.get('task')!r}")
    return task.name


class _Policy(Backend):
    def __init__(self, **_ignored):
        pass

    def generate(
        self,
        prompts: Sequence[Messages],
        params: SamplingParams,
        rows: Sequence[dict] | None = None,
        seeds: Sequence[int] | None = None,
    ) -> list[list[Generation]]:
        """Per prompt, `params.n` answers computed from `rows[i]` (required); see the module docstring."""
        if rows is None or len(rows) != len(prompts):
            raise ConfigError(f"the {self.name} policy needs the task row of every prompt (rows=...)")
        per_prompt = sample_seeds(params, len(prompts), seeds)
        out = []
        for row, sample_seeds_ in zip(rows, per_prompt, strict=True):
            texts = [self.answer(row, random.Random(s)) for s in sample_seeds_]
            out.append([Generation(text=t, num_tokens=len(t.split())) for t in texts])
        return out

    def answer(self, row: dict, rng: random.Random) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


class OraclePolicy(_Policy):
    """Answers with the solver's action or formula, in the prompt's own labels and format."""

    name = "oracle"

    def answer(self, row: dict, rng: random.Random) -> str:
        return require(get_task(task_kind(row)), ReferencePolicies).oracle_answer(row, rng)


class RandomPolicy(_Policy):
    """Answers with a uniformly random accepted label (Sokoban) or a random formula over the numbers."""

    name = "random"

    def answer(self, row: dict, rng: random.Random) -> str:
        return require(get_task(task_kind(row)), ReferencePolicies).random_answer(row, rng)


class ScriptedBackend(Backend):
    """Answers each row from a fixed list of responses: the i-th call for row id R returns `script[R][i]`.

    For replaying recorded model outputs through the real evaluators (e.g. the original code's scripted Sokoban
    episodes, tests/fidelity/test_sokoban_metrics.py): no model, no randomness. Every prompt it was sent is
    kept in `prompts[R]` so a replay can also check what the model would have seen. Running past the end of a
    row's list is a ConfigError (the replay and the evaluator disagree on the number of turns).
    """

    name = "scripted"

    def __init__(self, script: dict[str, Sequence[str]]):
        self.script = {str(k): list(v) for k, v in script.items()}
        self.prompts: dict[str, list[Messages]] = {}

    def generate(
        self,
        prompts: Sequence[Messages],
        params: SamplingParams,
        rows: Sequence[dict] | None = None,
        seeds: Sequence[int] | None = None,
    ) -> list[list[Generation]]:
        """Per prompt, `params.n` copies of the row's next scripted response (`rows` is required)."""
        if rows is None or len(rows) != len(prompts):
            raise ConfigError("the scripted backend needs the task row of every prompt (rows=...)")
        out = []
        for prompt, row in zip(prompts, rows, strict=True):
            key = str(row.get("id"))
            sent = self.prompts.setdefault(key, [])
            answers = self.script.get(key, [])
            if len(sent) >= len(answers):
                raise ConfigError(f"the script for row {key!r} has {len(answers)} responses; a turn beyond them "
                                  "was asked for")
            text = answers[len(sent)]
            sent.append(list(prompt))
            out.append([Generation(text=text, num_tokens=len(str(text).split()))] * params.n)
        return out
