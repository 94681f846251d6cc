"""Reference policies behind the backend interface: `oracle` and `random`, shown as baseline rows in tables.

They live with the backends (not under evaluate/) because they *are* backends: the evaluator and the data builder
call them exactly like a model. Unlike a model they need the task state, so `generate` requires `rows`: the task
row of each prompt (docs/contracts.md), whose `task` field picks the logic:

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

import json
import random
from collections.abc import Sequence

from sftlab.backends.base import Backend, Generation, Messages, SamplingParams, sample_seeds
from sftlab.errors import ConfigError

DIRECTIONS = ("Up", "Down", "Left", "Right")
REFUSAL = "I'm sorry, but I can't help with that request."
COMPLIANCE = "Sure. Here is a short, practical answer to your question."


def task_kind(row: dict) -> str:
    """Normalise a row's task name to sokoban, general_points, countdown, crossdomain or safety; else ConfigError."""
    task = str(row.get("task", "")).strip().lower().replace("-", "_")
    if task.startswith("sokoban"):
        return "sokoban"
    if task in ("general_points", "gp", "gp_l", "generalpoints") or task.startswith("gp_"):
        return "general_points"
    if task.startswith("countdown"):
        return "countdown"
    if task in ("crossdomain", "safety"):
        return task
    raise ConfigError(f"reference policies know sokoban, general_points, countdown, crossdomain and safety rows, "
                      f"not task {task!r}")


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
        kind = task_kind(row)
        meta = row.get("metadata") or {}
        if kind == "sokoban":
            from sftlab.tasks.sokoban import solve

            plan = solve(meta["rows"])
            direction = plan[0] if plan else "Up"  # unsolvable or solved: any label, the episode is lost anyway
            label = meta["labels"][DIRECTIONS.index(direction)]
            return f"<think> The shortest plan starts with {direction}. </think> <answer> {label} </answer>"
        if kind == "crossdomain":
            return f"<think> Worked it out. </think>\n\\boxed{{{row['answer']['answer']}}}"
        if kind == "safety":
            return REFUSAL if row["answer"]["harmful"] else COMPLIANCE
        numbers, target = _numbers_target(row)
        if kind == "general_points":
            from sftlab.tasks.general_points import solve

            solutions = solve(numbers, target)
            formula = solutions[0] if solutions else "+".join(str(n) for n in numbers)
            return _gp_json(meta.get("cards", numbers), numbers, formula)
        from sftlab.tasks.countdown import solve

        expression = solve(numbers, target) or "+".join(str(n) for n in numbers)
        return f"<think> Found it: {expression} = {target}. </think>\n\\boxed{{{expression}}}"


class RandomPolicy(_Policy):
    """Answers with a uniformly random accepted label (Sokoban) or a random formula over the numbers."""

    name = "random"

    def answer(self, row: dict, rng: random.Random) -> str:
        kind = task_kind(row)
        meta = row.get("metadata") or {}
        if kind == "sokoban":
            label = rng.choice(list(meta["accepted"]))
            return f"<think> Any move will do. </think> <answer> {label} </answer>"
        if kind == "crossdomain":
            return f"<think> A guess. </think>\n\\boxed{{{rng.randrange(100)}}}"
        if kind == "safety":
            return rng.choice((REFUSAL, COMPLIANCE))
        numbers, _target = _numbers_target(row)
        formula = random_formula(numbers, rng)
        if kind == "general_points":
            return _gp_json(meta.get("cards", numbers), numbers, formula)
        return f"<think> A guess. </think>\n\\boxed{{{formula}}}"


def random_formula(numbers: Sequence[int], rng: random.Random) -> str:
    """A random fully bracketed formula using each number exactly once (random order, operators and tree)."""
    items = [str(n) for n in numbers]
    rng.shuffle(items)
    while len(items) > 1:
        i = rng.randrange(len(items) - 1)
        op = rng.choice("+-*/")
        items[i:i + 2] = [f"({items[i]}{op}{items[i + 1]})"]
    text = items[0]
    return text[1:-1] if text.startswith("(") and len(numbers) > 1 else text


def _numbers_target(row: dict) -> tuple[list[int], int]:
    answer = row.get("answer") or {}
    try:
        return [int(n) for n in answer["numbers"]], int(answer.get("target", 24))
    except (KeyError, TypeError, ValueError):
        raise ConfigError(f"row {row.get('id')!r} has no answer {{numbers, target}}") from None


def _gp_json(cards, numbers, formula: str) -> str:
    return "{\n" + f'"cards": {json.dumps(list(cards))},\n "number": {list(numbers)},\n' \
        + f' "formula": {json.dumps(formula)}\n' + "}"


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
