"""The environment interface: what one evaluation episode of a task is, turn by turn (docs/evaluation.md).

The engine (`sftlab.evaluate.episodes`) plays every episode of a suite, one backend `generate` call per turn for
all live episodes; it knows nothing of any task. What an episode is belongs to the task's Environment, returned by
its adapter's `environment(config)`:

    episode.state = env.reset(row)        # start an episode from a suite row
    env.messages(episode)                 # the chat the model answers on this turn
    env.step(episode, response)           # score the response, advance the state; the turn's verdict fields
    env.done(episode)                     # finished before max_turns? (solved, out of moves, answered right)
    env.summary(episode)                  # the finished episode's summary (its resumable unit)
    env.aggregate(units, splits)          # per-split metrics of the finished units

The engine writes each turn's record (id, split, episode, turn, prompt, response, the verdict fields,
response_tokens, markers) and each unit (id, split, episode, summary + tokens + markers, records). Model output is
untrusted: `step` scores a malformed response as a failure, it never raises on it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sftlab.store import Metric

MAX_STORED_CHARS = 32_000  # responses longer than this are cut in the sample records (not in scoring)


def clip(text: str, limit: int = MAX_STORED_CHARS) -> str:
    """`text`, cut to `limit` characters with a note saying how much was dropped."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"...[{len(text) - limit} more characters not stored]"


def summaries_by_split(units: Sequence[dict], splits: Sequence[str]) -> Iterator[tuple[str, list[dict]]]:
    """(split, the summaries of its units) for each split of `splits` that has units, in that order: what an
    environment's `aggregate` computes its per-split metrics from."""
    for split in splits:
        mine = [u["summary"] for u in units if u["split"] == split]
        if mine:
            yield split, mine


@dataclass
class Episode:
    """One episode in play: its suite row, its index within its split, the environment's state and the records
    of the turns played so far (one per turn)."""

    row: dict
    number: int
    state: Any = None
    records: list[dict] = field(default_factory=list)
    finished: bool = False

    @property
    def turns(self) -> int:
        return len(self.records)


class Environment:
    """A task's evaluation episodes (see the module doc). Subclass it and implement the methods that raise.

    max_turns: the most turns an episode takes (the engine stops it there).
    unit_name: what the progress bar counts ("episodes", "rows").
    reuses_prompts: a turn may send an episode's previous prompt again (Sokoban: an action that did not move);
        the engine then asks the backend to keep the prompts' KV between turns (`Backend.episodes()`).
    play_together: every episode of the suite takes each turn in one batch, instead of rounds of a few batches
        whose finished units reach the resumable log early (cheap short turns, many of them: Sokoban).
    """

    max_turns: int = 1
    unit_name: str = "episodes"
    reuses_prompts: bool = False
    play_together: bool = False

    def key_settings(self) -> dict:
        """The environment's settings that change the numbers (part of the evaluation key), e.g. max_turns."""
        return {"max_turns": self.max_turns}

    def reset(self, row: dict) -> Any:
        """The state of a new episode on `row` (a suite row)."""
        raise NotImplementedError

    def messages(self, episode: Episode) -> list[dict]:
        """The chat messages the model answers on this turn (the last one is recorded as the turn's prompt)."""
        raise NotImplementedError

    def policy_row(self, episode: Episode) -> dict:
        """The row a reference policy (oracle, random) answers this turn (default: the suite row)."""
        return episode.row

    def step(self, episode: Episode, response: str) -> dict:
        """Score one response and advance the episode's state; return the turn's verdict fields for its record
        (e.g. parsed, verdict, correct). Never raises on model output."""
        raise NotImplementedError

    def steps(self, episodes: Sequence[Episode], responses: Sequence[str]) -> list[dict]:
        """`step` for every live episode of one turn; override to judge a turn's responses together."""
        return [self.step(episode, response) for episode, response in zip(episodes, responses, strict=True)]

    def done(self, episode: Episode) -> bool:
        """Whether the episode has ended before `max_turns` (solved, out of moves, answered right)."""
        return False

    def summary(self, episode: Episode) -> dict:
        """The finished episode's summary, kept in its unit and read by `aggregate` (JSON values only)."""
        raise NotImplementedError

    def aggregate(self, units: Sequence[dict], splits: Sequence[str]) -> list[Metric]:
        """Per split (in `splits` order): the metrics of the finished units."""
        raise NotImplementedError
