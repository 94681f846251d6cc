"""Closed-loop Sokoban evaluation (spec 1.5): Markovian, one action per turn, all episodes batched per turn.

Each turn every live episode (of every tag) gets the *current* prompt, built from the current state and its tag's
labels; the whole set goes to the backend in one `generate` call. The first `<answer>...</answer>` of a response is
one action, mapped through the tag's *accepted* labels (the Fake probe accepts only base words); anything else is
invalid: no move, but the turn is used. An episode ends when solved, when the environment is done, or after
`max_turns` turns.

The prompt protocol (`prompt_protocol`, docs/evaluation.md) picks the eval text: "paper" reproduces the original
eval env's prompt byte for byte (its stray backslash after `Decide the next action:` included), "clean" is the
training prompt's text.

Metrics (docs/evaluation.md, "Sokoban metrics"): the original's per-episode and per-tag definitions under the
original's names (`success`, `action_is_valid`, `action_is_effective`, `num_actions`), and sftlab's stricter
all-episode rates under their own names (`validity_all_episodes`, `effectiveness_all_episodes`, `turns`), and
two per-turn rates of sftlab's own: `optimal_action_rate` (the turn's action lies on a shortest solution from the
position it was played in) and `training_word_rate` (the turn's answer is one of the training words Up, Down,
Left, Right, whatever the tag's labels).

Turn t of an episode is sampled with seed `derive_seed(seed, row id, t)`, so an episode's trajectory does not
depend on which other episodes are evaluated alongside it (resuming, `--episodes`, batch size).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from sftlab.backends import Backend, SamplingParams, derive_seed
from sftlab.evaluate.metrics import count_markers, mean, pooled_rate, rate, response_metrics
from sftlab.prompts.sokoban import eval_prompt
from sftlab.store import Metric
from sftlab.tasks.sokoban import (
    DIRECTIONS,
    SokobanGame,
    extract_answer,
    get_variant,
    is_optimal_step,
    parse_action,
    solve,
)

MAX_STORED_CHARS = 32_000  # responses longer than this are cut in the sample records (not in scoring)


def clip(text: str, limit: int = MAX_STORED_CHARS) -> str:
    """`text`, cut to `limit` characters with a note saying how much was dropped."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"...[{len(text) - limit} more characters not stored]"


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
class Episode:
    """One episode in progress."""

    row: dict
    number: int  # episode index within its tag
    game: object
    labels: tuple[str, ...]
    accepted: tuple[str, ...]
    where_line: bool
    optimal: int
    protocol: str = "paper"
    records: list[dict] = field(default_factory=list)
    valid: int = 0
    effective: int = 0
    optimal_actions: int = 0
    training_words: int = 0
    finished: bool = False

    @property
    def turns(self) -> int:
        return len(self.records)

    def prompt(self) -> str:
        return eval_prompt(self.game.rows, labels=self.labels, where_line=self.where_line, protocol=self.protocol)

    def policy_row(self) -> dict:
        """The row as a reference policy sees it: metadata rows = the current state."""
        return {**self.row, "metadata": {**self.row.get("metadata", {}), "rows": list(self.game.rows)}}

    def paper_metrics(self) -> dict:
        """This episode's metrics as the original's `get_rollout_states` computes them (keys without the tag).

        success = solved; num_actions = actions executed (valid turns); action_is_valid / action_is_effective =
        executed (resp. moving) turns / all turns, present *only* when at least one action was executed (an invalid
        turn leaves the original's env info empty).
        """
        out = {"success": float(bool(self.game.solved)), "num_actions": self.valid}
        if self.valid:
            out["action_is_effective"] = self.effective / self.turns
            out["action_is_valid"] = self.valid / self.turns
        return out

    def unit(self) -> dict:
        """The finished episode as one resumable unit: a summary and its per-turn records."""
        solved = bool(self.game.solved)
        for record in self.records:
            record["correct"] = solved
        return {
            "id": self.row["id"],
            "split": self.row["split"],
            "episode": self.number,
            "summary": {
                "solved": solved,
                "turns": self.turns,
                "valid": self.valid,
                "effective": self.effective,
                "optimal": self.optimal,
                "optimal_actions": self.optimal_actions,
                "training_words": self.training_words,
                "paper": self.paper_metrics(),
                "tokens": [r["response_tokens"] for r in self.records],
                "markers": [r["markers"] for r in self.records],
            },
            "records": self.records,
        }


