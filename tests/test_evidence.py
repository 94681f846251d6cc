"""Every number the docs quote from a run is backed by that run's artifacts, committed under results/.

A quoted block in README.md or docs/*.md is preceded by a marker naming the command that regenerates it from the
committed study folder:

    <!-- evidence: sftlab report results/STUDY -->                 the block appears verbatim in the report.md
    <!-- evidence: sftlab analyze table results/STUDY [ARGS] -->   the block is exactly what the command prints
    <!-- evidence: sftlab quickstart --out results/STUDY -->       a fenced block holding the quickstart's table

The block is the run of lines after the marker up to a blank line (a table's caption and the table count as one
block), or a fenced block (its content). A doc therefore
cannot drift from its evidence, and a reader can rerun the command to check any number.
"""

from __future__ import annotations

import io
import json
import math
import re
import shlex
import subprocess
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from rich.console import Console

from sftlab.analysis.report import build_report
from sftlab.cli import main
from sftlab.io import read_jsonl

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKER = re.compile(r"^<!-- evidence: (?P<command>.+?) -->$")
RESULTS_BUDGET = 25 * 2**20  # bytes: every committed study together


def _quoted_blocks() -> list[tuple[str, str, str]]:
    """(doc:line, command, block) for every evidence marker in the docs."""
    found = []
    for doc in DOCS:
        lines = doc.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            match = MARKER.match(line.strip())
            if not match:
                continue
            rest = lines[i + 1:]
            if rest and rest[0].startswith("```"):
                end = next(j for j in range(1, len(rest)) if rest[j].startswith("```"))
                block = rest[1:end]
            else:  # up to a blank line, except the one between a table's caption and the table
                end = next((j for j, text in enumerate(rest)
                            if not text.strip() and not (j + 1 < len(rest) and rest[j + 1].startswith("|"))), len(rest))
                block = rest[:end]
            found.append((f"{doc.relative_to(ROOT)}:{i + 1}", match["command"], "\n".join(block)))
    return found


@cache
def _report(study: str, out: str) -> str:
    html = build_report(ROOT / study, Path(out) / study.replace("/", "_") / "report.html", weights=False)
    return html.with_suffix(".md").read_text(encoding="utf-8")


def _regenerate(command: str, tmp_dir: Path, capsys) -> str:
    args = shlex.split(command)
    assert args[0] == "sftlab", command
    if args[1] == "report":
        return _report(args[2], str(tmp_dir))
    if args[1:3] == ["analyze", "table"]:
        capsys.readouterr()
        assert main(["analyze", "table", str(ROOT / args[3]), *args[4:]]) == 0
        return capsys.readouterr().out
    if args[1] == "quickstart":
        from sftlab.experiment.quickstart import print_results

        buffer = io.StringIO()
        print_results(ROOT / args[3] / "outputs" / "eval" / "results.sqlite", Console(file=buffer, width=120))
        return buffer.getvalue()
    raise AssertionError(f"no regeneration rule for evidence command {command!r}")


BLOCKS = _quoted_blocks()


def test_the_docs_quote_committed_evidence():
    assert {where.split(":")[0] for where, _, _ in BLOCKS} >= {"README.md", "docs/quickstart.md", "docs/rethinking.md", "docs/results-cpu.md"}


@pytest.mark.parametrize("where,command,block", BLOCKS, ids=[b[0] for b in BLOCKS])
def test_a_quoted_block_equals_what_its_command_regenerates(where, command, block, tmp_path_factory, capsys):
    study = next(arg for arg in shlex.split(command) if arg.startswith("results/"))
    assert (ROOT / study).is_dir(), f"{where}: {study} is not committed"
    regenerated = _regenerate(command, tmp_path_factory.getbasetemp(), capsys)
    if command.split()[1] == "report":
        assert block in regenerated, f"{where}: the quoted block is not in `{command}`'s report.md"
    else:
        assert block.strip("\n") == regenerated.strip("\n"), f"{where}: differs from `{command}`"


def test_committed_studies_stay_within_their_size_budget():
    files = subprocess.run(["git", "ls-files", "-z", "results"], cwd=ROOT, capture_output=True, check=True)
    paths = [ROOT / p for p in files.stdout.decode().split("\0") if p]
    assert paths, "no study evidence is committed under results/"
    assert sum(p.stat().st_size for p in paths if p.is_file()) <= RESULTS_BUDGET


