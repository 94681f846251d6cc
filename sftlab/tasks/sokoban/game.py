"""Playing a puzzle turn by turn: gym-sokoban's rules and rewards (spec 1.2).

Push when the next cell holds a box and the cell beyond is free; otherwise move when the next cell is free;
otherwise nothing moves (the turn still counts). Reward per step: -0.1; +1 when the number of boxes on targets
rises, -1 when it falls; +10 when all are placed. Done when solved or after `max_steps` steps.
"""

from __future__ import annotations

from dataclasses import dataclass

from sftlab.tasks.sokoban.solve import DELTAS, DIRECTIONS
from sftlab.tasks.sokoban.xsb import board_rows, parse_board

STEP_PENALTY = -0.1
BOX_ON_TARGET_REWARD = 1.0
BOX_OFF_TARGET_PENALTY = -1.0
FINISHED_REWARD = 10.0


@dataclass(frozen=True)
class StepResult:
    """What one step did: its reward, whether the episode is now over, and whether the player/a box moved."""

    reward: float
    done: bool
    moved: bool
    pushed: bool


class SokobanGame:
    """A Sokoban episode from XSB `rows`. `step` accepts only the base directions "Up", "Down", "Left", "Right"."""

    def __init__(self, rows, max_steps: int = 30) -> None:
        if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
            raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
        board = parse_board(rows)
        self.height, self.width = board.height, board.width
        self._walls = board.walls
        self._goals = board.goals
        self._boxes = set(board.boxes)
        self._player = board.player
        self.max_steps = max_steps
        self.num_steps = 0
        self.total_reward = 0.0

    @property
    def rows(self) -> tuple[str, ...]:
        """The current position as XSB rows."""
        return board_rows(self.height, self.width, self._walls, self._goals, self._boxes, self._player)

    @property
    def boxes_on_target(self) -> int:
        return len(self._boxes & self._goals)

    @property
    def num_boxes(self) -> int:
        return len(self._boxes)

    @property
    def solved(self) -> bool:
        return self._boxes == self._goals

    @property
    def done(self) -> bool:
        return self.solved or self.num_steps >= self.max_steps

    def _free(self, cell) -> bool:
        r, c = cell
        return 0 <= r < self.height and 0 <= c < self.width and cell not in self._walls and cell not in self._boxes

    def step(self, action: str) -> StepResult:
        """Apply one base-direction action; ValueError for any other string or when the episode is already over."""
        if action not in DELTAS:
            raise ValueError(f"unknown Sokoban action {action!r}; choose one of: {', '.join(DIRECTIONS)}")
        if self.done:
            raise ValueError("the episode is over (solved or out of steps); start a new SokobanGame")
        dr, dc = DELTAS[action]
        before = self.boxes_on_target
        nxt = (self._player[0] + dr, self._player[1] + dc)
        moved = pushed = False
        if nxt in self._boxes:
            beyond = (nxt[0] + dr, nxt[1] + dc)
            if self._free(beyond):
                self._boxes.remove(nxt)
                self._boxes.add(beyond)
                self._player = nxt
                moved = pushed = True
        elif self._free(nxt):
            self._player = nxt
            moved = True
        self.num_steps += 1
        after = self.boxes_on_target
        reward = STEP_PENALTY
        if after > before:
            reward += BOX_ON_TARGET_REWARD
        elif after < before:
            reward += BOX_OFF_TARGET_PENALTY
        if self.solved:
            reward += FINISHED_REWARD
        self.total_reward += reward
        return StepResult(reward, self.done, moved, pushed)
