"""The report's "Step times" section: how long each step of an experiment took, and how loaded the machine was.

An experiment folder keeps one state file per step (`state/<step>.json`, written by `sftlab run`) with the wall
seconds, the CPU seconds and the 1-minute load average at the step's start and end. This section tables them so a
documented timing can be read back from the study's own files, with the load it was measured under.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from sftlab.analysis.report import ReportContext, Section, register_section

COLUMNS = ("step", "status", "wall", "CPU", "load (start → end)")


def read_step_states(folder: str | Path) -> list[dict]:
    """The readable `state/*.json` of an experiment folder, sorted by start time.

    Unreadable files are skipped, and so is the report step (it is running while the report is written)."""
    states = []
    for path in sorted(Path(folder).glob("state/*.json")):
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(state, dict) and "id" in state and state.get("kind") != "report":
            states.append(state)
    return sorted(states, key=lambda s: (s.get("started") or 0, s["id"]))


def duration(seconds: float | None) -> str:
    """`seconds` as `1 h 02 min`, `9 min 38 s` or `4.2 s` (a dash when unknown)."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def step_rows(states: list[dict]) -> list[tuple[str, ...]]:
    """One row per step plus a total row (wall and CPU summed over the steps that recorded them)."""
    rows = []
    for s in states:
        load = s.get("load") or []
        load_text = " → ".join(f"{x:.1f}" for x in load if x is not None) or "-"
        rows.append((s["id"], s.get("status", "?"), duration(s.get("seconds")), duration(s.get("cpu_seconds")),
                     load_text))
    wall = sum(s.get("seconds") or 0 for s in states)
    cpu = [s["cpu_seconds"] for s in states if s.get("cpu_seconds") is not None]
    rows.append(("all steps", "", duration(wall), duration(sum(cpu)) if cpu else "-", ""))
    return rows


def steps_section(ctx: ReportContext) -> Section | None:
    """The step-time table of the experiment folder being reported on (None outside an experiment)."""
    folders = [f for f in {ctx.root, ctx.out_dir} if f is not None and (Path(f) / "state").is_dir()]
    if not folders:
        return None
    states = read_step_states(folders[0])
    if not states:
        return None
    rows = step_rows(states)
    intro = ("Wall and CPU time of each step as `sftlab run` recorded them (state/*.json), with the machine's "
             "1-minute load average when the step started and ended: a timing is only as quiet as its load.")
    md = [intro, "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    md += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    table = f'<table class="results"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    return Section("Step times", f"<p>{html.escape(intro)}</p>{table}", "\n".join(md))


register_section("step-times", steps_section)