def _history(folder: str, run: str) -> list[dict]:
    path = ROOT / "results" / folder / "outputs" / "runs" / run / "logs" / "log_history.jsonl"
    return [row for row in map(json.loads, path.read_text(encoding="utf-8").splitlines()) if "loss" in row]


def _mean_loss(rows: list[dict]) -> float:
    return sum(row["loss"] for row in rows) / len(rows)


def _labels(folder: str) -> Counter:
    path = ROOT / "results" / folder / "outputs" / "data" / "sokoban-answer-only" / "train.jsonl.gz"
    return Counter(row["answer"] for row in read_jsonl(path))


def _entropy(counts: Counter) -> float:
    return -sum(c / counts.total() * math.log(c / counts.total()) for c in counts.values())


def _results_cpu() -> str:
    return " ".join((ROOT / "docs" / "results-cpu.md").read_text(encoding="utf-8").split())


def _table(study: str, metric: str, step: int, tmp_path, capsys) -> dict[str, list[str]]:
    """Each row of a one-tag `sftlab analyze table` of a committed study at `step`, by label ("fixed-cot @500", "random"):
    its value and interval, e.g. ["28.8", "[23.1–34.6]"]."""
    table = _regenerate(f"sftlab analyze table results/{study} --metric {metric} --step {step}", tmp_path, capsys)
    rows = (line.strip("| ").split(" | ") for line in table.splitlines()
            if line.startswith("| ") and not line.startswith("| run |"))
    return {label: value.split() for label, value in rows}


def _cell(study: str, run: str, metric: str, step: int, tmp_path, capsys) -> list[str]:
    """The value and interval of `run @step` in `sftlab analyze table` of a committed study, e.g. ["28.8", "[23.1–34.6]"]."""
    return _table(study, metric, step, tmp_path, capsys)[f"{run} @{step}"]


def test_the_training_plateau_quoted_in_results_cpu_is_the_committed_log():
    """docs/results-cpu.md explains the models' random-level play by the loss plateau: the numbers it quotes are
    the committed training log's and data's, and the plateau is the label entropy spread over the completion."""
    fixed = _history("cpu-debunk-success", "fixed-answer-only")
    last = [row for row in fixed if row["step"] > fixed[-1]["step"] - 100]
    loss = _mean_loss(last)
    accuracy = sum(row["mean_token_accuracy"] for row in last) / len(last)
    counts = _labels("cpu-debunk-success")
    entropy = _entropy(counts)
    probe = {lr: _history("cpu-debunk-success-lr", f"fixed-lr{lr}") for lr in ("3e-4", "1e-3")}
    probe["1e-4"] = _history("cpu-debunk-success-lr2", "fixed-lr1e-4")
    probe_loss = {lr: _mean_loss([r for r in rows if 50 < r["step"] <= 150]) for lr, rows in probe.items()}

    doc = _results_cpu()
    quoted = [f"mean {loss:.3f}, token accuracy {accuracy:.1%}",
              f"({counts['Up']} Up, {counts['Down']} Down, {counts['Left']} Left, {counts['Right']} Right: entropy "
              f"{entropy:.3f} nats", f"{entropy:.3f} / 15 = {entropy / 15:.3f} per token",
              f"mean loss {probe_loss['3e-4']:.3f} at 3e-4, {probe_loss['1e-3']:.3f} at 1e-3), and so does a third "
              f"rate tried afterwards, 1e-4 ({probe_loss['1e-4']:.3f};"]
    for text in quoted:
        assert text in doc, text
    assert abs(loss - entropy / 15) < 0.005  # the plateau is the label entropy spread over 15 completion tokens


