"""Run one step of a plan: call the stage's own library function, record the outcome, keep a log.

`execute_step` is what both executors call (the Ray executor inside a Ray task). It writes `state/<step>.json`
(running -> done | failed, with the step's hash), tees the step's output into `logs/<step>.log`, and moves the
outputs of a previous version of the step (other inputs) to `superseded/` before redoing it. A crash inside a
stage becomes a `failed` state with the error's one-line message; it never escapes as a traceback.

The stage modules it calls load torch and the trainers inside their own functions, so planning and `--dry-run`
never load them.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from sftlab.analysis.report import build_report
from sftlab.data import build_preset
from sftlab.errors import ConfigError, SftlabError, environment_error
from sftlab.evaluate import EvalConfig, evaluate
from sftlab.experiment.launch_command import accelerate_command
from sftlab.experiment.outputs import record_outputs
from sftlab.experiment.plan import Plan, Step, input_digest, log_path, output_path, read_state, state_path
from sftlab.io import atomic_write_json
from sftlab.store import ResultsStore
from sftlab.task_adapters import task_of_suite
from sftlab.task_adapters.options import declared, without_others
from sftlab.train.methods import get_method, is_method, unknown_method_message
from sftlab.train.runs import list_checkpoints

Runner = Callable[[Step, "StepContext"], dict]
RUNNERS: dict[str, Runner] = {}


@dataclasses.dataclass
class StepContext:
    """What a runner needs: the experiment folder and the plan (to find its dependencies' outputs)."""

    exp: Path
    plan: Plan

    def output(self, step_id: str) -> Path:
        return output_path(self.exp, self.plan[step_id])


def register(kind: str) -> Callable[[Runner], Runner]:
    """Register the function that runs steps of `kind` (returns a dict recorded in the step's state)."""

    def wrap(fn: Runner) -> Runner:
        RUNNERS[kind] = fn
        return fn

    return wrap


# --- the outcome record ------------------------------------------------------------------------------------------


def _write_state(exp: Path, step: Step, **fields) -> None:
    atomic_write_json(state_path(exp, step), {"id": step.id, "kind": step.kind, "hash": step.hash,
                                              "node": _node(), **fields})


def _node() -> dict:
    """Where this step runs: the host, and the Ray node id inside a Ray task (to tell cluster nodes apart)."""
    node = {"host": socket.gethostname()}
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        node["ray_node_id"] = ray.get_runtime_context().get_node_id()
    return node


class _Tee:
    """Write to the console stream and to the step's log file."""

    def __init__(self, stream, log):
        self._stream, self._log = stream, log

    def write(self, text):
        # A library may keep a handle on this stream after the step ends (e.g. a logger created mid-step): once
        # the log file is closed, write to the console only.
        if not self._log.closed:
            self._log.write(text)
        return self._stream.write(text)

    def flush(self):
        if not self._log.closed:
            self._log.flush()
        self._stream.flush()

    def isatty(self):
        return self._stream.isatty()

    def __getattr__(self, name):
        return getattr(self._stream, name)


class _Log:
    """The step's log file; once a write fails (a full disk) it stops logging instead of failing the step."""

    def __init__(self, fh):
        self._fh, self.closed = fh, False

    def _do(self, method, *args):
        if self.closed:
            return None
        try:
            return getattr(self._fh, method)(*args)
        except OSError:
            self.close()
            return None

    def write(self, text):
        self._do("write", text)
        return len(text)

    def flush(self):
        self._do("flush")

    def close(self):
        if not self.closed:
            self.closed = True
            with contextlib.suppress(OSError):
                self._fh.close()


@contextlib.contextmanager
def _logging_to(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    log = _Log(path.open("a", encoding="utf-8"))
    with contextlib.closing(log):
        handler = logging.StreamHandler(log)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        out, err = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Tee(out, log), _Tee(err, log)
        try:
            yield log
        finally:
            sys.stdout, sys.stderr = out, err
            root.removeHandler(handler)


def _supersede(exp: Path, step: Step, old: dict) -> None:
    """Move the outputs of a version of this step with other inputs out of the way (eval: drop its store rows)."""
    if step.kind == "eval":
        keys = old.get("outputs", {}).get("result_keys") or []
        store = output_path(exp, step) / "results.sqlite"
        if keys and store.is_file():
            with ResultsStore(store) as results:
                results.delete(keys)
        return
    out = output_path(exp, step)
    if out.exists() and step.kind != "report":
        dest = Path(exp) / "superseded" / f"{out.parent.name}-{out.name}-{str(old.get('hash', 'old'))[:8]}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(out, dest)


def execute_step(step_json: dict, exp: str, plan_json: dict) -> dict:
    """Run one step and record it; returns {"id", "status": "done"|"failed", "error", "seconds"}.

    Safe to call in another process (a Ray task): everything it needs is in its plain-data arguments.
    """
    exp = Path(exp)
    step = Plan.from_json({"name": "", "steps": [step_json]}).steps[0]
    plan = Plan.from_json(plan_json)
    old = read_state(exp, step)
    if old and old.get("hash") != step.hash:
        _supersede(exp, step, old)
    started = time.time()
    load_at_start, cpu_at_start = _machine_load(), _cpu_seconds()
    attempt = (old or {}).get("attempt", 0) + 1 if old and old.get("hash") == step.hash else 1
    _write_state(exp, step, status="running", pid=os.getpid(), started=started, attempt=attempt)
    outputs, error = {}, None
    with _logging_to(log_path(exp, step)) as log:
        log.write(f"\n=== {step.id} ({step.kind}, hash {step.hash}) started {time.ctime(started)}\n")
        try:
            runner = RUNNERS.get(step.kind) or (_train if is_method(step.kind) else None)  # every method trains
            if runner is None:  # e.g. a plugin method whose file this process did not load
                raise ConfigError(f"no runner for step kind {step.kind!r}: {unknown_method_message(step.kind)}")
            outputs = runner(step, StepContext(exp=exp, plan=plan)) or {}
        except KeyboardInterrupt:
            _write_state(exp, step, status="failed", error="interrupted", started=started,
                         seconds=time.time() - started, attempt=attempt)
            raise
        except SftlabError as exc:
            error = str(exc)
            log.write(traceback.format_exc())
        except Exception as exc:  # a stage crashed: record it, keep the other steps going
            mapped = environment_error(exc)  # a full disk: say so in one line, as the CLI would
            error = str(mapped) if mapped else f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
            log.write(traceback.format_exc())
        seconds = time.time() - started
        log.write(f"=== {step.id} {'failed: ' + error if error else 'done'} after {seconds:.1f} s\n")
    if error is None:
        # A step that runs with failed inputs (the report) is not done for good: the next run redoes it.
        missing = [d for d in step.deps if (read_state(exp, d) or {}).get("status") != "done"]
        # What the next run checks before trusting "done": the outputs as left, the inputs as read.
        check = record_outputs(step.kind, output_path(exp, step), outputs)
        inputs = {d: input_digest(exp, d) for d in step.deps}
        _write_state(exp, step, status="done", started=started, seconds=seconds, outputs=outputs,
                     partial=bool(step.soft_deps and missing), missing=missing, attempt=attempt, check=check,
                     inputs=inputs, cpu_seconds=round(_cpu_seconds() - cpu_at_start, 1),
                     load=[load_at_start, _machine_load()])
        return {"id": step.id, "status": "done", "error": None, "seconds": seconds}
    _record_failure(exp, step, started=started, seconds=seconds, error=error, attempt=attempt)
    return {"id": step.id, "status": "failed", "error": error, "seconds": seconds}


def _machine_load() -> float | None:
    """The machine's 1-minute load average (None where the OS has none): how quiet a step's timing was."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _cpu_seconds() -> float:
    """CPU seconds used so far by this process and its finished children (training runs in a child)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _record_failure(exp: Path, step: Step, **fields) -> None:
    """Mark the step failed, even on a full disk (where the atomic write of a new file is refused).

    The state file already exists (it says "running"): rewriting it in place needs no new disk blocks. If even
    that fails, the one-line disk error is raised and the dead pid makes the next run see it as interrupted.
    """
    try:
        _write_state(exp, step, status="failed", **fields)
        return
    except OSError as exc:
        first = exc
    text = json.dumps({"id": step.id, "kind": step.kind, "hash": step.hash, "status": "failed", **fields})
    try:
        with open(state_path(exp, step), "r+", encoding="utf-8") as fh:
            fh.write(text)
            fh.truncate()
    except OSError:
        raise environment_error(first) or first from None


# --- the stage runners ------------------------------------------------------------------------------------------


def _config_kwargs(config_cls, values: dict, what: str) -> dict:
    """Keep `values` whose keys `config_cls` has (a task option among them, where it takes task options); a key it
    lacks is a ConfigError naming it."""
    if hasattr(config_cls, "task_options"):
        kind, field = config_cls.task_options
        options = {k: values[k] for k in declared(kind) if k in values}
        values = {**{k: v for k, v in values.items() if k not in options}, field: options}
    names = {f.name for f in dataclasses.fields(config_cls)}
    unknown = sorted(k for k, v in values.items() if k not in names and v is not None)
    if unknown:
        raise ConfigError(f"{what} does not support {', '.join(unknown)} in this sftlab version")
    return {k: v for k, v in values.items() if k in names}


@register("data")
def run_data(step: Step, ctx: StepContext) -> dict:
    cfg = dict(step.config)
    preset = cfg.pop("preset")
    out = output_path(ctx.exp, step)
    kwargs = {k: v for k, v in cfg.items() if v not in (None, False, {}) or k == "seed"}
    path = build_preset(preset, out, force=True, progress=True, **kwargs)
    return {"path": str(path)}


def train_config(step: Step, ctx: StepContext):
    """The config of a train step (an instance of its method's config class)."""
    Config = get_method(step.kind).config  # noqa: N806 - a class
    data = ctx.output(step.deps[0])
    values = {"model": step.config["model"], "data": str(data), "out": str(output_path(ctx.exp, step)),
              "seed": step.config["seed"], "resume": True, **step.config["settings"]}
    return Config(**_config_kwargs(Config, values, f"{step.kind} training"))


def train_processes(resources: dict) -> int:
    """How many training processes a train step runs: `processes`, else one per GPU when gpus > 1, else 1."""
    if resources.get("processes"):
        return int(resources["processes"])
    gpus = int(resources.get("gpus") or 0)
    return gpus if gpus > 1 else 1


def _train(step: Step, ctx: StepContext) -> dict:
    processes = train_processes(step.resources)
    if processes > 1:
        return _launch_train(step, ctx, processes)
    config = train_config(step, ctx)
    run = get_method(step.kind).train(config, progress=True)
    return {"run": str(run)}


def _launch_train(step: Step, ctx: StepContext, processes: int) -> dict:
    """Train through `accelerate launch` with `processes` processes, streaming their output into this step's log;
    a failed launch is a TrainLaunchError carrying the processes' own error line."""
    config_file = step.resources.get("accelerate_config")
    if config_file and not Path(config_file).is_file():
        raise ConfigError(f"accelerate_config {config_file} not found (a relative path is read from {Path.cwd()})")
    gpus = float(step.resources.get("gpus") or 0)
    cmd = accelerate_command(["sftlab.experiment.launch", str(Path(ctx.exp).resolve()), step.id],
                             processes=processes, gpu=gpus > 0, config_file=config_file)
    print("$ " + " ".join(cmd), flush=True)
    tail: list[str] = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                          preexec_fn=_die_with_parent if sys.platform == "linux" else None) as proc:
        for line in proc.stdout:
            sys.stdout.write(line)
            tail = (tail + [line.rstrip()])[-200:]
    sys.stdout.flush()
    if proc.returncode != 0:
        raise TrainLaunchError(f"accelerate launch of {processes} processes failed: {_launch_error(tail)}")
    return {"run": str(output_path(ctx.exp, step)), "launcher": "accelerate", "processes": processes}


def _die_with_parent() -> None:
    """In the launcher child (Linux): get SIGTERM when this step's process dies (a killed Ray worker), which
    torchrun passes on to the ranks, so a retried step never trains beside the orphans of the first attempt."""
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _launch_error(lines: list[str]) -> str:
    """The processes' own reason from a failed launch's output: an `error: ...` line of sftlab, else the first
    exception line of a rank (torchrun prefixes rank output with `[rankN]:`), else the last line."""
    lines = [re.sub(r"^\[(?:default)?rank\d+\]:\s?", "", t) for t in lines]
    for line in reversed(lines):
        if line.startswith("error: "):
            return line[len("error: "):]
    for line in lines:
        head = line.split(":", 1)[0]
        if head and not line[0].isspace() and head.endswith(("Error", "Exception")) and "ChildFailed" not in head:
            return line[:500]
    return next((t for t in reversed(lines) if t.strip()), "no output")[:500]


class TrainLaunchError(SftlabError):
    """A multi-process training launch ended with an error (its message is the processes' own error line)."""




def _eval_checkpoints(step: Step, ctx: StepContext):
    """The checkpoints to evaluate: "all" without step 0 when the base model has its own baseline step."""
    wanted = step.config.get("checkpoints", "all")
    if step.config.get("target") != "run":
        return wanted
    steps = [s for s, _ in list_checkpoints(ctx.output(step.deps[0]))]
    if wanted == "all":
        picked = steps
    elif wanted == "last":
        picked = steps[-1:]
    else:
        missing = sorted(set(wanted) - set(steps))
        if missing:
            raise ConfigError(f"eval.checkpoints: run {step.config['run_name']} has no checkpoint at step(s) "
                              f"{missing}; it has {steps}")
        picked = list(wanted)
    if step.config.get("exclude_base"):
        picked = [s for s in picked if s != 0] or picked
    return ",".join(str(s) for s in picked)


@register("eval")
def run_eval(step: Step, ctx: StepContext) -> dict:
    cfg = dict(step.config)
    target = cfg.pop("target")
    cfg.pop("exclude_base", None)
    if target == "run":
        model = str(ctx.output(step.deps[0]))
        backend = cfg.pop("backend", "hf")
    elif target == "model":
        model, backend = cfg.pop("model"), cfg.pop("backend", "hf")
    else:  # the oracle and random reference policies
        model = backend = cfg.pop("model")
    values = {**cfg, "model": model, "backend": backend, "out": str(output_path(ctx.exp, step)),
              "checkpoints": _eval_checkpoints(step, ctx)}
    if values.get("splits"):
        values["splits"] = tuple(values["splits"])
    values = without_others(task_of_suite(values["suite"]), "eval", values)  # the spec's options of other suites
    config = EvalConfig(**_config_kwargs(EvalConfig, values, "evaluation"))
    results = evaluate(config, progress=True)
    return {"result_keys": sorted({r.key for r in results}), "rows": len(results)}


@register("report")
def run_report(step: Step, ctx: StepContext) -> dict:
    html = build_report(ctx.exp / "outputs", out_html=ctx.exp / "report.html", title=step.config.get("name"))
    return {"report": str(html)}


def load_plan(exp: Path) -> Plan:
    return Plan.from_json(json.loads((Path(exp) / "plan.json").read_text(encoding="utf-8")))
