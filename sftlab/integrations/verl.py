"""verl custom reward: `compute_score(data_source, solution_str, ground_truth, extra_info=None)`.

verl's reward manager calls this once per rollout with the row's `data_source`, the decoded response, the row's
`reward_model.ground_truth` and its `extra_info` (parquet lists arrive as numpy arrays). A solution string that
holds the decoded prompt too (the Debunk original's `complete` reward manager: it contains `<|im_start|>assistant`)
is scored as the original scored it: split after the prompt, Sokoban labels read from the prompt if not given.
It dispatches on the data source to the same scorers the TRL trainer uses (`sftlab.train.rewards.score`), so a verl run optimises exactly
the numbers `sftlab train grpo` does. Point verl at this file:

    custom_reward_function.path=$(python -c "import sftlab.integrations.verl as m; print(m.__file__)")
    custom_reward_function.name=compute_score

Rows come from `sftlab data export verl SRC --out DST`. What is read:
- task: `extra_info["task"]` if present, else the data source's prefix (`sokoban...`, `gp...` /
  `general_points...`, `countdown...`);
- answer: `ground_truth` (Sokoban: the expert direction, or a one-element list; GP / Countdown:
  {"numbers", "target"}), or `ground_truth["answer"]` when it is a dict holding one;
- Sokoban labels: `extra_info["labels"]`, else `extra_info["metadata"]["labels"]`, else `ground_truth["labels"]`,
  else the prompt's `Answers:` line (only in a prompt + response solution string);
- an optional `extra_info["prefill"]` (e.g. "<think>") prepended before the format check.

Options go through verl's `custom_reward_function.reward_kwargs`: the reward options the tasks declare
(`Rewards.reward_options`): `gp_rescale` (bool), `countdown_format_score` (float), `gp_arithmetic` ("exact", or
"float" for the original's float eval), `sokoban_reward` ("original", the default and the paper's, or "strict"),
and a plugin task's own. Each row's task takes the ones it declares.
Only this module and the task packages are imported: no torch.
"""

from __future__ import annotations

from typing import Any

from sftlab.errors import DataError
from sftlab.task_adapters import VerlExport, find_task, get_task, require, reward_task_names
from sftlab.train.rewards import decode_column, score

# A response decoded without special tokens (verl's default manager) never holds it; prompt + response does.
WHOLE_SEQUENCE_MARK = "<|im_start|>assistant"


def task_for(data_source: str, extra_info: dict | None = None) -> str:
    """The sftlab task a verl row belongs to (from extra_info["task"] or the data_source prefix)."""
    task = (extra_info or {}).get("task")
    if task in reward_task_names():
        return task
    found = find_task(str(data_source).strip().lower())
    if found is not None:
        return require(found, VerlExport).name  # a task without verl export: one line saying so
    names = ", ".join(p for t in reward_task_names() for p in (get_task(t).data_source_prefixes or (t,)))
    raise DataError(
        f"cannot tell the task of data_source {data_source!r}; expected a name starting with {names} "
        "(or extra_info['task'])"
    )


def compute_score(data_source: str, solution_str: str, ground_truth: Any, extra_info: dict | None = None,
                  **kwargs) -> float:
    """The sftlab reward for one verl rollout; the same value `sftlab.train.rewards` gives the TRL trainer.
    `kwargs`: verl's reward_kwargs; the row's task takes the reward options it declares (another task's are for
    that task's rows of a mixed run)."""
    extra_info = plain(extra_info) or {}
    ground_truth = decode_column(plain(ground_truth))
    task = task_for(data_source, extra_info)
    metadata = dict(decode_column(extra_info.get("metadata")) or {})
    answer, metadata = require(get_task(task), VerlExport).verl_inputs(ground_truth, extra_info, metadata)
    solution_str = solution_str if isinstance(solution_str, str) else ""
    result = score(task, solution_str, answer, metadata, prefill=str(extra_info.get("prefill") or ""),
                   options=kwargs, whole_sequence=WHOLE_SEQUENCE_MARK in solution_str)
    return float(result.reward)


def plain(obj: Any) -> Any:
    """numpy arrays/scalars (how verl hands parquet cells over) turned into lists/ints/floats, recursively."""
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if hasattr(obj, "tolist") and not isinstance(obj, (str, bytes)):
        return plain(obj.tolist())
    return obj
