"""Scored rows (General Points, Countdown, cross-domain, safety) in one call, for scripts and tests.

`run` is the feedback environment (`sftlab.task_adapters.feedback_env`: one answer per row, or retries with the
verifier's feedback) on the evaluation engine (`sftlab.evaluate.episodes`), what `sftlab eval` runs for these
suites through the task's `environment()`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sftlab.backends import Backend, SamplingParams
from sftlab.backends.policies import task_kind
from sftlab.evaluate import episodes
from sftlab.store import Metric
from sftlab.task_adapters import get_task
from sftlab.task_adapters.feedback_env import FeedbackEnvironment, verdict_text

__all__ = ["aggregate", "has_answer", "judge", "run", "verdict_text"]


def judge(task: str, response: str, answer: dict, refused: bool | None = None, options=None):
    """The task verifier's Verdict (reward, reason, formula, value, correct) for one raw response; never raises.

    `refused` (refusal tasks such as safety): a refusal judge's decision, replacing the pattern classifier.
    `options`: the task's eval options object (None: its defaults; General Points:
    `GeneralPointsEvalOptions(gp_arithmetic="float")`, the original's float eval).
    """
    return get_task(task).judge(response, answer, refused, options=options)


def has_answer(task: str, response: str, verdict) -> bool:
    """Whether `response` states a final answer in the task's format (Countdown: a `\\boxed{}` or `<answer>`;
    the Countdown verifier also judges a bare expression, so its verdict alone cannot tell)."""
    return get_task(task).has_answer(response, verdict)


def run(backend: Backend, rows: Sequence[dict], params: SamplingParams, *, seed: int = 0, max_attempts: int = 1,
        skip: frozenset[str] = frozenset(), chunk_size: int = 256, on_done: Callable[[dict], None] | None = None,
        refusal_judge: Callable[[list[dict], list[str]], list[bool | None]] | None = None,
        options=None) -> list[dict]:
    """Answer and score every row of one task (except ids in `skip`), `chunk_size` rows per round; the units.

    `max_attempts` > 1: the feedback mode. `refusal_judge(rows, responses)` (safety rows) decides refusals in one
    batch; None entries fall back to the pattern classifier. `options`: the task's eval options object every
    response is judged with (None: its defaults).
    """
    if not rows:
        return []
    environment = FeedbackEnvironment(get_task(task_kind(rows[0])), max_attempts if max_attempts > 1 else None,
                                      options=options, refusal_judge=refusal_judge)
    return episodes.play(environment, backend, rows, params, seed=seed, skip=skip, chunk_size=chunk_size,
                         on_done=on_done)


def aggregate(units: Sequence[dict], splits: Sequence[str], multi_turn: bool = False) -> list[Metric]:
    """Per split metrics of scored-row units (`FeedbackEnvironment.aggregate`), for the units' own task."""
    if not units:
        return []
    task = get_task(units[0]["summary"]["task"])
    return FeedbackEnvironment(task, 1 if multi_turn else None).aggregate(units, splits)
