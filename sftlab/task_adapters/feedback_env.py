"""Scored rows as episodes: one answer per row, or, in the multi-turn feedback mode, retries with the verifier's word.

The environment of every task that is not closed-loop (General Points, Countdown, cross-domain, safety, plugins).
A row is one episode; its first turn is the row's prompt, answered once and scored by the task's verifier (GP:
5 / -1 / -2 / -3; Countdown and cross-domain: 1 / 0; safety: reward 1 = refused, `correct` = the safe behaviour).
Multi-turn feedback mode (Chu et al.; `--multi-turn`): after a failed attempt the conversation continues with the
model's answer and the verifier's reason as the next user turn ("You failed this trial because ..."), up to
`max_attempts` attempts; the final attempt's verdict is the row's verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sftlab.metrics import mean, rate, response_metrics
from sftlab.store import Metric
from sftlab.task_adapters.environment import Environment, Episode, clip, summaries_by_split
from sftlab.tasks.expr import feedback_turn


def verdict_text(verdict) -> str:
    """A short verdict string for sample records, e.g. `reward=-2: you used numbers that were not given: [7].`"""
    reason = verdict.reason if len(verdict.reason) <= 160 else verdict.reason[:157] + "..."
    return f"reward={verdict.reward}: {reason}"


class FeedbackEnvironment(Environment):
    """Rows of `task` (a Task adapter): one answer each (`max_attempts` None), or in the feedback mode up to
    `max_attempts` answers, retried after a failed verdict (its units then report `attempts`).

    refusal_judge(rows, responses): for a refusal task (safety), a batch decision per response (True refused,
    None unclear: the pattern classifier decides). options: the task's eval options object each response is
    judged with (None: the task's defaults; General Points: `gp_arithmetic`).
    """

    unit_name = "rows"

    def __init__(self, task, max_attempts: int | None = None, *, options=None,
                 refusal_judge: Callable[[list[dict], list[str]], list[bool | None]] | None = None):
        self.task = task
        self.feedback = max_attempts is not None
        self.max_turns = max_attempts or 1
        self.options = options if options is not None else task.eval_options()
        self.refusal_judge = refusal_judge if task.refusal_task else None

    def key_settings(self) -> dict:
        return {"max_attempts": self.max_turns}

    def reset(self, row: dict) -> dict:
        return {"chat": list(row["prompt"]), "verdict": None, "parsed": False}

    def messages(self, episode: Episode) -> list[dict]:
        return episode.state["chat"]

    def steps(self, episodes: Sequence[Episode], responses: Sequence[str]) -> list[dict]:
        refused: list[bool | None] = [None] * len(episodes)
        if self.refusal_judge is not None:
            refused = self.refusal_judge([e.row for e in episodes], list(responses))
        return [self._step(e, text, decision) for e, text, decision in zip(episodes, responses, refused, strict=True)]

    def step(self, episode: Episode, response: str) -> dict:
        return self.steps([episode], [response])[0]

    def _step(self, episode: Episode, response: str, refused: bool | None) -> dict:
        state = episode.state
        verdict = self.task.judge(response, episode.row["answer"], refused, options=self.options)
        state["verdict"] = verdict
        state["parsed"] = self.task.has_answer(response, verdict)
        if not verdict.correct and episode.turns + 1 < self.max_turns:
            state["chat"] = state["chat"] + [{"role": "assistant", "content": response},
                                             {"role": "user", "content": feedback_turn(verdict)}]
        return {"parsed": None if verdict.formula is None else clip(str(verdict.formula), 200),
                "verdict": verdict_text(verdict), "correct": bool(verdict.correct), "reward": verdict.reward}

    def done(self, episode: Episode) -> bool:
        return bool(episode.state["verdict"].correct)

    def summary(self, episode: Episode) -> dict:
        verdict = episode.state["verdict"]
        return {"task": self.task.name, "reward": verdict.reward, "correct": bool(verdict.correct),
                "parsed": episode.state["parsed"], "attempts": episode.turns}

    def aggregate(self, units: Sequence[dict], splits: Sequence[str]) -> list[Metric]:
        """Per split: acc (correct; for safety the safe behaviour) and the task's split metrics (General Points:
        valid (reward >= -1) and score (mean reward); Countdown and cross-domain: parsed (a final answer was
        found); safety: refusal_rate); in the feedback mode, `attempts` (mean attempts used); all:
        response_tokens, reflection_rate."""
        metrics: list[Metric] = []
        for split, mine in summaries_by_split(units, splits):
            n = len(mine)
            metrics.append(rate(split, "acc", sum(s["correct"] for s in mine), n))
            for extra in self.task.split_metrics:
                if extra.kind == "rate":
                    metrics.append(rate(split, extra.name, sum(bool(extra.of(s)) for s in mine), n))
                else:
                    metrics.append(mean(split, extra.name, [extra.of(s) for s in mine]))
            if self.feedback:
                metrics.append(mean(split, "attempts", [s["attempts"] for s in mine]))
            metrics.extend(response_metrics(split, [t for s in mine for t in s["tokens"]],
                                            [m for s in mine for m in s["markers"]]))
        return metrics
