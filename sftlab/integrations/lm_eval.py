"""Hook to EleutherAI's lm-evaluation-harness: score a model or every checkpoint of a run on its tasks.

The reasoning-SFT paper's benchmarks (MATH500, AIME, GPQA-Diamond, MMLU-Pro, IFEval, TruthfulQA ...) live on the
Hugging Face Hub, which sftlab cannot reach offline. Users who have the harness and its data (a warm HF cache,
`HF_DATASETS_OFFLINE=1`, or a local task YAML with `--include-path`) run them through this hook; the numbers go into
the same results store as sftlab's own suites (suite `lm-eval`, split = the harness task, metric = the harness
metric, with `/filter` appended unless the filter is `none`), so tables, curves and the reasoning-SFT section show
them next to Countdown and the cross-domain suite.

    pip install 'sftlab[lm-eval]'
    sftlab eval-harness runs/cot --tasks ifeval,gpqa_diamond_zeroshot --out eval --limit 50

Defaults follow the paper's protocol: zero-shot, the model's chat template, temperature 0.6, top-p 0.95.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from pathlib import Path

from sftlab.errors import ConfigError, SftlabError
from sftlab.evaluate.runner import EvalConfig, FingerprintCache, eval_key, plan_targets
from sftlab.models import resolve
from sftlab.models.resolve import pick_device
from sftlab.store import Metric, ResultsStore

SUITE = "lm-eval"
DEFAULT_GEN_KWARGS = "temperature=0.6,top_p=0.95,do_sample=True"


def require_lm_eval():
    """The `lm_eval` module, or a one-line error naming the extra to install."""
    try:
        import lm_eval
    except ImportError:
        raise SftlabError("lm-evaluation-harness is not installed; install it with: pip install 'sftlab[lm-eval]'"
                          ) from None
    return lm_eval


@contextlib.contextmanager
def _missing_task_package(tasks: Sequence[str]):
    """Turn a task's missing optional package (ifeval needs langdetect, ...) into a one-line error naming it."""
    try:
        yield
    except ModuleNotFoundError as exc:
        if not exc.name or exc.name.split(".")[0] == "sftlab":
            raise
        package = exc.name.split(".")[0]
        raise SftlabError(
            f"lm-eval task {', '.join(tasks)} needs the Python package {package!r}, which is not installed; "
            f"install it with: pip install {package} (or the task's extra, e.g. pip install 'lm_eval[ifeval]')"
        ) from None


def harness_metrics(output: dict) -> list[Metric]:
    """Metrics (split = task) from the dict `lm_eval.simple_evaluate` returns; 95% intervals from its stderr.

    Keys look like `"acc,none"` with a matching `"acc_stderr,none"`; non-numeric entries (alias, ...) are skipped.
    """
    metrics = []
    samples = output.get("n-samples", {})
    for task, values in sorted(output.get("results", {}).items()):
        n = int((samples.get(task) or {}).get("effective", 0))
        for key, value in sorted(values.items()):
            if "," not in key or "_stderr," in key or not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            name, filt = key.split(",", 1)
            stderr = values.get(f"{name}_stderr,{filt}")
            low = high = None
            if isinstance(stderr, (int, float)) and math.isfinite(stderr):
                low, high = value - 1.96 * stderr, value + 1.96 * stderr
            metrics.append(Metric(task, name if filt == "none" else f"{name}/{filt}", float(value), n, low, high))
    return metrics


def run_harness(model: str, tasks: Sequence[str], out: str | Path = "eval", *, checkpoints: str = "all",
                limit: int | None = None, batch_size: int = 8, gen_kwargs: str = DEFAULT_GEN_KWARGS,
                device: str | None = None, run_name: str | None = None, include_path: str | Path | None = None
                ) -> int:
    """Evaluate `model` (a name, folder or RUN folder: base + checkpoints) on harness `tasks`; returns rows stored.

    `include_path` is a folder of extra task YAMLs (your own tasks over local data files). Results land in
    `out/results.sqlite`; a (checkpoint, tasks, settings) combination already stored is skipped.
    """
    if not tasks:
        raise ConfigError("name at least one lm-eval task, e.g. --tasks ifeval")
    if include_path is not None and not Path(include_path).is_dir():
        raise ConfigError(f"--include-path {include_path} is not a folder of lm-eval task YAMLs")
    lm_eval = require_lm_eval()
    from lm_eval.tasks import TaskManager

    include = str(Path(include_path).resolve()) if include_path is not None else None
    task_manager = TaskManager(include_path=include)
    unknown = sorted(set(tasks) - set(task_manager.all_tasks))
    if unknown:
        raise ConfigError(f"lm-eval knows no task {unknown[0]!r} (see `lm_eval --tasks list`, or give --include-path)")
    device = pick_device(device)  # checked; lm-eval itself would pick cuda even where there is none

    # plan_targets only reads the model, checkpoints and run name; the suite is a placeholder.
    config = EvalConfig(model=model, suite="countdown-eval", checkpoints=checkpoints, out=str(out),
                        run_name=run_name, device=device)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    settings = {"tasks": sorted(tasks), "limit": limit, "gen_kwargs": gen_kwargs, "apply_chat_template": True,
                "include_path": include}
    stored = 0
    with ResultsStore(out) as store:
        for target in plan_targets(config, FingerprintCache(out / ".fingerprints.json")):
            key = eval_key(target.fingerprint, SUITE, settings)
            if store.has(key):
                continue
            with _missing_task_package(tasks):
                output = lm_eval.simple_evaluate(
                    model="hf", model_args={"pretrained": resolve(target.location), "device": device},
                    tasks=list(tasks), num_fewshot=0, batch_size=batch_size, limit=limit, gen_kwargs=gen_kwargs,
                    apply_chat_template=True, task_manager=task_manager,
                )
            metrics = harness_metrics(output or {})
            store.record(key, run=target.run, checkpoint=target.checkpoint, step=target.step, suite=SUITE,
                         metrics=metrics, settings=settings)
            stored += len(metrics)
    return stored
