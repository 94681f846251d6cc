"""The model-facing text grid (spec 1.3): each cell is `" " + symbol + " \\t"`, rows joined by `\\n`.

Symbols: `#` wall, `_` floor, `O` target, `√` box on target, `X` box, `P` player, `S` player on target.
"""

from __future__ import annotations

from sftlab.errors import DataError

XSB_TO_SYMBOL = {"#": "#", " ": "_", ".": "O", "*": "√", "$": "X", "@": "P", "+": "S"}
SYMBOL_TO_XSB = {v: k for k, v in XSB_TO_SYMBOL.items()}


def render(rows) -> str:
    """Render XSB rows exactly as the original environment shows them to the model (no trailing newline)."""
    out = []
    for r, row in enumerate(rows):
        try:
            out.append("".join(f" {XSB_TO_SYMBOL[ch]} \t" for ch in row))
        except KeyError as exc:
            raise DataError(f"row {r}: unknown XSB character {exc.args[0]!r}") from None
    return "\n".join(out)


def parse_rendered(text: str) -> tuple[str, ...]:
    """Parse a rendered grid (as made by `render`) back to XSB rows; anything else is a DataError."""
    rows = []
    for r, line in enumerate(text.strip("\n").split("\n")):
        cells = line.split("\t")
        if cells and cells[-1].strip() == "":
            cells = cells[:-1]
        row = []
        for c, cell in enumerate(cells):
            sym = cell.strip()
            if sym not in SYMBOL_TO_XSB:
                raise DataError(f"rendered grid row {r}, cell {c}: unknown symbol {sym!r}")
            row.append(SYMBOL_TO_XSB[sym])
        rows.append("".join(row))
    return tuple(rows)
