"""Task rewards for RL, in TRL's reward-function contract and as plain scorers (shared with verl).

TRL's GRPOTrainer calls each reward function as `fn(prompts=..., completions=..., completion_ids=..., **columns)`
where every other dataset column (`answer`, `metadata`, `task`, `id`, ...) arrives as a list with one entry per
completion, and expects one float per completion back. Completions are either plain strings or, for
conversational datasets, lists of message dicts; both are accepted here.

The scorers underneath (`sokoban_score`, `general_points_score`, `countdown_score`, dispatched by `score`) take one
raw model response and return a `RewardResult(reward, reason)`. They never raise on model output: an empty, huge or
malformed response is a scored failure. `sftlab.integrations.verl.compute_score` calls the same scorers, so TRL
and verl runs optimise the same numbers.

Decisions (see docs/training.md, "GRPO"):
- Sokoban format: exactly one `<think>`, `</think>`, `<answer>`, `</answer>` in that order, counted over the
  prompt's prefill plus the completion. A prompt that ends in `<think>` (a string prompt, or a final assistant
  message used as a prefill, like the original's templated text) contributes that tag, exactly like the paper;
  without one the model writes the opening tag itself.
- Sokoban answer (Sokoban's reward option `sokoban_reward`): `original` (default) is the original's GRPO reward: the last answer split at commas,
  semicolons and whitespace, each piece a label (any case), `n(label)` or a bare 1-4, the first ones equal to the expert's;
  `strict`: the whole stripped `<answer>` content must be one of the prompt's own 4 labels (case-insensitive, the
  eval env's rule via `sftlab.tasks.sokoban.parse_action`), mapped to its direction.
- General Points: 5 / -1 / -2 / -3 from `sftlab.tasks.general_points.score`; `rescale=True` maps it affinely to
  [0, 1] as (r + 3) / 8 (5 -> 1, -1 -> 0.25, -2 -> 0.125, -3 -> 0).
- Countdown: 1 for a verified expression, else `format_score` (default 0) when an answer could be extracted but
  is wrong, else 0 (TinyZero's shape).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from sftlab.errors import ConfigError, DataError, SftlabError
from sftlab.task_adapters import (  # noqa: F401
    MAX_RESPONSE_CHARS,
    RewardResult,
    Rewards,
    get_task,
    require,
    reward_task_names,
)
from sftlab.task_adapters.base import TaskOptions
from sftlab.task_adapters.countdown import countdown_score  # noqa: F401  (re-exported)
from sftlab.task_adapters.general_points import GP_MAX, GP_MIN, general_points_score  # noqa: F401
from sftlab.task_adapters.options import check_values, options_for, pick
from sftlab.task_adapters.sokoban import sokoban_format, sokoban_score  # noqa: F401


class RewardError(SftlabError):
    """A reward function broke its contract (NaN, wrong count): training stops with this message."""


# ---------------------------------------------------------------------------------------------------------------
# Input normalisation (completions, prompts, dataset columns)


def completion_text(completion: Any) -> str:
    """The text of one completion: a string as is; a message list -> its assistant contents joined."""
    if completion is None:
        return ""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return str(completion.get("content") or "")
    if isinstance(completion, (list, tuple)):
        parts = []
        for message in completion:
            if isinstance(message, dict):
                if message.get("role", "assistant") == "assistant":
                    parts.append(str(message.get("content") or ""))
            else:
                parts.append(str(message))
        return "".join(parts)
    return str(completion)


def prompt_prefill(prompt: Any) -> str:
    """What the prompt already wrote of the response: `<think>` when it ends with one, else "".

    A string prompt (already chat-templated text, as in the original) or a conversational prompt whose last
    message is an assistant prefill can end with `<think>`; our own chat-message prompts never do.
    """
    if isinstance(prompt, str):
        tail = prompt
    elif isinstance(prompt, (list, tuple)) and prompt and isinstance(prompt[-1], dict):
        if prompt[-1].get("role") != "assistant":
            return ""
        tail = str(prompt[-1].get("content") or "")
    else:
        return ""
    return "<think>" if tail.rstrip().endswith("<think>") else ""


def decode_column(value: Any) -> Any:
    """A dataset cell as a Python object: JSON text (how grpo.py stores nested columns) is decoded, rest kept."""
    if isinstance(value, str) and value[:1] in '[{"':
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


# ---------------------------------------------------------------------------------------------------------------
# Scorers: one response -> RewardResult. Never raise on model output.


def score(task: str, response: str, answer: Any, metadata: dict | None = None, *, prefill: str = "",
          options: TaskOptions | Mapping | None = None, whole_sequence: bool = False, **named) -> RewardResult:
    """Score one response for `task` (sokoban, general_points, countdown) against a data row's answer/metadata.

    `options`: the task's reward options object, or a mapping of reward option values (any task's: this task takes
    the ones it declares); `named`: options by name (`sokoban_reward="strict"`). `whole_sequence`: `response` is
    the decoded prompt followed by the response (verl's `complete` manager).
    """
    answer = decode_column(answer)
    metadata = decode_column(metadata) or {}
    adapter = _reward_task(task)
    return adapter.reward(response, answer, metadata, prefill=prefill,
                          options=reward_options_of(adapter, options, named), whole_sequence=whole_sequence)


def reward_options_of(adapter, options: TaskOptions | Mapping | None, named: Mapping | None = None) -> TaskOptions:
    """`adapter`'s reward options object: `options` itself when it is one, else built from the values it declares
    of `options` (a mapping) and `named`."""
    if isinstance(options, adapter.reward_options) and not named:
        return options
    values = {**(dataclasses.asdict(options) if isinstance(options, TaskOptions) else dict(options or {})),
              **(named or {})}
    return options_for(adapter, "reward", pick(adapter, "reward", values))


def _reward_task(task: str) -> Rewards:
    try:
        adapter = get_task(task)
    except ConfigError:
        raise ConfigError(f"no reward for task {task!r}; choose one of: {', '.join(reward_task_names())}") from None
    return require(adapter, Rewards)


# ---------------------------------------------------------------------------------------------------------------
# TRL reward functions


class TaskReward:
    """A TRL reward function: `(completions, answer, metadata, prompts=None, task=None, **kw) -> list[float]`.

    With `task` None (the default) each row is scored by its own `task` column, so one function serves mixed
    datasets; with a task name every row is scored as that task. Picklable and named (TRL logs it as
    `rewards/<name>/mean`). `options`: the task's reward options object (with a task), or a mapping of reward
    options that the tasks declare (`Rewards.reward_options`: Sokoban's `sokoban_reward`, General Points'
    `gp_rescale` / `gp_arithmetic`, Countdown's `countdown_format_score`, a plugin's own), each row's task taking
    its own; `named`: options by name (`TaskReward("sokoban", sokoban_reward="strict")`). A key no task of the
    reward declares, or a bad value, is a ConfigError here.
    """

    def __init__(self, task: str | None = None, options: TaskOptions | Mapping | None = None, **named):
        adapter = _reward_task(task) if task is not None else None
        if isinstance(options, TaskOptions):
            if adapter is None or not isinstance(options, adapter.reward_options):
                raise ConfigError("a TaskReward given a task's options object needs that task's name")
            options = dataclasses.asdict(options)
        tasks = [adapter] if adapter else [get_task(t) for t in reward_task_names()]
        self.options = check_values("reward", {**(options or {}), **named}, tasks)  # a bad one fails here
        self.task = adapter.name if adapter else None
        self._by_task: dict[str, TaskOptions] = {}
        self.__name__ = f"{self.task}_reward" if self.task else "task_reward"

    def options_of(self, task: str) -> TaskOptions:
        """The reward options object the rows of `task` are scored with (built once per task)."""
        if task not in self._by_task:
            self._by_task[task] = reward_options_of(_reward_task(task), self.options)
        return self._by_task[task]

    def __call__(self, completions, answer=None, metadata=None, prompts=None, task=None, **kwargs) -> list[float]:
        n = len(completions)
        if answer is None:
            raise DataError(f"the {self.__name__} needs an `answer` column in the dataset")
        if self.task is not None:
            task = [self.task] * n
        elif task is None:
            raise DataError("the task_reward needs a `task` column in the dataset (or a task name)")
        metadata = metadata if metadata is not None else [None] * n
        prompts = prompts if prompts is not None else [None] * n
        return [
            score(t, completion_text(c), a, m, prefill=prompt_prefill(p), options=self.options_of(t)).reward
            for c, a, m, p, t in zip(completions, answer, metadata, prompts, task, strict=True)
        ]


def sokoban_reward(completions, answer, metadata, prompts=None, **kwargs) -> list[float]:
    """TRL reward: the paper's single-step Sokoban reward (1.0 / 0.0, the original's rule) per completion."""
    return TaskReward("sokoban")(completions, answer=answer, metadata=metadata, prompts=prompts)


def general_points_reward(completions, answer, prompts=None, **kwargs) -> list[float]:
    """TRL reward: the 24-game reward 5 / -1 / -2 / -3 per completion."""
    return TaskReward("general_points")(completions, answer=answer, prompts=prompts)


def countdown_reward(completions, answer, prompts=None, **kwargs) -> list[float]:
    """TRL reward: 1.0 for a verified Countdown expression, else 0.0."""
    return TaskReward("countdown")(completions, answer=answer, prompts=prompts)


class CheckedReward:
    """Wrap a TRL reward function: fail loudly on NaN/inf/None or a wrong count, and log group statistics.

    Statistics (through TRL's `log_metric` hook, averaged per logging step): `reward/group_std` (mean over
    prompts of the reward std within the prompt's group of generations) and `reward/frac_all_equal_groups`
    (share of groups whose rewards are all equal, i.e. zero advantage). Groups are keyed by the `id` column
    (else the prompt), within this process's share of the batch.
    """

    def __init__(self, fn):
        self.fn = fn
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)

    def __call__(self, completions, **kwargs) -> list[float]:
        log_metric = kwargs.pop("log_metric", None)
        out = self.fn(completions=completions, **kwargs)
        if out is None or len(out) != len(completions):
            got = "None" if out is None else len(out)
            raise RewardError(f"reward {self.__name__} returned {got} values for {len(completions)} completions")
        rewards = []
        for value in out:
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise RewardError(f"reward {self.__name__} returned {value!r}, not a number") from None
            if not math.isfinite(value):
                raise RewardError(f"reward {self.__name__} returned {value} (it must return finite numbers)")
            rewards.append(value)
        if log_metric is not None:
            keys = kwargs.get("id") or [json.dumps(p, sort_keys=True) for p in kwargs.get("prompts") or []]
            stats = group_stats(rewards, keys)
            if stats is not None:
                log_metric("reward/group_std", stats[0])
                log_metric("reward/frac_all_equal_groups", stats[1])
        return rewards


def group_stats(rewards: list[float], keys: list) -> tuple[float, float] | None:
    """(mean within-group population std, fraction of groups with all rewards equal) over groups of >= 2."""
    if len(keys) != len(rewards):
        return None
    groups: dict[Any, list[float]] = defaultdict(list)
    for key, reward in zip(keys, rewards, strict=True):
        groups[key].append(reward)
    sizes = [g for g in groups.values() if len(g) >= 2]
    if not sizes:
        return None
    stds = []
    for g in sizes:
        mean = sum(g) / len(g)
        stds.append(math.sqrt(sum((x - mean) ** 2 for x in g) / len(g)))
    equal = sum(1 for g in sizes if max(g) - min(g) == 0)
    return sum(stds) / len(stds), equal / len(sizes)