def test_the_long_probe_quoted_in_results_cpu_is_its_committed_log_data_and_store(tmp_path, capsys):
    """The 1000-step probe's plateau and learning curve, as docs/results-cpu.md quotes them in its text."""
    study, run, steps = "cpu-debunk-success-long", "fixed-long", (200, 400, 600, 800, 1000)
    last = _history(study, run)[-100:]
    counts = _labels(study)
    entropy = _entropy(counts)

    optimal = ", ".join(_cell(study, run, "optimal_action_rate", step, tmp_path, capsys)[0] for step in steps)
    success = ", ".join(_cell(study, run, "success", step, tmp_path, capsys)[0] for step in steps)
    doc = _results_cpu()
    for text in (f"on 1000 training puzzles ({counts.total()} rows,",
                 f"mean over the last 100 steps is {_mean_loss(last):.3f}, against {entropy:.3f} / 15 = "
                 f"{entropy / 15:.3f} for these rows' four labels ({counts['Down']} Down, {counts['Right']} Right, "
                 f"{counts['Up']} Up, {counts['Left']} Left)",
                 f"optimal moves {optimal}% and success {success}% at steps 200 to 1000"):
        assert text in doc, text
    assert abs(_mean_loss(last) - entropy / 15) < 0.005  # still on the plateau after 1000 steps


def _rows(prompt: str) -> tuple[str, ...]:
    """The XSB rows of the board a Sokoban prompt shows."""
    from sftlab.tasks.sokoban.render import parse_rendered

    return parse_rendered(prompt.split("[Current Observation]:\n", 1)[1].split("\nDecide", 1)[0])


def _board(prompt: str):
    from sftlab.tasks.sokoban.xsb import parse_board

    return parse_board(_rows(prompt))


_NAMED = {"player": re.compile(r"I am at (\S?\(\d+, \d+\))"),
          "boxes": re.compile(r"Box(?:es)? at ([^.]*?)(?:, \d+ already|\.)"),
          "targets": re.compile(r"Targets? at ([^.]*)\.")}


def _samples(study: str, run: str, step: int) -> list[dict]:
    return read_jsonl(ROOT / "results" / study / "outputs" / "eval" / "samples" / run / f"checkpoint-{step}"
                      / "sokoban-eval.jsonl.gz")


def _reading(study: str, run: str, step: int) -> dict[str, int]:
    """Per-turn counts of what a solver-CoT model read off the board at `step`: the turns whose named player
    square (and its row, its column), box squares and target squares are right, all three at once, and how many
    moves were optimal with and without a right reading; with a `cot_board` that copies the board out, the turns
    that copied all of it right."""
    from sftlab.demos.solver_cot import board_copy_lines
    from sftlab.tasks.sokoban.xsb import parse_board

    counts = Counter()
    for turn in _samples(study, run, step):
        rows = _rows(turn["prompt"])
        board = parse_board(rows)
        copies = ("\n".join(board_copy_lines(rows, kind)) + "\n" for kind in ("rows", "indexed-rows", "squares"))
        counts.update(copied=any(copy in turn["response"] for copy in copies))
        truth = {"player": {board.player}, "boxes": board.boxes, "targets": board.goals}
        named = {name: {(int(r), int(c)) for r, c in re.findall(r"\((\d+), (\d+)\)", m[1])}
                 if (m := rx.search(turn["response"])) else set() for name, rx in _NAMED.items()}
        right = {name: named[name] == truth[name] for name in truth}
        said = next(iter(named["player"]), (-1, -1))
        counts.update(turns=1, **right, player_row=said[0] == board.player[0], player_column=said[1] == board.player[1])
        read = all(right.values())
        counts.update(read=read, optimal_read=read and bool(turn["optimal"]),
                      optimal_misread=not read and bool(turn["optimal"]))
    return counts


