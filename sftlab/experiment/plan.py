"""Expand a spec into a plan of steps, each identified by a hash of its inputs.

A step's hash covers its kind, its settings and the hashes of the steps it reads from, so it changes exactly when
something that can change its output changes: a new eval temperature re-runs that eval step only, while a new
learning rate re-runs training and, through the hash chain, the evaluations of that run. The plan lives in the
experiment folder (`plan.json`); each step's state (`state/<step>.json`) records the hash it finished with.

Experiment folder layout (see docs/experiments.md):

    EXP/spec.yaml            the spec as given           EXP/plan.json      the resolved plan
    EXP/outputs/data/<name>/ built data sets             EXP/outputs/runs/<run>/  training runs
    EXP/outputs/eval/        one eval folder for all eval steps (results.sqlite, samples/, aggregates/)
    EXP/state/<step>.json    status, hash, timings, error EXP/logs/<step>.log     each step's output
    EXP/report.html, report.md                           EXP/superseded/    outputs of steps whose inputs changed
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from sftlab.errors import ConfigError
from sftlab.experiment.outputs import digest, outputs_intact
from sftlab.experiment.spec import ExperimentSpec
from sftlab.train.methods import get_method, is_method

# Bump a kind's version when what its step computes changes in a way its settings do not show.
# A step whose kind changes what it computes gets a new version, so finished steps rerun. "eval" follows
# sftlab.evaluate.runner.PROTOCOL (a test keeps them equal). data 2: Sokoban answer-only completions end with a
# newline and GP diverse prompts with one newline, as the originals. A train step's version is its method's
# (sftlab.train.methods).
STEP_VERSIONS = {"data": 2, "eval": 3, "report": 1}

# Keys `--only` can filter on, and which step attribute each one reads.
ONLY_KEYS = ("condition", "model", "seed", "suite", "method", "kind", "step")


@dataclass(frozen=True)
class Step:
    """One unit of work: `kind` with `config`, reading the outputs of `deps` (step ids)."""

    id: str
    kind: str
    config: dict
    deps: tuple[str, ...] = ()
    attrs: dict = field(default_factory=dict)
    resources: dict = field(default_factory=lambda: {"cpus": 1, "gpus": 0})
    hash: str = ""
    soft_deps: bool = False  # runs once its deps are finished, even when some failed (the report)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Plan:
    """Steps in dependency order (every step comes after the steps it reads from)."""

    name: str
    steps: tuple[Step, ...]

    def __post_init__(self):
        object.__setattr__(self, "_by_id", {s.id: s for s in self.steps})

    def __getitem__(self, step_id: str) -> Step:
        return self._by_id[step_id]

    def __contains__(self, step_id: str) -> bool:
        return step_id in self._by_id

    def __len__(self) -> int:
        return len(self.steps)

    def to_json(self) -> dict:
        return {"name": self.name, "steps": [s.as_dict() for s in self.steps]}

    @classmethod
    def from_json(cls, data: dict) -> Plan:
        steps = []
        for s in data["steps"]:
            s = dict(s)
            s["deps"] = tuple(s["deps"])
            steps.append(Step(**s))
        return cls(name=data["name"], steps=tuple(steps))


def step_hash(kind: str, config: dict, dep_hashes: list[str]) -> str:
    """sha256 over the canonical JSON of the step's kind, kind version, settings and upstream hashes."""
    version = get_method(kind).version if is_method(kind) else STEP_VERSIONS.get(kind, 1)
    payload = json.dumps({"kind": kind, "version": version, "config": config,
                          "deps": dep_hashes}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


class _Builder:
    def __init__(self):
        self.steps: dict[str, Step] = {}

    def add(self, step_id: str, kind: str, config: dict, deps=(), attrs=None, resources=None,
            soft_deps: bool = False) -> Step:
        deps = tuple(deps)
        digest = step_hash(kind, config, [self.steps[d].hash for d in deps])
        if step_id in self.steps:
            existing = self.steps[step_id]
            if existing.hash == digest:
                return existing
            step_id = f"{step_id}-{digest[:6]}"  # same name, different inputs: keep both
            if step_id in self.steps:
                return self.steps[step_id]
        step = Step(id=step_id, kind=kind, config=config, deps=deps, attrs=dict(attrs or {}),
                    resources=dict(resources or {"cpus": 1, "gpus": 0}), hash=digest, soft_deps=soft_deps)
        self.steps[step_id] = step
        return step


def run_name(spec: ExperimentSpec, condition: str, model_key: str, seed: int) -> str:
    """The run's name in folders and tables: the condition, plus the model and seed when the spec has several."""
    name = condition
    if len(spec.models) > 1:
        name += f"-{model_key}"
    if len(spec.seeds) > 1:
        name += f"-s{seed}"
    return name


class _RunNames:
    """Hands out run names and refuses one that two different runs would share (`a` + model `b-c` and `a-b` +
    model `c` both give `a-b-c`), so the store never files two runs' evaluations under one name."""

    def __init__(self):
        self.owner: dict[str, str] = {}

    def claim(self, name: str, owner: str) -> str:
        previous = self.owner.setdefault(name, owner)
        if previous != owner:
            raise ConfigError(f"run name {name!r} would be used by both {previous} and {owner}; rename a condition "
                              "or a model key so every run has its own name")
        return name


def expand(spec: ExperimentSpec) -> Plan:
    """The full plan of a spec: data -> train -> eval per cell, the baseline evals, then the report.

    Run names are unique by construction: a spec whose names would collide is a ConfigError.
    """
    b = _Builder()
    names = _RunNames()
    ev = spec.eval
    train_res = dataclasses.asdict(spec.train.resources)
    eval_res = dataclasses.asdict(ev.resources)
    checkpoints = list(ev.checkpoints) if isinstance(ev.checkpoints, tuple) else ev.checkpoints

    def for_suite(suite: str, keys=None) -> dict:
        """The eval settings of `suite` (its splits and episodes resolved); only `keys` when given."""
        chosen = ev.splits_for(suite)
        options = {"splits": list(chosen) if chosen else None, "backend": ev.backend, "checkpoints": checkpoints,
                   **ev.options}
        if isinstance(options.get("episodes"), dict):
            options["episodes"] = options["episodes"].get(suite)
        return {k: v for k, v in options.items() if keys is None or k in keys}
    eval_ids = []
    train_ids = []
    for cond in spec.conditions:
        data_cfg = {"preset": cond.preset, **dataclasses.asdict(cond.data)}
        data = b.add(f"data/{cond.preset}", "data", data_cfg)
        for model_key, model in spec.models.items():
            for seed in spec.seeds:
                run = names.claim(run_name(spec, cond.name, model_key, seed),
                                  f"condition {cond.name!r} with model {model_key!r} and seed {seed}")
                settings = {**spec.train.settings(cond.method), **cond.train}
                attrs = {"condition": cond.name, "model": model_key, "seed": str(seed), "method": cond.method,
                         "run": run}
                train = b.add(f"train/{run}", cond.method, {"model": model, "seed": seed, "settings": settings},
                              deps=[data.id], attrs=attrs, resources=train_res)
                train_ids.append(train.id)
                for suite in ev.suites:
                    cfg = {"suite": suite, "run_name": run, "target": "run",
                           "exclude_base": "base" in ev.baselines, **for_suite(suite)}
                    step = b.add(f"eval/{run}/{suite}", "eval", cfg, deps=[train.id],
                                 attrs={**attrs, "suite": suite}, resources=eval_res)
                    eval_ids.append(step.id)
    for suite in ev.suites:
        if "base" in ev.baselines:
            for model_key, model in spec.models.items():
                name = names.claim("base" if len(spec.models) == 1 else f"base-{model_key}",
                                   f"the untrained model {model_key!r}")
                cfg = {"suite": suite, "run_name": name, "target": "model", "model": model, **for_suite(suite)}
                cfg["checkpoints"] = "all"
                step = b.add(f"eval/{name}/{suite}", "eval", cfg,
                             attrs={"model": model_key, "suite": suite, "condition": "base"}, resources=eval_res)
                eval_ids.append(step.id)
        for policy in ("oracle", "random"):
            if policy in ev.baselines:
                names.claim(policy, f"the {policy} baseline")
                cfg = {"suite": suite, "run_name": policy, "target": "policy", "model": policy,
                       **for_suite(suite, ("splits", "episodes", "seed", "max_turns"))}
                step = b.add(f"eval/{policy}/{suite}", "eval", cfg,
                             attrs={"suite": suite, "condition": policy}, resources={"cpus": 1, "gpus": 0})
                eval_ids.append(step.id)
    if spec.report:
        b.add("report", "report", {"name": spec.name}, deps=train_ids + eval_ids, soft_deps=True)
    return Plan(name=spec.name, steps=tuple(b.steps.values()))


def parse_only(items: list[str] | tuple[str, ...]) -> dict[str, set[str]]:
    """Parse `--only KEY=VALUE` flags (repeatable; VALUE may be a comma list) into {key: {values}}."""
    only: dict[str, set[str]] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not value.strip():
            raise ConfigError(f"--only {item!r}: expected KEY=VALUE, e.g. --only condition=diverse-answer-only")
        if key not in ONLY_KEYS:
            raise ConfigError(f"--only {item!r}: unknown key {key!r}; choose one of: {', '.join(ONLY_KEYS)}")
        only.setdefault(key, set()).update(v.strip() for v in value.split(",") if v.strip())
    return only


def select(plan: Plan, only: dict[str, set[str]]) -> Plan:
    """The steps matching every `--only` filter, plus the steps they read from; the report stays in, made from
    the selected steps only: its hash covers those, so the next full run sees it as changed and remakes it.

    A step matches a key when it has that attribute with one of the given values; a step without the attribute
    (the oracle has no model) matches. Data steps come in only as dependencies. A value that matches no step is
    an error, so a typo never silently selects nothing.
    """
    if not only:
        return plan

    def value(step: Step, key: str) -> str | None:
        if key == "kind":
            return step.kind
        if key == "step":
            return step.id
        return step.attrs.get(key)

    for key, values in only.items():
        present = {value(s, key) for s in plan.steps} - {None}
        missing = sorted(values - present)
        if missing:
            raise ConfigError(f"--only {key}={','.join(missing)}: no step has that {key}; "
                              f"choose from: {', '.join(sorted(present))}")
    chosen = set()
    for step in plan.steps:
        if step.kind in ("data", "report"):
            continue
        if all(value(step, k) is None or value(step, k) in vs for k, vs in only.items()):
            chosen.add(step.id)
    if not chosen:
        raise ConfigError("--only: these filters together select no step")
    stack = list(chosen)
    while stack:
        for dep in plan[stack.pop()].deps:
            if dep not in chosen:
                chosen.add(dep)
                stack.append(dep)
    steps = []
    for step in plan.steps:
        if step.id in chosen:
            steps.append(step)
        elif step.kind == "report":
            deps = tuple(d for d in step.deps if d in chosen)
            digest_ = step_hash(step.kind, step.config, [plan[d].hash for d in deps])
            steps.append(dataclasses.replace(step, deps=deps, hash=digest_))
    return Plan(name=plan.name, steps=tuple(steps))


# --- where things live -------------------------------------------------------------------------------------------


def _safe(step_id: str) -> str:
    return step_id.replace("/", "__")


def state_path(exp: Path, step: Step | str) -> Path:
    return Path(exp) / "state" / f"{_safe(step if isinstance(step, str) else step.id)}.json"


def log_path(exp: Path, step: Step | str) -> Path:
    return Path(exp) / "logs" / f"{_safe(step if isinstance(step, str) else step.id)}.log"


def output_path(exp: Path, step: Step) -> Path:
    """Where a step writes: data and run folders per step, one shared eval folder, the report at the top."""
    exp = Path(exp)
    if step.kind == "data":
        return exp / "outputs" / "data" / step.id.split("/", 1)[1]
    if is_method(step.kind):
        return exp / "outputs" / "runs" / step.id.split("/", 1)[1]
    if step.kind == "eval":
        return exp / "outputs" / "eval"
    if step.kind == "report":
        return exp / "report.html"
    return exp / "outputs" / step.kind / _safe(step.id)


def read_state(exp: Path, step: Step | str) -> dict | None:
    """The step's state record, or None when there is none or it is unreadable (then the step runs again)."""
    path = state_path(exp, step)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing, truncated, not UTF-8, not JSON
        return None
    return state if isinstance(state, dict) else None


def input_digest(exp: Path, step_id: str) -> str | None:
    """What a dependent step remembers of input `step_id`: the digest of its recorded outputs (None: not done)."""
    state = read_state(exp, step_id)
    if not state or state.get("status") != "done":
        return None
    return digest(state.get("check"))


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def step_status(exp: Path, step: Step) -> str:
    """done | pending | changed (finished with other inputs) | lost (its outputs are gone or altered) | stale
    (an input was redone since) | failed | interrupted | running.

    "done" is earned, not remembered: the state file must carry this step's hash, its recorded outputs must still
    be there as they were left (see `outputs.py`), and each input must be the one it was made from. State files
    written before these records existed are trusted as they are.
    """
    state = read_state(exp, step)
    if state is None:
        return "pending"
    if state.get("hash") != step.hash:
        return "changed"
    status = state.get("status")
    if status == "done":
        if state.get("partial"):
            return "changed"
        if "check" in state and not outputs_intact(step.kind, output_path(exp, step), state["check"]):
            return "lost"
        inputs = state.get("inputs")
        if inputs is not None and any(inputs.get(d) != input_digest(exp, d) for d in step.deps):
            return "stale"
        return "done"
    if status == "running":
        return "running" if _alive(state.get("pid")) and state.get("pid") != os.getpid() else "interrupted"
    return "failed"
