"""`sftlab quickstart`: the Debunk paper's central effect, on a laptop CPU, in one command.

It runs the packaged spec `quickstart.yaml` (identical to experiments/quickstart.yaml): small fixed- and
diverse-prompt Sokoban answer-only sets, SmolLM2-135M fine-tuned on each, the base model, both runs and the
oracle/random policies evaluated on SimpleSokoban, Alphabetical, Numerical, Random and FakeNumerical; then it
prints the paper-style table and writes the HTML report. Rerunning resumes where it stopped.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from sftlab.errors import SftlabError
from sftlab.experiment.runner import run_experiment
from sftlab.experiment.spec import load_spec
from sftlab.store import ResultsStore

SPEC_PATH = Path(__file__).with_name("quickstart.yaml")

SHORT = {"SimpleSokoban": "Simple (ID)", "SimpleSokobanAlphabetical": "Alpha.", "SimpleSokobanNumerical": "Num.",
         "SimpleSokobanRandom": "Rand.", "FakeSokobanNumerical": "Fake", "LargerSokoban": "Larger",
         "TwoBoxesSokoban": "TwoBoxes", "ComplexSokoban": "Complex"}


def run_quickstart(out: str | Path = "quickstart", *, dry_run: bool = False, console: Console | None = None):
    """Run the quickstart in `out` (resumable), then print the table and where the report is."""
    console = console or Console()
    spec = load_spec(SPEC_PATH)
    console.print(f"[bold]sftlab quickstart[/]: {spec.description.strip()}")
    if spec.measured:
        console.print(f"expected time: {spec.measured}")
    failure = None
    try:
        summary = run_experiment(spec, out, keep_going=True, dry_run=dry_run, console=console)
    except SftlabError as exc:  # show what did finish, then report the failure
        failure, summary = exc, None
    if dry_run:
        return summary
    store = Path(out) / "outputs" / "eval" / "results.sqlite"
    if not store.is_file():
        if failure:
            raise failure
        return summary
    print_results(store, console)
    console.print(
        "success = share of episodes solved within the turn limit; action_is_valid = share of turns whose answer "
        "was one of the accepted labels (Fake: the environment accepts only Up/Down/Left/Right), averaged as the "
        "paper's code does over the episodes with at least one valid turn; validity_all_episodes = the same over "
        "all episodes (an episode with no valid turn counts 0). "
        "(a-b) = 95% Wilson interval over episodes; see docs/quickstart.md for how to read it.", markup=False)
    report = Path(out) / "report.html"
    if report.is_file():
        console.print(f"report: {report}")
    if failure:
        raise failure
    return summary


def print_results(store: str | Path, console: Console) -> None:
    """Print the quickstart's table from its results store, never narrower than 120 columns (logs and pipes
    default to 80). docs/quickstart.md quotes this output; tests/test_evidence.py keeps the two equal."""
    spec = load_spec(SPEC_PATH)
    suite = spec.eval.suites[0]
    table = results_table(store, suite=suite, splits=spec.eval.splits_for(suite),
                          runs=[c.name for c in spec.conditions], title="Quickstart results")
    Console(width=max(console.width, 120), file=console.file).print(table)


def results_table(store_path: str | Path, *, suite: str, splits=None, runs=(), title: str | None = None,
                  metrics=("success", "action_is_valid", "validity_all_episodes")) -> Table:
    """A rich table of `metrics` per split for base, the given runs (last checkpoint each), oracle and random.

    Each cell shows the value in percent with its stored 95% interval; missing numbers show as '-'.
    """
    table = Table(title=title)
    table.add_column("run", min_width=12, overflow="fold")
    table.add_column("metric", min_width=8, no_wrap=True)
    with ResultsStore(store_path) as store:
        rows = store.query(suite=suite)
    splits = list(splits or sorted({r.split for r in rows}))
    for split in splits:
        table.add_column(SHORT.get(split, split), justify="right", no_wrap=True)
    present = sorted({r.run for r in rows})
    order = [r for r in ["base", *runs, "oracle", "random"] if r in present]
    order += [r for r in present if r not in order]
    for run in order:
        mine = [r for r in rows if r.run == run]
        last = max((r.step for r in mine if r.step is not None), default=None)
        if last is not None:
            mine = [r for r in mine if r.step == last or r.step is None]
        label = run if last in (None, 0) else f"{run} @{last}"
        for i, metric in enumerate(metrics):
            cells = []
            for split in splits:
                hit = next((r for r in mine if r.split == split and r.metric == metric), None)
                if hit is None:
                    cells.append("-")
                    continue
                ci = (f" ({100 * hit.ci_low:.0f}-{100 * hit.ci_high:.0f})"
                      if hit.ci_low is not None and hit.ci_high is not None else "")
                cells.append(f"{100 * hit.value:.0f}%{ci}")
            table.add_row(label if i == 0 else "", metric, *cells, end_section=i == len(metrics) - 1)
    return table
