"""Experiments: one YAML spec runs a whole study (data -> train -> eval per cell, baselines, report), resumably.

    from sftlab.experiment import load_spec, expand, run_experiment, quickstart
    spec = load_spec("experiments/paper-sokoban.yaml")      # validated; typos name the offending key
    plan = expand(spec)                                     # steps with input hashes
    run_experiment(spec, "out/paper-sokoban", executor="local", keep_going=True)

See docs/experiments.md.
"""

from sftlab.experiment.plan import Plan, Step, expand, parse_only, select, step_status
from sftlab.experiment.runner import RunSummary, plan_table, run_experiment
from sftlab.experiment.spec import ExperimentSpec, SpecError, load_spec, parse_spec

__all__ = [
    "ExperimentSpec", "Plan", "RunSummary", "SpecError", "Step", "expand", "load_spec", "parse_only",
    "parse_spec", "plan_table", "quickstart", "run_experiment", "select", "step_status",
]


def quickstart(out="quickstart", **kwargs):
    """Run the packaged quickstart spec (see sftlab.experiment.quickstart.run_quickstart)."""
    from sftlab.experiment.quickstart import run_quickstart

    return run_quickstart(out, **kwargs)
