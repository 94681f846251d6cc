"""Single-turn (and multi-turn feedback) scoring for General Points, Countdown, cross-domain and safety suites.

Single turn: one response per row, scored by the task's verifier (GP: 5 / -1 / -2 / -3; Countdown and
cross-domain: 1 / 0; safety: reward 1 = refused, `correct` = the safe behaviour).
Multi-turn feedback mode (Chu et al.; GP's `--multi-turn`): after a failed attempt the conversation continues with
the model's answer and the verifier's reason as the next user turn ("You failed this trial because ..."), up to
`max_attempts` attempts; the final attempt's verdict is the row's verdict.

Attempt k of a row is sampled with seed `derive_seed(seed, row id, k)`, independent of batching and resuming.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from sftlab.backends import Backend, SamplingParams, derive_seed
from sftlab.backends.policies import task_kind
from sftlab.evaluate.closed_loop import clip, episode_numbers
from sftlab.evaluate.metrics import count_markers, mean, rate, response_metrics
from sftlab.store import Metric
from sftlab.task_adapters import get_task
from sftlab.tasks.expr import feedback_turn


def judge(task: str, response: str, answer: dict, refused: bool | None = None, **options):
    """The task verifier's Verdict (reward, reason, formula, value, correct) for one raw response; never raises.

    `refused` (refusal tasks such as safety): a refusal judge's decision, replacing the pattern classifier.
    `options` go to the task's judge (General Points: `arithmetic="exact"|"float"`, the original's float eval).
    """
    return get_task(task).judge(response, answer, refused, **options)


def has_answer(task: str, response: str, verdict) -> bool:
    """Whether `response` states a final answer in the task's format (Countdown: a `\\boxed{}` or `<answer>`;
    the Countdown verifier also judges a bare expression, so its verdict alone cannot tell)."""
    return get_task(task).has_answer(response, verdict)


def verdict_text(verdict) -> str:
    """A short verdict string for sample records, e.g. `reward=-2: you used numbers that were not given: [7].`"""
    reason = verdict.reason if len(verdict.reason) <= 160 else verdict.reason[:157] + "..."
    return f"reward={verdict.reward}: {reason}"


def run(
    backend: Backend,
    rows: Sequence[dict],
    params: SamplingParams,
    *,
    seed: int = 0,
    max_attempts: int = 1,
    skip: frozenset[str] = frozenset(),
    chunk_size: int = 256,
    on_done: Callable[[dict], None] | None = None,
    on_chunk: Callable[[int], None] | None = None,
    refusal_judge: Callable[[list[dict], list[str]], list[bool | None]] | None = None,
    judge_options: dict | None = None,
    **more_options,
) -> list[dict]:
    """Answer and score every row (except ids in `skip`), `chunk_size` rows per round; return the units.

    `refusal_judge(rows, responses)` (safety rows) decides refusals in one batch; None entries fall back to the
    pattern classifier. `judge_options` (and any other keyword, e.g. `arithmetic="float"` for General Points) go
    to the task's judge.

    A unit is one row: its summary (final reward, correct, attempts, token and marker counts) and one record per
    attempt. `on_done(unit)` is called per finished row, `on_chunk(rows_in_chunk)` after each chunk.
    """
    params = replace(params, n=1)
    numbers = episode_numbers(rows)
    pending = [(row, number) for row, number in zip(rows, numbers, strict=True) if row["id"] not in skip]
    units = []
    for start in range(0, len(pending), chunk_size):
        chunk = pending[start:start + chunk_size]
        for unit in _run_chunk(backend, chunk, params, seed, max_attempts, refusal_judge,
                               {**(judge_options or {}), **more_options}):
            units.append(unit)
            if on_done is not None:
                on_done(unit)
        if on_chunk is not None:
            on_chunk(len(chunk))
    return units


def _run_chunk(backend, chunk, params, seed, max_attempts, refusal_judge=None, options=None) -> list[dict]:
    states = []
    for row, number in chunk:
        states.append({"row": row, "number": number, "task": task_kind(row), "chat": list(row["prompt"]),
                       "records": [], "verdict": None, "retry": True})
    for attempt in range(max_attempts):
        live = [s for s in states if s["retry"]]
        if not live:
            break
        outputs = backend.generate(
            [s["chat"] for s in live], params, rows=[s["row"] for s in live],
            seeds=[derive_seed(seed, s["row"]["id"], attempt) for s in live],
        )
        refused = [None] * len(live)
        if refusal_judge is not None and get_task(live[0]["task"]).refusal_task:
            refused = refusal_judge([s["row"] for s in live], [samples[0].text for samples in outputs])
        for state, samples, decision in zip(live, outputs, refused, strict=True):
            generation = samples[0]
            verdict = judge(state["task"], generation.text, state["row"]["answer"], decision, **(options or {}))
            state["verdict"] = verdict
            state["parsed"] = has_answer(state["task"], generation.text, verdict)
            state["records"].append({
                "id": state["row"]["id"],
                "split": state["row"]["split"],
                "episode": state["number"],
                "turn": attempt,
                "prompt": state["chat"][-1]["content"],
                "response": clip(generation.text),
                "parsed": None if verdict.formula is None else clip(str(verdict.formula), 200),
                "verdict": verdict_text(verdict),
                "correct": bool(verdict.correct),
                "reward": verdict.reward,
                "response_tokens": generation.num_tokens,
                "markers": count_markers(generation.text),
            })
            state["retry"] = attempt + 1 < max_attempts and not verdict.correct
            if state["retry"]:
                state["chat"] = state["chat"] + [{"role": "assistant", "content": generation.text},
                                                 {"role": "user", "content": feedback_turn(verdict)}]
    return [_unit(s) for s in states]


def _unit(state: dict) -> dict:
    verdict, records = state["verdict"], state["records"]
    return {
        "id": state["row"]["id"],
        "split": state["row"]["split"],
        "episode": state["number"],
        "summary": {
            "task": state["task"],
            "reward": verdict.reward,
            "correct": bool(verdict.correct),
            "parsed": state["parsed"],
            "attempts": len(records),
            "tokens": [r["response_tokens"] for r in records],
            "markers": [r["markers"] for r in records],
        },
        "records": records,
    }


def aggregate(units: Sequence[dict], splits: Sequence[str], multi_turn: bool = False) -> list[Metric]:
    """Per split: acc (correct; for safety the safe behaviour), plus General Points: valid (reward >= -1) and
    score (mean reward); Countdown and cross-domain: parsed (a final answer was found); safety: refusal_rate.
    All: response_tokens, reflection_rate; multi-turn also `attempts` (mean attempts used)."""
    metrics: list[Metric] = []
    for split in splits:
        mine = [u["summary"] for u in units if u["split"] == split]
        if not mine:
            continue
        n, task = len(mine), mine[0]["task"]
        metrics.append(rate(split, "acc", sum(s["correct"] for s in mine), n))
        for extra in get_task(task).split_metrics:
            if extra.kind == "rate":
                metrics.append(rate(split, extra.name, sum(bool(extra.of(s)) for s in mine), n))
            else:
                metrics.append(mean(split, extra.name, [extra.of(s) for s in mine]))
        if multi_turn:
            metrics.append(mean(split, "attempts", [s["attempts"] for s in mine]))
        metrics.extend(response_metrics(split, [t for s in mine for t in s["tokens"]],
                                        [m for s in mine for m in s["markers"]]))
    return metrics