def start_episode(row: dict, number: int, prompt_protocol: str = "paper") -> Episode:
    """An Episode for a sokoban-eval row (metadata rows/labels/accepted; answer = the shortest solution)."""
    meta = row.get("metadata") or {}
    variant = get_variant(row["split"])
    labels = tuple(meta.get("labels") or variant.prompt_labels)
    accepted = tuple(meta.get("accepted") or variant.accepted_labels)
    rows = tuple(meta["rows"])
    answer = row.get("answer")
    optimal = len(answer) if isinstance(answer, list) and answer else len(solve(rows) or [])
    game = SokobanGame(rows, max_steps=int(meta.get("max_steps", variant.max_steps)))
    return Episode(row=row, number=number, game=game, labels=labels, accepted=accepted,
                   where_line=variant.where_line, optimal=optimal, protocol=prompt_protocol)


def episode_numbers(rows: Sequence[dict]) -> list[int]:
    """Each row's index within its tag, in suite order."""
    seen: dict[str, int] = {}
    numbers = []
    for row in rows:
        numbers.append(seen.get(row["split"], 0))
        seen[row["split"]] = numbers[-1] + 1
    return numbers


def play(
    backend: Backend,
    rows: Sequence[dict],
    params: SamplingParams,
    *,
    seed: int = 0,
    max_turns: int = 30,
    skip: frozenset[str] = frozenset(),
    on_done: Callable[[dict], None] | None = None,
    on_turn: Callable[[int, int], None] | None = None,
    prompt_protocol: str = "paper",
) -> list[dict]:
    """Play every row's episode (except ids in `skip`) to the end; return the finished units in suite order.

    `prompt_protocol` is "paper" (the original eval prompt, byte for byte) or "clean" (without its stray byte).

    `on_done(unit)` is called as each episode finishes (the runner appends it to the resumable log);
    `on_turn(turn, live)` before each batched generate call.
    """
    params = replace(params, n=1)
    numbers = episode_numbers(rows)
    episodes = [start_episode(row, number, prompt_protocol) for row, number in zip(rows, numbers, strict=True)
                if row["id"] not in skip]
    with backend.episodes():  # hf: a turn that did not move an episode reuses its prompt's KV (exact)
        for turn in range(max_turns):
            live = [e for e in episodes if not e.finished]
            if not live:
                break
            if on_turn is not None:
                on_turn(turn, len(live))
            prompts = [e.prompt() for e in live]
            outputs = backend.generate(
                [[{"role": "user", "content": p}] for p in prompts],
                params,
                rows=[e.policy_row() for e in live],
                seeds=[derive_seed(seed, e.row["id"], turn) for e in live],
            )
            for episode, prompt, samples in zip(live, prompts, outputs, strict=True):
                _apply(episode, turn, prompt, samples[0], max_turns)
                if episode.finished and on_done is not None:
                    on_done(episode.unit())
    return [e.unit() for e in episodes]


def _apply(episode: Episode, turn: int, prompt: str, generation, max_turns: int) -> None:
    answer, direction, verdict = score_action(generation.text, episode.accepted)
    effective = optimal = False
    if direction is not None:
        episode.valid += 1
        before = episode.game.rows
        result = episode.game.step(direction)
        effective = result.moved
        episode.effective += int(effective)
        optimal = effective and is_optimal_step(before, episode.game.rows)
        episode.optimal_actions += int(optimal)
        verdict = "solved" if episode.game.solved else ("valid, moved" if effective else "valid, no move")
    training_word = parse_action(answer, DIRECTIONS) is not None
    episode.training_words += int(training_word)
    episode.records.append({
        "id": episode.row["id"],
        "split": episode.row["split"],
        "episode": episode.number,
        "turn": turn,
        "prompt": prompt,
        "response": clip(generation.text),
        "parsed": direction,
        "answer": None if answer is None else clip(answer, 200),
        "verdict": verdict,
        "correct": False,
        "valid": direction is not None,
        "effective": effective,
        "optimal": optimal,
        "training_word": training_word,
        "response_tokens": generation.num_tokens,
        "markers": count_markers(generation.text),
    })
    episode.finished = episode.game.solved or episode.game.done or episode.turns >= max_turns


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
    for split in splits:
        mine = [u["summary"] for u in units if u["split"] == split]
        if not mine:
            continue
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