def test_the_cot_probe_quoted_in_results_cpu_is_its_committed_log_and_samples(tmp_path, capsys):
    """The solver-CoT probe: its falling loss, how often the square it names as the player's is right against
    always naming the training rows' most common player square, and how it plays when it reads the board right."""
    study, run = "cpu-debunk-success-cot", "fixed-cot"
    outputs = ROOT / "results" / study / "outputs"
    history = _history(study, run)
    early, late = ([r for r in history if lo <= r["step"] <= hi] for lo, hi in ((151, 250), (401, 500)))
    train = read_jsonl(outputs / "data" / "sokoban-cot" / "train.jsonl.gz")
    modal = Counter(_board(row["prompt"][0]["content"]).player for row in train).most_common(1)[0][0]
    turns = _samples(study, run, 500)
    baseline = sum(_board(t["prompt"]).player == modal for t in turns) / len(turns)

    success_500, interval_500 = _cell(study, run, "success", 500, tmp_path, capsys)
    optimal_250 = _cell(study, run, "optimal_action_rate", 250, tmp_path, capsys)[0]
    success_250 = _cell(study, run, "success", 250, tmp_path, capsys)[0]
    at_250, at_500 = _reading(study, run, 250), _reading(study, run, 500)
    misread = at_500["turns"] - at_500["read"]
    doc = _results_cpu()
    for text in (f"(success {success_500}% {interval_500.replace('–', ', ')} against random's 25.0%; at step 250, "
                 f"{optimal_250}% optimal moves and {success_250}% success.)",
                 f"mean {_mean_loss(early):.3f} per completion token over steps 151-250, {_mean_loss(late):.3f} over "
                 f"steps 401-500", f"is the player's on {at_250['player'] / at_250['turns']:.1%} of its turns at step "
                 f"250 and {at_500['player'] / at_500['turns']:.1%} at step 500, where always naming the training "
                 f"rows' most common player square would be right on {baseline:.1%} of these turns",
                 f"it names the player, every box and every target right on {at_500['read']} of its "
                 f"{at_500['turns']} turns at step 500 ({at_500['read'] / at_500['turns']:.1%}; the boxes alone on "
                 f"{at_500['boxes'] / at_500['turns']:.1%}, the targets alone on "
                 f"{at_500['targets'] / at_500['turns']:.1%}), and on those its move is optimal "
                 f"{at_500['optimal_read']} times; on the other {misread}, {at_500['optimal_misread'] / misread:.1%}",
                 f"has the right column on {at_500['player_column'] / at_500['turns']:.1%} of its turns but the right "
                 f"row on {at_500['player_row'] / at_500['turns']:.1%}"):
        assert text in doc, text
    assert baseline < at_250["player"] / at_250["turns"] < at_500["player"] / at_500["turns"]
    # reading the board is the bottleneck: read right, the move is optimal far more often
    assert at_500["optimal_read"] / at_500["read"] > 2 * at_500["optimal_misread"] / misread
    assert at_500["player_column"] > 2 * at_500["player_row"]  # it counts along a line, not the lines


def _seconds(study: str, step: str) -> float:
    """The wall seconds a committed study's step state records."""
    return json.loads((ROOT / "results" / study / "state" / f"{step}.json").read_text())["seconds"]


def _probe_times(study: str, run: str) -> str:
    """A one-condition probe's training and evaluation times as docs/results-cpu.md quotes them (the report's form)."""
    from sftlab.analysis.timing import duration

    return (f"{duration(_seconds(study, f'train__{run}'))} of training and "
            f"{duration(_seconds(study, f'eval__{run}__sokoban-eval'))} of evaluation on 2 cores")


def test_the_row_copying_probe_quoted_in_results_cpu_is_its_committed_store_and_samples(tmp_path, capsys):
    """`cot_board: rows`: its times, how it reads the board (rows right, columns not) and its play, as quoted."""
    study, run = "cpu-debunk-success-cot-rows", "fixed-cot-rows"
    at_500 = _reading(study, run, 500)
    success, interval = _cell(study, run, "success", 500, tmp_path, capsys)
    doc = _results_cpu()
    for text in (_probe_times(study, run),
                 f"it copies every row right on {at_500['copied']} of its {at_500['turns']} turns and names the "
                 f"player's row right on {at_500['player_row']}. But it names the column right on only "
                 f"{at_500['player_column']} ({at_500['player_column'] / at_500['turns']:.1%};",
                 f"so the player's square on {at_500['player']} ({at_500['player'] / at_500['turns']:.1%}), player, "
                 f"boxes and targets together on {at_500['read']} ({at_500['read'] / at_500['turns']:.1%})",
                 f"(success {success}% {interval.replace('–', ', ')} against random's 25.0%; at step 250, "
                 f"{_cell(study, run, 'optimal_action_rate', 250, tmp_path, capsys)[0]}% optimal moves and "
                 f"{_cell(study, run, 'success', 250, tmp_path, capsys)[0]}% success.)"):
        assert text in doc, text
    assert at_500["copied"] == at_500["turns"] and at_500["player_row"] > 0.95 * at_500["turns"]
    assert at_500["player_column"] < 0.5 * at_500["turns"]  # the column is what it now misreads


