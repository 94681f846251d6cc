"""The evaluation engine: every episode of a suite played in a task's Environment, all live episodes batched per turn.

Each turn, every live episode's messages (from `environment.messages`) go to the backend in one `generate` call;
each response is scored by `environment.step`, recorded, and the episode ends when the environment says it is done
or after `environment.max_turns` turns. The engine knows nothing of any task: the environment interface is
`sftlab.task_adapters.environment` (docs/evaluation.md, "The engine and its environments").

Turn t of an episode is sampled with seed `derive_seed(seed, row id, t)`, so an episode's trajectory does not
depend on which other episodes are evaluated alongside it (resuming, `--episodes`, `--splits`, batch size).
Episodes are played in rounds of `chunk_size` (all turns of a round before the next), or all together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import replace

from sftlab.backends import Backend, SamplingParams, derive_seed
from sftlab.metrics import count_markers
from sftlab.task_adapters.environment import Environment, Episode, clip


def episode_numbers(rows: Sequence[dict]) -> list[int]:
    """Each row's index within its split, in suite order."""
    seen: dict[str, int] = {}
    numbers = []
    for row in rows:
        numbers.append(seen.get(row["split"], 0))
        seen[row["split"]] = numbers[-1] + 1
    return numbers


def play(
    environment: Environment,
    backend: Backend,
    rows: Sequence[dict],
    params: SamplingParams,
    *,
    seed: int = 0,
    skip: frozenset[str] = frozenset(),
    chunk_size: int | None = None,
    on_done: Callable[[dict], None] | None = None,
    on_turn: Callable[[int, int], None] | None = None,
) -> list[dict]:
    """Play every row's episode (except ids in `skip`, already finished) to its end; return the units in suite order.

    A unit is one finished episode: id, split, episode (its index within the split), summary (the environment's,
    plus the per-turn response token and marker counts) and records (one per turn). `chunk_size`: episodes per
    round (None: all at once). `on_done(unit)` is called as each episode finishes (the runner appends it to the
    resumable log); `on_turn(turn, live)` before each batched generate call.
    """
    params = replace(params, n=1)
    pending = [Episode(row, number) for row, number in zip(rows, episode_numbers(rows), strict=True)
               if row["id"] not in skip]
    units: dict[int, dict] = {}  # by position in `pending` (ids are unique in a suite, not in every caller's rows)
    size = chunk_size or max(1, len(pending))
    # hf: a prompt sent again on the next turn reuses its KV (exact), when the environment resends prompts
    with backend.episodes() if environment.reuses_prompts else nullcontext():
        for start in range(0, len(pending), size):
            for index, unit in _play_round(environment, backend, pending[start:start + size], params, seed, on_turn):
                units[start + index] = unit
                if on_done is not None:
                    on_done(unit)
    return [units[index] for index in range(len(pending))]


def _play_round(environment, backend, episodes, params, seed, on_turn):
    """Play `episodes` together to their end, yielding (index in `episodes`, unit) as each episode finishes."""
    for episode in episodes:
        episode.state = environment.reset(episode.row)
    for turn in range(environment.max_turns):
        live = [(index, e) for index, e in enumerate(episodes) if not e.finished]
        if not live:
            break
        if on_turn is not None:
            on_turn(turn, len(live))
        chats = [environment.messages(e) for _, e in live]
        outputs = backend.generate(chats, params, rows=[environment.policy_row(e) for _, e in live],
                                   seeds=[derive_seed(seed, e.row["id"], turn) for _, e in live])
        generations = [samples[0] for samples in outputs]
        verdicts = environment.steps([e for _, e in live], [g.text for g in generations])
        for (index, episode), chat, generation, fields in zip(live, chats, generations, verdicts, strict=True):
            episode.records.append({
                "id": episode.row["id"], "split": episode.row["split"], "episode": episode.number, "turn": turn,
                "prompt": chat[-1]["content"], "response": clip(generation.text), **fields,
                "response_tokens": generation.num_tokens, "markers": count_markers(generation.text),
            })
            episode.finished = environment.done(episode) or episode.turns >= environment.max_turns
            if episode.finished:
                yield index, _unit(environment, episode)


def _unit(environment: Environment, episode: Episode) -> dict:
    records = episode.records
    summary = {**environment.summary(episode), "tokens": [r["response_tokens"] for r in records],
               "markers": [r["markers"] for r in records]}
    return {"id": episode.row["id"], "split": episode.row["split"], "episode": episode.number, "summary": summary,
            "records": records}


class EpisodeProgress:
    """The progress of one evaluation: a bar of finished units and, when all episodes play together, of turns.

    Rich draws nothing until the end when stderr is not a terminal (a log file, a batch job): there it prints a
    plain line per turn (episodes playing together) or per tenth of the units instead. `turn` and `finished` are
    the engine's `on_turn` hook and the call to make per finished unit.
    """

    def __init__(self, console, environment: Environment, *, total: int, done: int, enabled: bool = True):
        self.console, self.environment, self.total, self.done, self.enabled = console, environment, total, done, enabled
        self.by_turn = environment.play_together
        self.plain = enabled and not console.is_terminal
        self.every = max(1, total // 10)
        self.new = 0  # units finished in this run

    def __enter__(self) -> EpisodeProgress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        self.bar = Progress(*columns, console=self.console, disable=not self.enabled)
        self.bar.__enter__()
        self.units = self.bar.add_task(self.environment.unit_name, total=self.total, completed=self.done)
        if self.by_turn:
            self.turns = self.bar.add_task("turn", total=self.environment.max_turns)
        return self

    def __exit__(self, *exc) -> None:
        if self.by_turn and exc[0] is None:
            self.bar.update(self.turns, completed=self.environment.max_turns)
        self.bar.__exit__(*exc)

    def turn(self, turn: int, live: int) -> None:
        """Before turn `turn` (from 0) of `live` episodes."""
        if not self.by_turn:
            return
        self.bar.update(self.turns, completed=turn, description=f"turn ({live} live)")
        if self.plain:
            self.console.print(f"  turn {turn + 1}/{self.environment.max_turns}: {live} episode(s) playing, "
                               f"{self.done + self.new}/{self.total} finished", highlight=False)

    def finished(self) -> None:
        """One more unit finished."""
        self.new += 1
        self.bar.advance(self.units)
        if self.plain and not self.by_turn and (self.new % self.every == 0 or self.done + self.new == self.total):
            self.console.print(f"  {self.done + self.new}/{self.total} {self.environment.unit_name} done",
                               highlight=False)
