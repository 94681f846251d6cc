"""`run_experiment`: spec -> plan -> run what is not done yet, and print where things stand."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from sftlab.errors import ConfigError, DataError, SftlabError
from sftlab.experiment.executors import EXECUTORS, run_local, run_ray
from sftlab.experiment.plan import Plan, expand, log_path, parse_only, select, step_status
from sftlab.experiment.spec import ExperimentSpec, load_spec
from sftlab.experiment.steps import train_processes
from sftlab.io import atomic_write_json, atomic_write_text
from sftlab.store import FILENAME, is_damaged
from sftlab.train.methods import is_method

# What a status means for the next run.
ACTIONS = {"done": "skip (done)", "pending": "run", "changed": "rerun (inputs changed)",
           "lost": "redo (outputs missing or altered)", "stale": "redo (an input was redone)",
           "failed": "retry (failed)", "interrupted": "resume (interrupted)", "running": "running elsewhere"}
# A redone step can make the steps that read it stale; each pass runs what is not done, at most this many.
MAX_PASSES = 3


@dataclasses.dataclass
class RunSummary:
    """The outcome of one `sftlab run`: per step id its status (done, failed, blocked, not run, skipped)."""

    exp: Path
    plan: Plan
    outcome: dict
    errors: dict
    seconds: float

    @property
    def failed(self) -> list[str]:
        return [s for s, o in self.outcome.items() if o in ("failed", "blocked", "not run")]


def plan_for(spec: ExperimentSpec, only=()) -> tuple[Plan, Plan]:
    """(full plan, selected plan) of a spec under `--only` filters."""
    full = expand(spec)
    return full, select(full, parse_only(list(only)))


def plan_table(plan: Plan, exp: Path, title: str | None = None) -> Table:
    """A rich table: each step, its hash, its status in `exp` and what a run would do with it."""
    table = Table(title=title, show_lines=False)
    for col in ("#", "step", "kind", "hash", "needs", "status", "next run"):
        table.add_column(col, overflow="fold", no_wrap=col not in ("step", "next run"))
    styles = {"done": "green", "failed": "red", "changed": "yellow", "interrupted": "yellow", "lost": "yellow",
              "stale": "yellow"}
    for i, step in enumerate(plan.steps, 1):
        status = step_status(exp, step)
        needs = f"{step.resources.get('cpus', 0):g} cpu" + (
            f", {step.resources['gpus']:g} gpu" if step.resources.get("gpus") else "")
        if is_method(step.kind) and train_processes(step.resources) > 1:
            needs += f", {train_processes(step.resources)} processes"
        table.add_row(str(i), step.id, step.kind, step.hash[:8], needs,
                      f"[{styles.get(status, 'white')}]{status}[/]", ACTIONS[status])
    return table


@contextlib.contextmanager
def _exclusive(exp: Path):
    """Hold EXP/.lock so two `sftlab run`s never work on one experiment folder at once."""
    import fcntl

    exp.mkdir(parents=True, exist_ok=True)
    with (exp / ".lock").open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise DataError(f"another `sftlab run` is working in {exp}; wait for it or use another --out") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def run_experiment(spec: str | Path | ExperimentSpec, out: str | Path | None = None, *, only=(),
                   executor: str = "local", ray_address: str | None = None, ray_num_cpus: int | None = None,
                   keep_going: bool = False, dry_run: bool = False, console: Console | None = None) -> RunSummary:
    """Run a spec's plan in `out` (default `out/<spec name>`), skipping steps already done with the same inputs.

    Writes EXP/spec.yaml and EXP/plan.json first, then runs the remaining steps with the chosen executor. With
    `dry_run` it only prints the plan and what would run. Raises SftlabError naming the failed steps (and their
    logs) when any step failed; the steps that finished stay done, so a rerun retries only the rest.
    """
    if executor not in EXECUTORS:
        raise ConfigError(f"unknown executor {executor!r}; choose one of: {', '.join(EXECUTORS)}")
    console = console or Console(stderr=False)
    if not isinstance(spec, ExperimentSpec):
        spec = load_spec(spec)
    exp = Path(out) if out is not None else Path("out") / spec.name
    full, plan = plan_for(spec, only)
    todo = [s.id for s in plan.steps if step_status(exp, s) != "done"]
    title = f"{spec.name}: {len(plan)} steps, {len(todo)} to run  ({exp})"
    console.print(plan_table(plan, exp, title=title))
    if dry_run:
        return RunSummary(exp=exp, plan=plan, outcome={}, errors={}, seconds=0.0)
    with _exclusive(exp):
        _write_description(spec, full, exp)
        _set_aside_damaged_store(exp, console)
        started = time.time()
        done_before = len(plan) - len(todo)
        counter = {"n": done_before}

        def on_event(kind, step, result):
            if kind == "start":
                counter["n"] += 1
                console.rule(f"[bold]step {counter['n']}/{len(plan)}: {step.id}[/] ({step.kind}, {step.hash[:8]})")
            elif result["status"] == "done":
                console.print(f"[green]done[/] {step.id} in {_fmt(result.get('seconds', 0))}")
            else:
                console.print(f"[red]failed[/] {step.id}: {result.get('error')}")

        if not todo:
            console.print("everything is done; nothing to run")
        outcome, errors, this_pass = {}, {}, todo
        for _ in range(MAX_PASSES):
            if executor == "local":
                schedule = run_local(plan, this_pass, exp, keep_going=keep_going, on_event=on_event)
            else:
                schedule = run_ray(plan, this_pass, exp, keep_going=keep_going, address=ray_address,
                                   num_cpus=ray_num_cpus, on_event=on_event)
            outcome.update({sid: schedule.outcome.get(sid, "not run") for sid in this_pass})
            errors.update(schedule.errors)
            if any(o != "done" for o in outcome.values()):
                break
            # A step redone into other outputs makes its readers stale (the report made before it): redo those.
            this_pass = [s.id for s in plan.steps if step_status(exp, s) != "done"]
            if not this_pass:
                break
            todo = todo + [s for s in this_pass if s not in todo]
    summary = RunSummary(exp=exp, plan=plan, outcome=outcome, errors=errors,
                         seconds=time.time() - started)
    if summary.failed:
        for sid in summary.failed:
            console.print(f"[red]{outcome[sid]}[/] {sid}: {errors.get(sid, 'stopped after a failure')}")
        first = next(s for s in summary.failed if outcome[s] == "failed") if any(
            outcome[s] == "failed" for s in summary.failed) else summary.failed[0]
        raise SftlabError(
            f"{len(summary.failed)} of {len(todo)} steps did not finish ({', '.join(summary.failed[:4])}"
            f"{', ...' if len(summary.failed) > 4 else ''}); see {log_path(exp, first)}; "
            f"rerun the same command to retry only those")
    console.print(f"[bold green]{spec.name}[/]: all {len(plan)} steps done in {exp} "
                  f"({_fmt(summary.seconds)} this run)")
    return summary


def _set_aside_damaged_store(exp: Path, console: Console) -> None:
    """Move a results store that cannot be read to superseded/, so its evaluations run again (their steps see
    their rows gone) instead of every eval step failing on it."""
    store = exp / "outputs" / "eval" / FILENAME
    if not store.is_file() or not is_damaged(store):
        return
    dest = exp / "superseded" / f"{FILENAME}.damaged-{time.strftime('%Y%m%d-%H%M%S')}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        part = store.with_name(store.name + suffix)
        if part.exists():
            part.replace(dest.with_name(dest.name + suffix))
    console.print(f"[yellow]note[/]: the results store {store} cannot be read; moved it to {dest}; "
                  "the evaluations that were in it run again")


def _write_description(spec: ExperimentSpec, plan: Plan, exp: Path) -> None:
    """The experiment folder describes itself: the spec as given and the resolved plan."""
    source = Path(spec.source)
    if source.is_file():
        atomic_write_text(exp / "spec.yaml", source.read_text(encoding="utf-8"))
    else:
        import yaml

        atomic_write_text(exp / "spec.yaml", yaml.safe_dump(spec.raw, sort_keys=False))
    atomic_write_json(exp / "plan.json", plan.to_json())


def _fmt(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
