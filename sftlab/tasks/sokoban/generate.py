"""Puzzle generation by reverse play (spec 1.1; RAGEN `room_utils.generate_room`, itself from gym-sokoban).

One attempt, for an attempt seed `s`, follows the original step by step, with explicit RNG objects in place of the
global ones: `random.Random(s)` for the random walk and the post-moves (the original's `random`) and
`numpy.random.RandomState(s)` for placing the player and targets (the original's `np.random`). These objects give
the same streams as the original's `random.seed(s); np.random.seed(s)`, so attempt 0 is designed to follow the
original draw for draw (not verified against the original code: it cannot run here).

1. Topology: a random walk of `int(1.7 * (h + w))` steps stamping one of 5 random 3x3 masks; border = wall.
2. Placement: player, then `num_boxes` targets, on random floor cells (too little floor fails the attempt).
3. Reverse play: boxes start on the targets; a depth-first search with pull-only moves (ttl `search_depth`,
   at most 300,000 explored states) keeps the state with the best score `box_swaps * sum of Manhattan
   displacements`, scored 0 unless every target is uncovered. Steps 1-3 are tried 4 times while the best
   displacement is 0; still 0 fails the attempt.
4. Post-moves: with probability 0.8 (displacement 1) or 0.5, the player walks 1-3 random steps onto unvisited
   free cells, continuing after each step with probability 0.5.
5. The shortest solution (`solve`, at most `search_depth` moves). None fails the attempt.

A failed attempt `k` moves on to attempt `k + 1`, whose seed is derived from `(seed, k + 1)` with numpy's
SeedSequence. The original instead re-seeds with `hash(str(seed))`, which Python salts per process.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from sftlab.errors import ConfigError, check_seed
from sftlab.tasks.sokoban.solve import DIRECTIONS, PaddedGrid, _search
from sftlab.tasks.sokoban.xsb import board_rows

P_CHANGE_DIRECTIONS = 0.35
TRIES = 4
MAX_EXPLORED_STATES = 300_000
MAX_ATTEMPTS = 200

_WALK_DIRECTIONS = [(1, 0), (0, 1), (-1, 0), (0, -1)]
_MASKS = [
    [[0, 0, 0], [1, 1, 1], [0, 0, 0]],
    [[0, 1, 0], [0, 1, 0], [0, 1, 0]],
    [[0, 0, 0], [1, 1, 0], [0, 1, 0]],
    [[0, 0, 0], [1, 1, 0], [1, 1, 0]],
    [[0, 0, 0], [0, 1, 1], [0, 1, 0]],
]


@dataclass(frozen=True)
class Puzzle:
    """A generated puzzle: XSB `rows`, its shortest `solution`, and how it was made."""

    rows: tuple[str, ...]
    solution: tuple[str, ...]
    seed: int
    dim: tuple[int, int]
    num_boxes: int
    search_depth: int = 30
    attempt: int = 0  # which derived attempt succeeded (0 = the seed itself)


class _AttemptFailed(Exception):
    """This attempt seed gives no usable puzzle (too little floor, zero displacement, or too long a solution)."""


def max_boxes(dim: tuple[int, int]) -> int:
    """The most boxes `generate` accepts for a room of `dim`: a quarter of the interior cells."""
    h, w = dim
    return max(1, (h - 2) * (w - 2) // 4)


def check_params(dim, num_boxes, seed, search_depth) -> tuple[int, int]:
    """Validate generator parameters; raise ConfigError naming the allowed values. Returns dim as a tuple."""
    try:
        h, w = (int(x) for x in dim)
        if [h, w] != list(dim):
            raise ValueError
    except (TypeError, ValueError):
        raise ConfigError(f"dim must be two integers (rows, cols), each at least 5, got {dim!r}") from None
    if h < 5 or w < 5:
        raise ConfigError(f"dim must be at least 5x5 (rows, cols each >= 5), got {h}x{w}")
    if isinstance(num_boxes, bool) or not isinstance(num_boxes, int) or not 1 <= num_boxes <= max_boxes((h, w)):
        raise ConfigError(
            f"num_boxes must be an integer from 1 to {max_boxes((h, w))} for a {h}x{w} room, got {num_boxes!r}"
        )
    check_seed("seed", seed)
    if isinstance(search_depth, bool) or not isinstance(search_depth, int) or search_depth < 1:
        raise ConfigError(f"search_depth must be a positive integer, got {search_depth!r}")
    return h, w


def attempt_seed(seed: int, attempt: int) -> int:
    """The RNG seed of attempt `attempt` for puzzle `seed`: the seed itself first, then a SeedSequence derivation."""
    if attempt == 0:
        return seed
    return int(np.random.SeedSequence([seed, attempt]).generate_state(1)[0])


def generate(dim=(6, 6), num_boxes: int = 1, seed: int = 0, search_depth: int = 30) -> Puzzle:
    """Generate the puzzle for `seed`: same arguments give the same Puzzle, in any process.

    `dim` is (rows, cols). The puzzle is solvable in at most `search_depth` moves and `solution` is its shortest
    solution with ties broken Up, Down, Left, Right. Bad arguments raise ConfigError; a size/box combination that
    yields no puzzle in 200 attempts raises ConfigError too.
    """
    h, w = check_params(dim, num_boxes, seed, search_depth)
    for attempt in range(MAX_ATTEMPTS):
        try:
            rows, moves = _attempt((h, w), num_boxes, attempt_seed(seed, attempt), search_depth)
        except _AttemptFailed:
            continue
        return Puzzle(rows, tuple(DIRECTIONS[m] for m in moves), seed, (h, w), num_boxes, search_depth, attempt)
    raise ConfigError(
        f"could not generate a {h}x{w} puzzle with {num_boxes} boxes solvable in {search_depth} moves "
        f"(seed {seed}, {MAX_ATTEMPTS} attempts); use fewer boxes, a larger room or a larger search_depth"
    )


def _attempt(dim, num_boxes, s, search_depth):
    py_rng = random.Random(s)
    np_rng = np.random.RandomState(s)
    h, w = dim
    num_steps = int(1.7 * (h + w))
    for _ in range(TRIES):
        level = room_topology(dim, num_steps, P_CHANGE_DIRECTIONS, py_rng)
        player, targets = place_player_and_targets(level, num_boxes, np_rng)
        walls = {(r, c) for r in range(h) for c in range(w) if not level[r][c]}
        grid = PaddedGrid(h, w, walls)
        tgt = [grid.index(*t) for t in targets]
        result = reverse_play(grid, tgt, grid.index(*player), search_depth)
        if result.displacement > 0:
            break
    else:
        raise _AttemptFailed("zero displacement")
    move_probability = 0.8 if result.displacement == 1 else 0.5
    player = random_player_moves(grid, result.player, set(result.boxes), py_rng, move_probability)
    moves = _search(grid, tgt, result.boxes, player, search_depth)
    if not moves:  # None: not solvable within search_depth; []: cannot happen (displacement > 0)
        raise _AttemptFailed("no solution within the depth")
    cells = grid.cell
    rows = board_rows(h, w, walls, {cells(t) for t in tgt}, {cells(b) for b in result.boxes}, cells(player))
    return rows, moves


def room_topology(dim, num_steps: int, p_change: float, rng: random.Random) -> list[list[int]]:
    """The random-walk room: a list of rows of 0 (wall) / 1 (floor), border all walls."""
    h, w = dim
    level = [[0] * w for _ in range(h)]
    direction = rng.sample(_WALK_DIRECTIONS, 1)[0]
    r, c = rng.randint(1, h - 1), rng.randint(1, w - 1)
    for _ in range(num_steps):
        if rng.random() < p_change:
            direction = rng.sample(_WALK_DIRECTIONS, 1)[0]
        r = max(min(r + direction[0], h - 2), 1)
        c = max(min(c + direction[1], w - 2), 1)
        mask = rng.sample(_MASKS, 1)[0]
        for dr in range(3):
            for dc in range(3):
                if mask[dr][dc]:
                    level[r - 1 + dr][c - 1 + dc] = 1
    for rr in range(h):
        level[rr][0] = level[rr][w - 1] = 0
    for cc in range(w):
        level[0][cc] = level[h - 1][cc] = 0
    return level


def place_player_and_targets(level, num_boxes: int, rng: np.random.RandomState):
    """Pick the player cell, then `num_boxes` target cells, uniformly among free floor cells (row-major order)."""
    free = [(r, c) for r, row in enumerate(level) for c, v in enumerate(row) if v]
    if len(free) <= num_boxes + 1:
        raise _AttemptFailed("not enough floor")
    player = free.pop(int(rng.randint(len(free))))
    targets = []
    for _ in range(num_boxes):
        targets.append(free.pop(int(rng.randint(len(free)))))
    return player, targets


@dataclass
class ReversePlayResult:
    player: int
    boxes: list[int]  # box i's cell; box i started on target i
    displacement: int


def reverse_play(grid: PaddedGrid, targets: list[int], player: int, search_depth: int,
                 max_states: int = MAX_EXPLORED_STATES) -> ReversePlayResult:
    """Pull-only depth-first search from the solved position, keeping the best-scoring state (spec 1.1).

    Mirrors the original exactly: the explored set is keyed by the board as the original encodes it (a box that
    has been pulled at least once is stored with a different code, so it is part of the key), the ttl check comes
    before the explored check, and a state only replaces the best one on a strictly greater score.
    """
    floor, steps, stride = grid.floor, grid.steps, grid.stride
    target_mask = 0
    for t in targets:
        target_mask |= 1 << t
    t_rc = [divmod(t, stride) for t in targets]
    pbits, size = grid.size.bit_length(), grid.size
    explored: set[int] = set()
    best = {"score": -1, "player": player, "boxes": list(targets)}

    def displacement(boxes) -> int:
        total = 0
        for (tr, tc), b in zip(t_rc, boxes, strict=True):
            br, bc = divmod(b, stride)
            total += abs(br - tr) + abs(bc - tc)
        return total

    # old/new: bitmasks of the boxes never pulled / pulled at least once (the original stores them with
    # different codes, so both belong to the explored-set key).
    def dfs(p: int, boxes: list[int], pulled: int, old: int, new: int, swaps: int, last_pull: int,
            ttl: int) -> None:
        ttl -= 1
        if ttl <= 0 or len(explored) >= max_states:
            return
        key = ((old << size | new) << pbits) | p
        if key in explored:
            return
        occupied = old | new
        if swaps and not (occupied & target_mask or target_mask >> p & 1):
            score = swaps * displacement(boxes)
        else:
            score = 0
        if score > best["score"]:
            best["score"], best["player"], best["boxes"] = score, p, list(boxes)
        explored.add(key)
        for d in steps:
            q = p + d
            if not floor[q] or occupied >> q & 1:
                continue
            behind = p - d
            if occupied >> behind & 1:
                k = boxes.index(behind)
                nboxes = list(boxes)
                nboxes[k] = p
                if pulled >> k & 1:
                    dfs(q, nboxes, pulled, old, new ^ (1 << behind) | (1 << p), swaps + (k != last_pull), k, ttl)
                else:
                    dfs(q, nboxes, pulled | 1 << k, old ^ (1 << behind), new | (1 << p), swaps + (k != last_pull),
                        k, ttl)
            else:
                dfs(q, boxes, pulled, old, new, swaps, last_pull, ttl)

    dfs(player, list(targets), 0, target_mask, 0, 0, -1, search_depth)
    return ReversePlayResult(best["player"], best["boxes"], displacement(best["boxes"]))


def random_player_moves(grid: PaddedGrid, player: int, boxes: set[int], rng: random.Random,
                        move_probability: float, continue_probability: float = 0.5, max_steps: int = 3) -> int:
    """The original's post-move: maybe walk the player 1-3 random steps onto unvisited free cells."""
    if rng.random() > move_probability:
        return player
    visited = [player]
    for step in range(1, max_steps + 1):
        options = [player + d for d in grid.steps
                   if grid.floor[player + d] and player + d not in boxes and player + d not in visited]
        if not options:
            break
        player = rng.choice(options)
        visited.append(player)
        if step >= max_steps or rng.random() > continue_probability:
            break
    return player
