"""Executors: run the steps of a plan that are not done yet, in dependency order.

- `local` runs one step at a time in this process, with the machine's devices, and streams its progress.
- `ray` submits each step as a Ray task with the step's CPU/GPU needs, as soon as the steps it reads from are
  finished; independent steps run side by side, on any node. `ray.init(address=...)` joins an existing cluster
  (every node needs the same sftlab install and a shared filesystem for the experiment folder); without an
  address a local Ray instance is started with this machine's CPUs. A step whose worker process or node dies is
  retried once (RAY_RETRIES), then reported failed.

Both share the same bookkeeping (`_Schedule`): a failed step blocks the steps that read from it; with
`keep_going` every other step still runs, without it no new step starts after the first failure. The report
step runs once everything before it finished, even if some of it failed, and says what is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sftlab.errors import ConfigError
from sftlab.experiment.plan import Plan, Step
from sftlab.experiment.steps import execute_step, train_processes
from sftlab.train.methods import is_method

EXECUTORS = ("local", "ray")
# A step whose Ray worker process or node dies is started once more (a train step resumes from its last
# checkpoint; finished outputs are not redone); after that it is reported failed, and rerunning retries it.
# An error inside a step is never retried here: it is recorded as failed.
RAY_RETRIES = 1


class _Schedule:
    def __init__(self, plan: Plan, todo: list[str], keep_going: bool):
        self.plan = plan
        self.todo = [s for s in todo]
        self.keep_going = keep_going
        self.outcome: dict[str, str] = {s.id: "done" for s in plan.steps if s.id not in set(todo)}
        self.errors: dict[str, str] = {}
        self.started: set[str] = set()
        self.stopped = False

    def ready(self) -> list[Step]:
        """Steps that can start now; marks steps whose inputs failed as blocked."""
        if self.stopped:
            return []
        ready = []
        changed = True
        while changed:  # blocking one step can block the next
            changed = False
            for sid in self.todo:
                if sid in self.started or sid in self.outcome:
                    continue
                step = self.plan[sid]
                states = [self.outcome.get(d) for d in step.deps]
                if step.soft_deps:
                    if all(s is not None for s in states):
                        ready.append(step)
                        self.started.add(sid)
                elif any(s in ("failed", "blocked") for s in states):
                    self.outcome[sid] = "blocked"
                    self.errors[sid] = "an input step failed: " + ", ".join(
                        d for d in step.deps if self.outcome.get(d) in ("failed", "blocked"))
                    changed = True
                elif all(s == "done" for s in states):
                    ready.append(step)
                    self.started.add(sid)
        return ready

    def finish(self, result: dict) -> None:
        self.outcome[result["id"]] = result["status"]
        if result["status"] != "done":
            self.errors[result["id"]] = result.get("error") or "failed"
            if not self.keep_going:
                self.stopped = True

    def not_run(self) -> list[str]:
        return [sid for sid in self.todo if sid not in self.outcome]


def run_local(plan: Plan, todo: list[str], exp: Path, *, keep_going: bool = False,
              on_event: Callable[[str, Step, dict | None], None] | None = None) -> _Schedule:
    """Run the `todo` steps one at a time in this process."""
    schedule = _Schedule(plan, todo, keep_going)
    plan_json = plan.to_json()
    while True:
        ready = schedule.ready()
        if not ready:
            break
        step, *later = ready  # plan order: each cell's chain finishes before the next cell starts
        for other in later:
            schedule.started.discard(other.id)
        if on_event:
            on_event("start", step, None)
        result = execute_step(step.as_dict(), str(exp), plan_json)
        schedule.finish(result)
        if on_event:
            on_event("end", step, result)
    return schedule


def ray_needs(step: Step) -> tuple[float, float]:
    """(CPUs, GPUs) a step asks Ray for: its resources, and at least one CPU per training process of a
    multi-process train step on CPUs."""
    cpus = float(step.resources.get("cpus") or 0)
    gpus = float(step.resources.get("gpus") or 0)
    if is_method(step.kind) and not gpus:
        cpus = max(cpus, float(train_processes(step.resources)))
    return cpus, gpus


def run_ray(plan: Plan, todo: list[str], exp: Path, *, keep_going: bool = False, address: str | None = None,
            num_cpus: int | None = None,
            on_event: Callable[[str, Step, dict | None], None] | None = None) -> _Schedule:
    """Run the `todo` steps as Ray tasks (each with its step's CPU/GPU needs) as their inputs become ready."""
    try:
        import ray
    except ImportError:
        raise ConfigError("the ray executor needs Ray: pip install 'sftlab[ray]'") from None
    started_here = not ray.is_initialized()
    if started_here:
        kwargs = {"address": address} if address else {"num_cpus": num_cpus}
        ray.init(include_dashboard=False, ignore_reinit_error=True, log_to_driver=True, **kwargs)
    try:
        total = ray.cluster_resources()
        schedule = _Schedule(plan, todo, keep_going)
        plan_json = plan.to_json()
        remote = ray.remote(execute_step)
        in_flight = {}
        while True:
            for step in schedule.ready():
                cpus, gpus = ray_needs(step)
                if cpus > total.get("CPU", 0) or gpus > total.get("GPU", 0):
                    result = {"id": step.id, "status": "failed",
                              "error": f"needs {cpus:g} CPUs and {gpus:g} GPUs; the Ray cluster has "
                                       f"{total.get('CPU', 0):g} CPUs and {total.get('GPU', 0):g} GPUs"}
                    schedule.finish(result)
                    if on_event:
                        on_event("end", step, result)
                    continue
                if on_event:
                    on_event("start", step, None)
                ref = remote.options(num_cpus=cpus, num_gpus=gpus, max_retries=RAY_RETRIES).remote(
                    step.as_dict(), str(Path(exp).resolve()), plan_json)
                in_flight[ref] = step
            if not in_flight:
                break
            done, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in done:
                step = in_flight.pop(ref)
                try:
                    result = ray.get(ref)
                except Exception as exc:  # the worker died (out of memory, node lost): the step failed
                    result = {"id": step.id, "status": "failed",
                              "error": f"Ray task died: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}"}
                schedule.finish(result)
                if on_event:
                    on_event("end", step, result)
        return schedule
    finally:
        if started_here:
            ray.shutdown()
