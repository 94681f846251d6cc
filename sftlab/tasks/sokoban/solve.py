"""Shortest Sokoban solutions, with the original's tie order (spec 1.1).

The original labels every state with a breadth-first search over full board states that tries the moves in the
order Up, Down, Left, Right and returns the first solved state it dequeues. Among all shortest solutions that
returns the lexicographically smallest one in that move order. This module returns exactly the same action list,
only faster:

- a state is one Python int: the box cells as a bitmask shifted above the player cell (no board copies);
- cells of a board padded with a ring of walls, so no bounds checks;
- dead squares (a box there can never reach any goal) are never pushed into. Such states cannot lie on any
  solution, so dropping them changes neither the shortest length nor which shortest path comes first;
- the goal test runs when a state is generated, not when it is dequeued. In FIFO order the first goal state
  generated is the first one dequeued, so the answer is unchanged and the last layer is never expanded.
"""

from __future__ import annotations

import functools

from sftlab.tasks.sokoban.xsb import Board, parse_board

DIRECTIONS = ("Up", "Down", "Left", "Right")
DELTAS = {"Up": (-1, 0), "Down": (1, 0), "Left": (0, -1), "Right": (0, 1)}


class PaddedGrid:
    """A board's static part on a grid padded with one ring of walls; cells are ints `(r + 1) * stride + c + 1`."""

    def __init__(self, height: int, width: int, walls) -> None:
        self.height, self.width = height, width
        self.stride = width + 2
        self.size = (height + 2) * self.stride
        self.floor = bytearray(self.size)
        for r in range(height):
            for c in range(width):
                if (r, c) not in walls:
                    self.floor[self.index(r, c)] = 1
        s = self.stride
        self.steps = (-s, s, -1, 1)  # Up, Down, Left, Right

    def index(self, r: int, c: int) -> int:
        return (r + 1) * self.stride + c + 1

    def cell(self, i: int) -> tuple[int, int]:
        r, c = divmod(i, self.stride)
        return r - 1, c - 1

    def live_squares(self, goals) -> bytearray:
        """1 for every floor cell from which a lone box can be pushed onto some goal (walls only, boxes ignored)."""
        live = bytearray(self.size)
        stack = list(goals)
        for g in stack:
            live[g] = 1
        floor = self.floor
        while stack:
            b = stack.pop()
            for d in self.steps:
                prev, stand = b - d, b - 2 * d  # a box at prev is pushed to b by a player standing at stand
                if 0 <= stand < self.size and floor[prev] and floor[stand] and not live[prev]:
                    live[prev] = 1
                    stack.append(prev)
        return live


def solve(rows, max_depth: int = 30) -> list[str] | None:
    """Return a shortest action list ("Up"/"Down"/"Left"/"Right") that solves the XSB `rows`, or None.

    Ties between shortest solutions are broken exactly like a plain BFS trying Up, Down, Left, Right in that
    order (the lexicographically smallest shortest solution in that order). An already solved position gives [].
    None means no solution of at most `max_depth` moves exists. Malformed rows raise DataError.
    """
    return solve_board(parse_board(rows), max_depth)


@functools.lru_cache(maxsize=1 << 16)
def shortest_length(rows: tuple[str, ...], max_depth: int = 60) -> int | None:
    """Moves in a shortest solution from the XSB `rows` (a tuple; 0 when solved), or None when no solution of at
    most `max_depth` moves exists. Cached by position, so scoring every turn of many episodes solves each state
    once."""
    moves = solve(rows, max_depth)
    return None if moves is None else len(moves)


def is_optimal_step(before: tuple[str, ...], after: tuple[str, ...], max_depth: int = 60) -> bool:
    """True when the move from position `before` to `after` lies on a shortest solution of `before`: `before` has
    a solution (of at most `max_depth` moves) and `after` is one move closer. A move from a dead or solved
    position, or one that changed nothing, is not optimal."""
    distance = shortest_length(before, max_depth)
    if not distance or before == after:
        return False
    return shortest_length(after, max_depth) == distance - 1


def solve_board(board: Board, max_depth: int = 30) -> list[str] | None:
    """`solve` for an already parsed Board."""
    grid = PaddedGrid(board.height, board.width, board.walls)
    goals = [grid.index(*g) for g in board.goals]
    boxes = [grid.index(*b) for b in board.boxes]
    moves = _search(grid, goals, boxes, grid.index(*board.player), max_depth)
    return None if moves is None else [DIRECTIONS[m] for m in moves]


def _search(grid: PaddedGrid, goals, boxes, player: int, max_depth: int) -> list[int] | None:
    goal_mask = 0
    for g in goals:
        goal_mask |= 1 << g
    box_mask = 0
    for b in boxes:
        box_mask |= 1 << b
    if box_mask == goal_mask:
        return []
    if max_depth <= 0:
        return None

    floor, live = grid.floor, grid.live_squares(goals)
    if any(not live[b] for b in boxes):
        return None
    shift = grid.size.bit_length()
    pmask = (1 << shift) - 1
    # Per cell: the moves out of it as (move index, next cell, its bit, the bit of the cell beyond, may a box go there).
    table = []
    for p in range(grid.size):
        out = []
        if floor[p]:
            for m, d in enumerate(grid.steps):
                q = p + d
                if floor[q]:
                    q2 = q + d
                    pushable = bool(floor[q2] and live[q2])
                    out.append((m, q, 1 << q, 1 << q2, pushable))
        table.append(tuple(out))

    start = box_mask << shift | player
    parent: dict[int, tuple[int, int]] = {start: (-1, -1)}
    frontier = [start]
    for _depth in range(max_depth):
        nxt = []
        append = nxt.append
        for key in frontier:
            p = key & pmask
            b = key >> shift
            for m, q, qbit, q2bit, pushable in table[p]:
                if b & qbit:
                    if not pushable or b & q2bit:
                        continue
                    nb = (b ^ qbit) | q2bit
                    nk = nb << shift | q
                    if nk in parent:
                        continue
                    parent[nk] = (key, m)
                    if nb == goal_mask:
                        return _path(parent, nk)
                    append(nk)
                else:
                    nk = b << shift | q
                    if nk in parent:
                        continue
                    parent[nk] = (key, m)
                    append(nk)
        if not nxt:
            return None
        frontier = nxt
    return None


def _path(parent: dict[int, tuple[int, int]], key: int) -> list[int]:
    moves = []
    while True:
        key, m = parent[key]
        if m < 0:
            break
        moves.append(m)
    moves.reverse()
    return moves
