"""Puzzles per second, shortest solution included: sftlab's generator vs a straightforward reference, one run.

The reference does what the original code does, written plainly in Python: the room is a full grid of cell codes
(a tuple of tuples), copied on every move; the reverse-play DFS keys its explored set by that whole grid; the
expert labels come from a BFS over whole grids that tries Up, Down, Left, Right and checks for the goal when a
state is dequeued. It shares the random walk and the placement with ours (they are cheap and draw the same random
numbers), so both sides must build the *same* puzzles: the benchmark checks that before it prints any ratio.

    .venv/bin/python benchmarks/sokoban_generate.py            # default, about 30 CPU seconds
    .venv/bin/python benchmarks/sokoban_generate.py --quick    # a smoke run
"""

from __future__ import annotations

import argparse
import random
import time
from collections import deque

import numpy as np
from rich.console import Console
from rich.progress import track
from rich.table import Table

from sftlab.tasks.sokoban import generate
from sftlab.tasks.sokoban.generate import (
    MAX_ATTEMPTS,
    MAX_EXPLORED_STATES,
    P_CHANGE_DIRECTIONS,
    TRIES,
    attempt_seed,
    place_player_and_targets,
    room_topology,
)

WALL, FLOOR, TARGET, BOX_ON_TARGET, BOX, PLAYER = 0, 1, 2, 3, 4, 5
MOVES = ((-1, 0), (1, 0), (0, -1), (0, 1))  # Up, Down, Left, Right
NAMES = ("Up", "Down", "Left", "Right")
CASES = [((6, 6), 1), ((6, 6), 2), ((10, 10), 1), ((10, 10), 2)]


class _Fail(Exception):
    pass


def _set(grid, cell, value):
    r, c = cell
    row = grid[r]
    return grid[:r] + (row[:c] + (value,) + row[c + 1 :],) + grid[r + 1 :]


def _find(grid, codes):
    return [(r, c) for r, row in enumerate(grid) for c, v in enumerate(row) if v in codes]


def reference_reverse_play(state, structure, search_depth):
    """The original DFS: pull-only moves, explored set keyed by the whole grid, best score kept."""
    targets = _find(structure, (TARGET,))
    best = {"score": -1, "room": state, "mapping": {t: t for t in targets}}
    explored = set()

    def displacement(mapping):
        return sum(abs(b[0] - t[0]) + abs(b[1] - t[1]) for t, b in mapping.items())

    def dfs(room, mapping, swaps, last_pull, ttl):
        ttl -= 1
        if ttl <= 0 or len(explored) >= MAX_EXPLORED_STATES:
            return
        if room in explored:
            return
        score = swaps * displacement(mapping)
        if len(_find(room, (TARGET,))) != len(targets):
            score = 0
        if score > best["score"]:
            best.update(score=score, room=room, mapping=dict(mapping))
        explored.add(room)
        for dr, dc in MOVES:
            (pr, pc), = _find(room, (PLAYER,))
            nxt = (pr + dr, pc + dc)
            if room[nxt[0]][nxt[1]] not in (FLOOR, TARGET):
                continue
            new = _set(_set(room, (pr, pc), structure[pr][pc]), nxt, PLAYER)
            new_mapping, new_last = mapping, last_pull
            behind = (pr - dr, pc - dc)
            if room[behind[0]][behind[1]] in (BOX_ON_TARGET, BOX):
                new = _set(_set(new, (pr, pc), BOX_ON_TARGET), behind, structure[behind[0]][behind[1]])
                new_mapping = dict(mapping)
                for k, v in mapping.items():
                    if v == behind:
                        new_mapping[k] = (pr, pc)
                        new_last = k
            dfs(new, new_mapping, swaps + (new_last != last_pull), new_last, ttl)

    dfs(state, best["mapping"], 0, (-1, -1), search_depth)
    return best["room"], displacement(best["mapping"])


def reference_post_move(state, structure, rng, move_probability):
    if rng.random() > move_probability:
        return state
    (pr, pc), = _find(state, (PLAYER,))
    visited = [(pr, pc)]
    steps = 0
    while steps < 3:
        options = [(pr + dr, pc + dc) for dr, dc in MOVES
                   if state[pr + dr][pc + dc] in (FLOOR, TARGET) and (pr + dr, pc + dc) not in visited]
        if not options:
            break
        nxt = rng.choice(options)
        state = _set(_set(state, (pr, pc), structure[pr][pc]), nxt, PLAYER)
        pr, pc = nxt
        visited.append(nxt)
        steps += 1
        if steps >= 3 or rng.random() > 0.5:
            break
    return state


