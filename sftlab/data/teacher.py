"""Teacher CoT by rejection sampling: n samples per prompt from any model, keep the first the verifier accepts.

This is how the papers made their CoT data (Debunk: Qwen3-8B, n=16 for Sokoban and n=3 for General Points at
T=1.0; Rethinking: Qwen3-32B). Generation goes through `sftlab.backends` (hf or vllm), imported only here.
Prompts with no accepted sample are dropped; the counts and the acceptance rate go to the manifest, and a build
where nothing passes fails with a one-line error.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass

from sftlab.backends import SamplingParams, derive_seed, get_backend
from sftlab.errors import ConfigError, DataError
from sftlab.task_adapters import TrainingData, get_task, require


@dataclass(frozen=True)
class TeacherConfig:
    """How to sample the teacher: model, samples per prompt, sampling settings, batch size and backend."""

    model: str
    n: int = 16
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 4096
    seed: int = 0
    batch_size: int = 8
    backend: str = "hf"

    def __post_init__(self) -> None:
        if not self.model:
            raise ConfigError("the teacher needs a model name or path")
        if self.n < 1 or self.batch_size < 1 or self.max_new_tokens < 1:
            raise ConfigError("teacher n, batch_size and max_new_tokens must be at least 1")
        if self.temperature < 0 or not 0 < self.top_p <= 1:
            raise ConfigError("teacher temperature must be >= 0 and top_p in (0, 1]")
        if self.backend not in ("hf", "vllm"):
            raise ConfigError(f"teacher backend must be hf or vllm, got {self.backend!r}")


def teacher_config_from_options(model: str, options: dict, seed: int) -> TeacherConfig:
    """The TeacherConfig of a build from its `teacher_*` options."""
    return TeacherConfig(model=model, n=options["teacher_samples"], temperature=options["teacher_temperature"],
                         top_p=options["teacher_top_p"], max_new_tokens=options["teacher_max_new_tokens"],
                         seed=seed, batch_size=options["teacher_batch_size"])


def sample_teacher(rows: list[dict], verify: Callable[[dict, str], bool], config: TeacherConfig, *,
                   backend=None, progress: bool = True) -> tuple[list[dict], dict]:
    """Rejection-sample a completion for each row; return the kept rows (with `completion`) and the stats.

    Each row's samples use the seed `derive_seed(config.seed, row id)`, so results do not depend on batching.
    `backend` (optional) is an already loaded backend; otherwise one is loaded from `config`.
    """
    from tqdm import tqdm

    own = backend is None
    if own:
        backend = get_backend(config.backend, config.model, batch_size=config.batch_size)
    params = SamplingParams(temperature=config.temperature, top_p=config.top_p,
                            max_new_tokens=config.max_new_tokens, n=config.n, seed=config.seed)
    kept: list[dict] = []
    samples = accepted = 0
    try:
        for start in tqdm(range(0, len(rows), config.batch_size), desc=f"teacher {config.model}", unit="batch",
                          disable=not progress, leave=False):
            chunk = rows[start:start + config.batch_size]
            outs = backend.generate([r["prompt"] for r in chunk], params, rows=chunk,
                                    seeds=[derive_seed(config.seed, r["id"]) for r in chunk])
            for row, gens in zip(chunk, outs, strict=True):
                verdicts = [bool(verify(row, g.text)) for g in gens]
                samples += len(gens)
                accepted += sum(verdicts)
                if True in verdicts:
                    first = verdicts.index(True)
                    new = {k: v for k, v in row.items() if k not in ("answer", "metadata")}
                    new["completion"] = [{"role": "assistant", "content": gens[first].text}]
                    new["answer"] = row["answer"]
                    new["metadata"] = {**row["metadata"], "teacher_sample": first,
                                       "teacher_accepted": sum(verdicts), "teacher_tokens": gens[first].num_tokens}
                    kept.append(new)
    finally:
        if own:
            backend.close()
    stats = {**asdict(config), "prompts": len(rows), "kept": len(kept), "dropped": len(rows) - len(kept),
             "samples": samples, "accepted_samples": accepted,
             "acceptance_rate": round(accepted / samples, 6) if samples else 0.0,
             "prompt_pass_rate": round(len(kept) / len(rows), 6) if rows else 0.0}
    return kept, stats


def teacher_rows(rows: list[dict], config: TeacherConfig, *, backend=None, progress: bool = True,
                 options: dict | None = None) -> tuple[list[dict], dict]:
    """Teacher completions for task rows, each sample checked by the task's teacher filter (for Sokoban the
    original's `sokoban_accepts`, for GP a +5 score, for Countdown a verified answer); fail if none pass.
    `options` (a build's options) gives the filter the values of the task's `teacher_options` found there (GP:
    `gp_arithmetic`)."""
    if rows:
        task = require(get_task(rows[0]["task"]), TrainingData)
        chosen = {k: v for k, v in (options or {}).items() if k in task.teacher_options}
        accepts = functools.partial(task.teacher_accepts, **chosen) if chosen else task.teacher_accepts
    else:
        accepts = lambda row, text: False  # noqa: E731
    kept, stats = sample_teacher(rows, accepts, config, backend=backend, progress=progress)
    return _checked(kept, stats, config)


def _checked(kept: list[dict], stats: dict, config: TeacherConfig) -> tuple[list[dict], dict]:
    if not kept:
        raise DataError(
            f"teacher {config.model} passed the verifier on 0 of {stats['prompts']} prompts "
            f"({stats['samples']} samples); nothing to write"
        )
    if stats["dropped"]:
        print(f"warning: teacher {config.model} kept {stats['kept']} of {stats['prompts']} prompts; dropped "
              f"{stats['dropped']} with no verified sample (acceptance rate {stats['acceptance_rate']:.1%} of "
              f"{stats['samples']} samples)", file=sys.stderr)
    return kept, stats