def test_the_cell_copying_probe_quoted_in_results_cpu_is_its_committed_store_and_samples(tmp_path, capsys):
    """`cot_board: indexed-rows`: its times, how it reads the board (copied, not read) and its play, as quoted."""
    study, run = "cpu-debunk-success-cot-cells", "fixed-cot-cells"
    at = _reading(study, run, 500)
    success, interval = _cell(study, run, "success", 500, tmp_path, capsys)
    doc = _results_cpu()
    for text in (_probe_times(study, run),
                 f"It copies the board right on {at['copied']} of its {at['turns']} turns, and still does not read it: "
                 f"the player's row is right on {at['player_row']} ({at['player_row'] / at['turns']:.1%}), the column "
                 f"on {at['player_column']} ({at['player_column'] / at['turns']:.1%}), the square on {at['player']} "
                 f"({at['player'] / at['turns']:.1%}), and player, boxes and targets together on none.",
                 f"(success {success}% {interval.replace('–', ', ')} against random's 25.0%.)"):
        assert text in doc, text
    assert at["copied"] == at["turns"] and at["read"] == 0


def _planning(study: str, run: str, step: int) -> Counter:
    """Per-turn counts of how a solver-CoT model plans at `step`: the turns whose position still has a solution
    (live), and on those, how often the plan it writes solves the position when replayed (in the fewest moves) and
    how often its move is optimal."""
    from sftlab.tasks.sokoban import SokobanGame, shortest_length

    counts = Counter()
    for turn in _samples(study, run, step):
        rows = _rows(turn["prompt"])
        fewest = shortest_length(rows)
        counts.update(turns=1, live=fewest is not None)
        written = re.search(r"Shortest plan from here \(\d+ moves?\): ([A-Za-z, ]+)\.", turn["response"])
        if fewest is None or written is None:
            continue
        moves, game = written[1].split(", "), SokobanGame(rows, max_steps=100)
        played = 0
        while played < len(moves) and not game.solved:
            game.step(moves[played])
            played += 1
        solves = game.solved and played == len(moves)
        counts.update(solves=solves, shortest=solves and len(moves) == fewest, optimal=bool(turn["optimal"]))
    return counts


def _paired_success(study: str, run: str, step: int, against: str = "random") -> tuple[int, int, float]:
    """Episodes solved only by `run @step` on ID, only by the `against` baseline, and the exact one-sided McNemar p
    of "the run solves more", from the two runs' committed samples of the same puzzles (read as the judge reads
    them)."""
    from sftlab.analysis.debunk import read_episode_outcomes
    from sftlab.stats import mcnemar_exact

    def solved(folder: str) -> dict[str, bool]:
        path = ROOT / "results" / study / "outputs" / "eval" / "samples" / folder / "sokoban-eval.jsonl.gz"
        return read_episode_outcomes(path)["SimpleSokoban"]

    mine, theirs = solved(f"{run}/checkpoint-{step}"), solved(f"{against}/{against}")
    assert mine.keys() == theirs.keys()
    only_mine = sum(mine[i] and not theirs[i] for i in mine)
    only_theirs = sum(theirs[i] and not mine[i] for i in mine)
    return only_mine, only_theirs, mcnemar_exact(only_mine, only_theirs)[0]