def reference_bfs(structure, state, max_depth=30):
    """The original expert: BFS over whole grids, goal test at dequeue; None when nothing within max_depth."""
    queue = deque([(state, [])])
    explored = set()
    while queue:
        room, path = queue.popleft()
        if len(path) > max_depth:
            return None
        if room in explored:
            continue
        explored.add(room)
        if not _find(room, (BOX,)):
            return path
        (pr, pc), = _find(room, (PLAYER,))
        for (dr, dc), name in zip(MOVES, NAMES, strict=True):
            r, c = pr + dr, pc + dc
            if structure[r][c] == WALL:
                continue
            new = room
            if room[r][c] in (BOX, BOX_ON_TARGET):
                r2, c2 = r + dr, c + dc
                if structure[r2][c2] == WALL or room[r2][c2] in (BOX, BOX_ON_TARGET):
                    continue
                new = _set(new, (r2, c2), BOX_ON_TARGET if structure[r2][c2] == TARGET else BOX)
            new = _set(_set(new, (pr, pc), structure[pr][pc]), (r, c), PLAYER)
            queue.append((new, path + [name]))
    return None


def reference_generate(dim, num_boxes, seed, search_depth=30):
    """The whole pipeline, straightforwardly: same RNG draws as sftlab's, grids instead of bitmasks."""
    h, w = dim
    for attempt in range(MAX_ATTEMPTS):
        s = attempt_seed(seed, attempt)
        py_rng, np_rng = random.Random(s), np.random.RandomState(s)
        try:
            for _ in range(TRIES):
                level = room_topology(dim, int(1.7 * (h + w)), P_CHANGE_DIRECTIONS, py_rng)
                try:
                    player, targets = place_player_and_targets(level, num_boxes, np_rng)
                except Exception as exc:  # sftlab's "not enough floor"
                    raise _Fail from exc
                structure = tuple(tuple(TARGET if (r, c) in targets else level[r][c] for c in range(w))
                                  for r in range(h))
                state = tuple(tuple(BOX if v == TARGET else v for v in row) for row in structure)
                state = _set(state, player, PLAYER)
                room, disp = reference_reverse_play(state, structure, search_depth)
                if disp > 0:
                    break
            else:
                raise _Fail
            room = tuple(tuple(BOX if v == BOX_ON_TARGET else v for v in row) for row in room)
            room = reference_post_move(room, structure, py_rng, 0.8 if disp == 1 else 0.5)
            path = reference_bfs(structure, room, search_depth)
            if not path:
                raise _Fail
        except _Fail:
            continue
        return _to_xsb(structure, room), tuple(path)
    raise RuntimeError("no puzzle")


def _to_xsb(structure, room):
    rows = []
    for srow, row in zip(structure, room, strict=True):
        line = ""
        for s, v in zip(srow, row, strict=True):
            on_target = s == TARGET
            if v == WALL:
                line += "#"
            elif v == PLAYER:
                line += "+" if on_target else "@"
            elif v in (BOX, BOX_ON_TARGET):
                line += "*" if on_target else "$"
            else:
                line += "." if on_target else " "
        rows.append(line)
    return tuple(rows)


def _measure(dim, boxes, seeds, label):
    """Interleave ours and the reference seed by seed (so load changes hit both), in CPU seconds of this process."""
    t_ours = t_ref = 0.0
    for seed in track(seeds, description=label, transient=True):
        t0 = time.process_time()
        p = generate(dim, boxes, seed)
        t1 = time.process_time()
        rows, sol = reference_generate(dim, boxes, seed)
        t2 = time.process_time()
        t_ours += t1 - t0
        t_ref += t2 - t1
        assert (p.rows, p.solution) == (rows, sol), f"puzzle {seed} differs from the reference"
    return len(seeds) / t_ours, len(seeds) / t_ref


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few puzzles per case (smoke run)")
    args = parser.parse_args()
    counts = (10, 10, 5, 3) if args.quick else (400, 300, 150, 80)
    table = Table(title="Sokoban generation incl. shortest solution (puzzles per CPU second, one process)")
    for col in ("case", "puzzles", "sftlab", "reference", "ratio"):
        table.add_column(col, justify="right")
    for (dim, boxes), n in zip(CASES, counts, strict=True):
        ours, ref = _measure(dim, boxes, range(n), f"{dim[0]}x{dim[1]}/{boxes}")
        table.add_row(f"{dim[0]}x{dim[1]}/{boxes}", str(n), f"{ours:.1f}", f"{ref:.2f}", f"{ours / ref:.1f}x")
    Console().print(table)
    Console().print("Every puzzle and its solution were checked equal between the two implementations.")


if __name__ == "__main__":
    main()
