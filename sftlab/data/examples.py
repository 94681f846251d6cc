"""Regenerate the example rows of docs/data.md: one real row per preset, built with small n.

    python -m sftlab.data.examples docs/data.md

Replaces the text between `<!-- examples:start -->` and `<!-- examples:end -->` in the given file.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

from sftlab.data import PRESETS, build_preset, load_rows
from sftlab.task_adapters import get_task

START, END = "<!-- examples:start -->", "<!-- examples:end -->"


def examples_markdown() -> str:
    """One fenced JSON row per preset (the teacher preset excepted: it needs a model; of the preference-pair
    presets, the first of each task: the others pair the same way)."""
    parts = []
    paired: set[str] = set()
    with tempfile.TemporaryDirectory() as tmp:
        for name, preset in PRESETS.items():
            if preset.kind == "pairs":
                if preset.task in paired or preset.demo == "teacher":
                    continue
                paired.add(preset.task)
            if preset.demo == "teacher":
                parts.append(f"### `{name}`\n\n{preset.description}. Needs `--teacher MODEL`; its rows are the "
                             "countdown-rl rows plus the first verified teacher sample as the completion.\n")
                continue
            n = 3 if preset.kind == "eval" else 8
            out = build_preset(name, Path(tmp) / name, n=n, progress=False)
            rows = load_rows(out, preset.split)
            row = get_task(preset.task).example_row(preset, rows)
            text = _compact(json.dumps(row, indent=1, ensure_ascii=False))
            parts.append(f"### `{name}`\n\n{preset.description}.\n\n```json\n{text}\n```\n")
    return "\n".join(parts)


def _compact(text: str) -> str:
    """Put lists of plain values on one line: [1, 2, 3] rather than one element per line."""
    return re.sub(r"\[\n\s+([^\[\]{}]*?)\n\s*\]",
                  lambda m: "[" + ", ".join(x.strip().rstrip(",") for x in m.group(1).split("\n")) + "]", text)


def main(argv: list[str] | None = None) -> int:
    path = Path((argv or sys.argv[1:] or ["docs/data.md"])[0])
    text = path.read_text(encoding="utf-8")
    if START not in text or END not in text:
        print(f"{path} has no {START} ... {END} section", file=sys.stderr)
        return 2
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{START}\n{examples_markdown()}\n{END}{tail}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
