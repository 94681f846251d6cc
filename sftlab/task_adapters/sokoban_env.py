"""Sokoban's closed-loop environment (spec 1.5): Markovian, one action per turn.

Each turn an episode's prompt is built from its *current* state and its tag's labels. The first
`<answer>...</answer>` of a response is one action, mapped through the tag's *accepted* labels (the Fake probe
accepts only base words); anything else is invalid: no move, but the turn is used. An episode ends when solved,
when the game is done, or after `max_turns` turns.

The prompt protocol (`prompt_protocol`, docs/evaluation.md) picks the eval text: "paper" reproduces the original
eval env's prompt byte for byte (its stray backslash after `Decide the next action:` included), "clean" is the
training prompt's text.

Metrics (docs/evaluation.md, "Sokoban metrics"): the original's per-episode and per-tag definitions under the
original's names (`success`, `action_is_valid`, `action_is_effective`, `num_actions`), and sftlab's stricter
all-episode rates under their own names (`validity_all_episodes`, `effectiveness_all_episodes`, `turns`), and
two per-turn rates of sftlab's own: `optimal_action_rate` (the turn's action lies on a shortest solution from the
position it was played in) and `training_word_rate` (the turn's answer is one of the training words Up, Down,
Left, Right, whatever the tag's labels).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from sftlab.metrics import mean, pooled_rate, rate, response_metrics
from sftlab.prompts.sokoban import eval_prompt
from sftlab.store import Metric
from sftlab.task_adapters.environment import Environment, Episode, clip, summaries_by_split
from sftlab.tasks.sokoban import (
    DIRECTIONS,
    SokobanGame,
    extract_answer,
    get_variant,
    is_optimal_step,
    parse_action,
    solve,
)


def score_action(response: str | None, accepted: Sequence[str]) -> tuple[str | None, str | None, str]:
    """(answer text, base direction or None, verdict) for one response under the accepted labels.

    As the original: the first `<answer>...</answer>` is the action (later ones are ignored), with the tags
    `<think> </think> <answer> </answer> <|im_start|> <|im_end|>` removed from inside and whitespace stripped; the
    whole string must equal one of the 4 accepted labels, case-insensitively (`Up || Left` is one invalid action).
    Any response that is not text is invalid too.
    """
    answer = extract_answer(response)
    if answer is None:
        return None, None, "invalid: no <answer>"
    direction = parse_action(answer, accepted)
    if direction is None:
        return answer, None, "invalid label"
    return answer, direction, "valid"


@dataclass
class SokobanState:
    """One episode's game and its counters."""

    game: SokobanGame
    labels: tuple[str, ...]
    accepted: tuple[str, ...]
    where_line: bool
    optimal: int  # shortest solution length from the initial state
    valid: int = 0
    effective: int = 0
    optimal_actions: int = 0
    training_words: int = 0


class SokobanEnvironment(Environment):
    """Sokoban episodes from sokoban-eval rows (metadata rows / labels / accepted; answer = a shortest solution)."""

    reuses_prompts = True  # an action that did not move sends the same prompt again
    play_together = True

    def __init__(self, max_turns: int = 30, prompt_protocol: str = "paper"):
        self.max_turns = max_turns
        self.protocol = prompt_protocol

    def reset(self, row: dict) -> SokobanState:
        meta = row.get("metadata") or {}
        variant = get_variant(row["split"])
        rows = tuple(meta["rows"])
        answer = row.get("answer")
        optimal = len(answer) if isinstance(answer, list) and answer else len(solve(rows) or [])
        return SokobanState(
            game=SokobanGame(rows, max_steps=int(meta.get("max_steps", variant.max_steps))),
            labels=tuple(meta.get("labels") or variant.prompt_labels),
            accepted=tuple(meta.get("accepted") or variant.accepted_labels),
            where_line=variant.where_line, optimal=optimal)

    def messages(self, episode: Episode) -> list[dict]:
        s = episode.state
        text = eval_prompt(s.game.rows, labels=s.labels, where_line=s.where_line, protocol=self.protocol)
        return [{"role": "user", "content": text}]

    def policy_row(self, episode: Episode) -> dict:
        """The row as a reference policy sees it: metadata rows = the current state."""
        row = episode.row
        return {**row, "metadata": {**row.get("metadata", {}), "rows": list(episode.state.game.rows)}}

    def step(self, episode: Episode, response: str) -> dict:
        s = episode.state
        answer, direction, verdict = score_action(response, s.accepted)
        effective = optimal = False
        if direction is not None:
            s.valid += 1
            before = s.game.rows
            effective = s.game.step(direction).moved
            s.effective += int(effective)
            optimal = effective and is_optimal_step(before, s.game.rows)
            s.optimal_actions += int(optimal)
            verdict = "solved" if s.game.solved else ("valid, moved" if effective else "valid, no move")
        training_word = parse_action(answer, DIRECTIONS) is not None
        s.training_words += int(training_word)
        return {"parsed": direction, "answer": None if answer is None else clip(answer, 200), "verdict": verdict,
                "correct": False, "valid": direction is not None, "effective": effective, "optimal": optimal,
                "training_word": training_word}

    def done(self, episode: Episode) -> bool:
        return bool(episode.state.game.solved or episode.state.game.done)

    def summary(self, episode: Episode) -> dict:
        """Counts, the original's per-episode metrics (`paper`); every turn's record gets `correct` = solved."""
        s = episode.state
        solved = bool(s.game.solved)
        for record in episode.records:
            record["correct"] = solved
        return {"solved": solved, "turns": episode.turns, "valid": s.valid, "effective": s.effective,
                "optimal": s.optimal, "optimal_actions": s.optimal_actions, "training_words": s.training_words,
                "paper": paper_metrics(solved, s.valid, s.effective, episode.turns)}

    def aggregate(self, units: Sequence[dict], splits: Sequence[str]) -> list[Metric]:
        return aggregate(units, splits)