def test_the_square_copying_probe_quoted_in_results_cpu_is_its_committed_store_and_samples(tmp_path, capsys):
    """`cot_board: squares`: its times, its loss, how it reads the board (right on every turn), how it plays against
    the random policy (the paired test on the same puzzles) and how it plans, as quoted."""
    from sftlab.analysis.timing import duration

    study, run = "cpu-debunk-success-cot-squares", "fixed-cot-squares"
    history = _history(study, run)
    early, late = ([r for r in history if lo <= r["step"] <= hi] for lo, hi in ((151, 250), (401, 500)))
    at_250, at_500 = _reading(study, run, 250), _reading(study, run, 500)
    plans = _planning(study, run, 500)
    cells = _table(study, "success", 500, tmp_path, capsys)
    (success, interval), (random_success, random_interval) = cells[f"{run} @500"], cells["random"]
    only_model, only_random, p = _paired_success(study, run, 500)
    # the paired counts are those of the stored cells: 40 episodes each, success differing by their difference
    assert round((only_model - only_random) / 40 * 100, 1) == round(float(success) - float(random_success), 1)
    doc = _results_cpu()
    for text in (_probe_times(study, run),
                 f"names the player, every box and every target right on {at_250['read']} of its {at_250['turns']} "
                 f"turns at step\n250 ({at_250['read'] / at_250['turns']:.1%}) and on {at_500['read']} of its "
                 f"{at_500['turns']} turns at step 500 ({at_500['read'] / at_500['turns']:.1%})",
                 f"{_mean_loss(late):.3f} per completion\ntoken over steps 401-500 ({_mean_loss(early):.3f} over "
                 "steps 151-250)",
                 f"it solves {success}% {interval.replace('–', ', ')} of the 40 episodes against random's "
                 f"{random_success}% {random_interval.replace('–', ', ')}",
                 f"({only_model} episodes solved only by the model, {only_random} only by random; exact\nMcNemar, "
                 f"one-sided p = {p:.3f})",
                 f"(At step 250: {_cell(study, run, 'optimal_action_rate', 250, tmp_path, capsys)[0]}% optimal moves "
                 f"and {_cell(study, run, 'success', 250, tmp_path, capsys)[0]}% success.)",
                 f"on {plans['turns'] - plans['live']} of\nits {plans['turns']} turns at step 500 the position has no "
                 f"solution any more",
                 f"on the other {plans['live']} the plan it writes solves the position {plans['solves']} times "
                 f"({plans['shortest']} of them in the fewest\nmoves), and its move is optimal on {plans['optimal']} "
                 f"({plans['optimal'] / plans['live']:.1%})",
                 f"(the plan it writes solves the position on {plans['solves'] / plans['live']:.0%} of its live "
                 "turns)",
                 f"({float(success):.0f}% of episodes solved against {float(random_success):.0f}%, exact McNemar p = "
                 f"{p:.3f} on the same 40 puzzles;"):
        assert " ".join(text.split()) in " ".join(doc.split()), text
    total = _seconds(study, f"train__{run}") + _seconds(study, f"eval__{run}__sokoban-eval")
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert (f"solves {float(success):.0f}% of the episodes against random's {float(random_success):.0f}% (exact "
            f"McNemar p = {p:.3f} on the same 40 puzzles; `experiments/{study}.yaml`, {duration(total)})") in readme
    assert at_500["read"] == at_500["copied"] == at_500["turns"]  # copied and read on every turn
    assert p < 0.05 and only_model > only_random  # plays better than random on ID, by the paired test
    assert plans["solves"] < 0.5 * plans["live"]  # planning, not reading, is what it now gets wrong


def test_the_square_copying_probe_on_100_episodes_quoted_in_results_cpu_is_its_committed_store_and_samples(
        tmp_path, capsys):
    """The follow-up on the paper's 100 ID episodes: its time, reading, paired test against random and planning."""
    from sftlab.analysis.timing import duration

    study, run = "cpu-debunk-success-cot-squares-100", "fixed-cot-squares"
    reading, plans = _reading(study, run, 500), _planning(study, run, 500)
    cells = _table(study, "success", 500, tmp_path, capsys)
    success, random_success = cells[f"{run} @500"], cells["random"]
    only_model, only_random, p = _paired_success(study, run, 500)
    assert round((only_model - only_random) / 100 * 100, 1) == round(float(success[0]) - float(random_success[0]), 1)
    seconds = _seconds(study, f"eval__{run}__sokoban-eval")
    doc, readme = _results_cpu(), " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    for text in (f"{duration(seconds)} of evaluation on 2 cores",
                 f"It reads the board right on all {reading['turns']} of its turns and solves {success[0]}% "
                 f"{success[1].replace('–', ', ')} of the episodes against random's {random_success[0]}% "
                 f"{random_success[1].replace('–', ', ')}: {only_model} episodes solved only by the model, "
                 f"{only_random} only by random, exact McNemar one-sided p = {p:.2g},",
                 f"on its {plans['live']} turns in a live position the plan it writes solves the position "
                 f"{plans['solves']} times",
                 f"on the paper's 100 episodes {float(success[0]):.0f}% against {float(random_success[0]):.0f}%, "
                 f"p = {p:.2g}"):
        assert text in doc, text
    assert (f"and {float(success[0]):.0f}% against {float(random_success[0]):.0f}% on the paper's 100 episodes (p = "
            f"{p:.2g}; `experiments/{study}.yaml`, {duration(seconds)})") in readme
    assert reading["read"] == reading["turns"] and p < 0.001
    assert float(success[1].split("–")[0].strip("[")) > float(random_success[1].split("–")[1].strip("]"))
