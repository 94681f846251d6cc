"""XSB, the Sokoban community's text notation, and the board it describes.

`#` wall, space floor, `.` goal, `$` box, `*` box on goal, `@` player, `+` player on goal; one string per row.
Level files may also write floor as `-` or `_`; `load_xsb` reads those and writes them back as spaces.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sftlab.errors import DataError

WALL, FLOOR, GOAL, BOX, BOX_ON_GOAL, PLAYER, PLAYER_ON_GOAL = "#", " ", ".", "$", "*", "@", "+"
XSB_CHARS = frozenset("# .$*@+")
_FLOOR_ALIASES = {"-": " ", "_": " "}


@dataclass(frozen=True)
class Board:
    """A parsed position: cells are (row, col) tuples; every row is padded with floor to `width`."""

    height: int
    width: int
    walls: frozenset[tuple[int, int]]
    goals: frozenset[tuple[int, int]]
    boxes: frozenset[tuple[int, int]]
    player: tuple[int, int]

    def to_rows(self) -> tuple[str, ...]:
        """The position as XSB rows (rectangular: every row has `width` characters)."""
        return board_rows(self.height, self.width, self.walls, self.goals, self.boxes, self.player)


def board_rows(height, width, walls, goals, boxes, player) -> tuple[str, ...]:
    """XSB rows for a position given as collections of (row, col) cells."""
    rows = []
    for r in range(height):
        line = []
        for c in range(width):
            cell = (r, c)
            if cell in walls:
                line.append(WALL)
            elif cell == player:
                line.append(PLAYER_ON_GOAL if cell in goals else PLAYER)
            elif cell in boxes:
                line.append(BOX_ON_GOAL if cell in goals else BOX)
            else:
                line.append(GOAL if cell in goals else FLOOR)
        rows.append("".join(line))
    return tuple(rows)


def parse_board(rows, *, first_line: int | None = None) -> Board:
    """Parse XSB rows into a Board; a malformed level is a DataError (with line numbers when `first_line` is given).

    Requires exactly one player, at least one box, and as many boxes as goals. Short rows are padded with floor.
    """
    rows = [str(r) for r in rows]
    if not rows:
        raise DataError("a Sokoban level needs at least one row")
    where = (lambda i: f"line {first_line + i}") if first_line is not None else (lambda i: f"row {i}")
    level = f"level at line {first_line}" if first_line is not None else "level"
    width = max(len(r) for r in rows)
    walls, goals, boxes, players = set(), set(), set(), []
    for r, row in enumerate(rows):
        for c, ch in enumerate(row):
            ch = _FLOOR_ALIASES.get(ch, ch)
            if ch not in XSB_CHARS:
                raise DataError(
                    f"{where(r)}: unknown Sokoban character {ch!r} at column {c + 1}; "
                    "allowed: '#', ' ', '-', '_', '.', '$', '*', '@', '+'"
                )
            if ch == WALL:
                walls.add((r, c))
            if ch in (GOAL, BOX_ON_GOAL, PLAYER_ON_GOAL):
                goals.add((r, c))
            if ch in (BOX, BOX_ON_GOAL):
                boxes.add((r, c))
            if ch in (PLAYER, PLAYER_ON_GOAL):
                players.append((r, c))
    if not players:
        raise DataError(f"{level}: no player ('@' or '+')")
    if len(players) > 1:
        r, c = players[1]
        raise DataError(f"{where(r)}: a second player at column {c + 1}; a level has exactly one '@' or '+'")
    if not boxes:
        raise DataError(f"{level}: no boxes ('$' or '*')")
    if len(boxes) != len(goals):
        raise DataError(f"{level}: {len(boxes)} boxes but {len(goals)} goals; they must be equal")
    return Board(len(rows), width, frozenset(walls), frozenset(goals), frozenset(boxes), players[0])


def _is_board_line(line: str) -> bool:
    stripped = line.strip()
    if not stripped:
        return False
    if stripped[0] == WALL:
        return True
    # A row may start with floor/goal/box after leading spaces only if it is made of board characters.
    return WALL in stripped and all(ch in XSB_CHARS or ch in _FLOOR_ALIASES for ch in stripped)


def load_xsb(path_or_text: str | os.PathLike) -> list[tuple[str, ...]]:
    """Read every level of an XSB level file (a path, or the file's text itself) as a list of rectangular XSB rows.

    Board lines are those starting with `#` (after indentation); titles, comments (`;`) and blank lines separate
    levels. `-`/`_` floor is normalised to spaces and rows are right-padded with spaces to the level's width.
    A level without a player, with unequal boxes and goals, or with an unknown character is a DataError naming
    the line number. A file with no level at all is a DataError too.
    """
    if isinstance(path_or_text, os.PathLike) or (isinstance(path_or_text, str) and "\n" not in path_or_text
                                                 and not _is_board_line(path_or_text)):
        path = Path(path_or_text)
        if not path.is_file():
            raise DataError(f"Sokoban level file not found: {path}")
        text = path.read_text(encoding="utf-8")
    else:
        text = str(path_or_text)
    levels: list[tuple[str, ...]] = []
    block: list[str] = []
    start = 0

    def flush() -> None:
        if block:
            board = parse_board(block, first_line=start)
            levels.append(board.to_rows())
            block.clear()

    for number, line in enumerate(text.splitlines(), start=1):
        line = line.rstrip("\r\n")
        if _is_board_line(line):
            if not block:
                start = number
            block.append(line.rstrip())
        else:
            flush()
    flush()
    if not levels:
        raise DataError("no Sokoban level found (board lines start with '#')")
    return levels


def dump_xsb(levels, titles=None) -> str:
    """Write levels (each a sequence of XSB rows) as a standard level file that `load_xsb` reads back.

    Each level is preceded by a `; title` comment line (default `; 1`, `; 2`, ...) and followed by a blank line;
    trailing spaces of rows are dropped, as level files usually do. Malformed levels raise DataError.
    """
    levels = [tuple(level) for level in levels]
    titles = list(titles) if titles is not None else [str(i + 1) for i in range(len(levels))]
    if len(titles) != len(levels):
        raise DataError(f"{len(titles)} titles for {len(levels)} levels")
    out = []
    for title, level in zip(titles, levels, strict=True):
        parse_board(level)
        out.append(f"; {title}")
        out.extend(row.rstrip() for row in level)
        out.append("")
    return "\n".join(out)