def paper_metrics(solved: bool, valid: int, effective: int, turns: int) -> dict:
    """One episode's metrics as the original's `get_rollout_states` computes them (keys without the tag).

    success = solved; num_actions = actions executed (valid turns); action_is_valid / action_is_effective =
    executed (resp. moving) turns / all turns, present *only* when at least one action was executed (an invalid
    turn leaves the original's env info empty).
    """
    out = {"success": float(solved), "num_actions": valid}
    if valid:
        out["action_is_effective"] = effective / turns
        out["action_is_valid"] = valid / turns
    return out


def aggregate(units: Sequence[dict], splits: Sequence[str]) -> list[Metric]:
    """Per tag: the original's metrics, sftlab's stricter all-episode ones, efficiency and response statistics.

    The original's (`get_rollout_states` + `np.mean` per tag, computed the same way so the numbers are equal):
    success (share solved); action_is_valid / action_is_effective: per episode executed (resp. state-changing)
    actions / turns, averaged over the episodes that executed at least one action (episodes whose every turn was
    invalid are left out, as the original's empty env info leaves them out; absent when no episode executed
    anything); num_actions: actions executed per episode.
    sftlab's: validity_all_episodes / effectiveness_all_episodes: the same ratios averaged over *all* episodes (an
    all-invalid episode counts 0); turns: turns used per episode. efficiency: over solved episodes, shortest
    solution length / turns used (1 = optimal); absent when nothing was solved. optimal_action_rate /
    training_word_rate: over all turns of all episodes, the share whose action lies on a shortest solution / whose
    answer is Up, Down, Left or Right (n = turns; absent for units logged before these metrics existed). Rates carry
    Wilson intervals (the per-turn ones widened for the turns of one episode being alike).
    """
    metrics: list[Metric] = []
    for split, mine in summaries_by_split(units, splits):
        n = len(mine)
        paper = [s["paper"] for s in mine]
        metrics.append(_np_rate(split, "success", [p["success"] for p in paper]))
        for name in ("action_is_valid", "action_is_effective"):
            values = [p[name] for p in paper if name in p]
            if values:
                metrics.append(_np_rate(split, name, values))
        actions = mean(split, "num_actions", [p["num_actions"] for p in paper])
        metrics.append(replace(actions, value=float(np.mean([p["num_actions"] for p in paper]))))
        metrics.append(rate(split, "validity_all_episodes", sum(s["valid"] / s["turns"] for s in mine), n))
        metrics.append(rate(split, "effectiveness_all_episodes", sum(s["effective"] / s["turns"] for s in mine), n))
        metrics.append(mean(split, "turns", [s["turns"] for s in mine]))
        efficiency = mean(split, "efficiency", [s["optimal"] / s["turns"] for s in mine if s["solved"]])
        if efficiency is not None:
            metrics.append(efficiency)
        for name, count in (("optimal_action_rate", "optimal_actions"), ("training_word_rate", "training_words")):
            per_turn = pooled_rate(split, name, [s.get(count, 0) for s in mine], [s["turns"] for s in mine])
            if per_turn is not None and all(count in s for s in mine):
                metrics.append(per_turn)
        metrics.extend(response_metrics(split, [t for s in mine for t in s["tokens"]],
                                        [m for s in mine for m in s["markers"]]))
    return metrics


def _np_rate(split: str, name: str, values: Sequence[float]) -> Metric:
    """A rate whose value is `np.mean(values)` exactly as the original averages, with its Wilson interval."""
    return replace(rate(split, name, sum(values), len(values)), value=float(np.mean(values)))
