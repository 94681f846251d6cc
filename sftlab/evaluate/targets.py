"""Which checkpoints an evaluation covers: a run's checkpoints, a plain model, or a reference policy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sftlab.errors import ConfigError
from sftlab.evaluate.config import POLICIES, EvalConfig, _step_of, parse_checkpoint_choice
from sftlab.evaluate.fingerprints import FingerprintCache
from sftlab.models import resolve
from sftlab.train.runs import list_checkpoints


@dataclass(frozen=True)
class Target:
    """One thing to evaluate: a checkpoint of a run, a plain model, or a reference policy."""

    run: str
    checkpoint: str
    step: int | None
    location: str | None  # what the backend loads (None for policies)
    fingerprint: str


def plan_targets(config: EvalConfig, fingerprints: FingerprintCache) -> list[Target]:
    """The checkpoints to evaluate, in step order, each with its content fingerprint."""
    if config.backend in POLICIES:
        return [Target(config.run_name or config.backend, config.backend, None, None, f"policy:{config.backend}")]
    model = str(config.model).strip()
    if (Path(model) / "run.json").is_file():
        found = list_checkpoints(model)
        choice = parse_checkpoint_choice(config.checkpoints)
        if choice == "last":
            found = found[:1] + found[1:][-1:]
        elif choice != "all":
            steps = {_step_of(item) for item in choice}
            missing = sorted(steps - {s for s, _ in found})
            if missing:
                have = ", ".join(str(s) for s, _ in found)
                raise ConfigError(f"{model} has no complete checkpoint at step(s) {missing}; it has: {have}")
            found = [(s, p) for s, p in found if s in steps]
        run = config.run_name or Path(model).resolve().name
        targets = []
        for step, location in found:
            name = "base" if step == 0 else Path(location).name
            targets.append(Target(run, name, step, str(location), fingerprints.of_model(location)))
        return targets
    resolve(model)  # ModelError for a folder that is not a model, an unknown name, ...
    run = config.run_name or (Path(model).resolve().name if Path(model).exists() else model)
    return [Target(run, "base", 0, model, fingerprints.of_model(model))]
