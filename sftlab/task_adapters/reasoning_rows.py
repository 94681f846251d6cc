"""Rows of the reasoning-SFT study's extra eval suites: cross-domain transfer and the safety probe.

- `crossdomain-eval`: reasoning-gym items (sftlab.tasks.crossdomain), `n` per task, split = the domain
  (arithmetic, logic, algorithmic, planning), variant = the reasoning-gym task. `answer` names the item
  (task, seed, index) so the scorer regenerates it: nothing task-specific is serialised.
- `safety-eval`: the built-in probe (sftlab.tasks.safety), split `harmful` or `harmless`; `n` caps the probes
  per split. `answer = {"harmful": bool}`.
"""

from __future__ import annotations

from collections.abc import Iterator

from sftlab.task_adapters.rows import make_row


def crossdomain_rows(n: int, base_seed: int, progress: bool = False, splits=None) -> Iterator[dict]:
    """`n` items of every cross-domain task, generated from `base_seed`; `splits` keeps only those domains."""
    from sftlab.tasks import crossdomain

    for item in crossdomain.items(n_per_task=n, seed=base_seed):
        if splits is not None and item.domain not in splits:
            continue
        yield make_row(
            id=f"crossdomain-{item.task}-{item.index:04d}", task="crossdomain", split=item.domain,
            variant=item.task, seed=item.seed, prompt=item.prompt(), completion=None,
            answer={"task": item.task, "seed": item.seed, "index": item.index, "answer": item.answer},
            metadata={"domain": item.domain},
        )


def safety_rows(n: int, base_seed: int = 0, progress: bool = False, splits=None, source=None) -> Iterator[dict]:
    """The safety probes, at most `n` per split (`harmful`, `harmless`): the built-in set, or the local file
    `source` (CSV/JSONL, see `sftlab.tasks.safety.load_prompts`; rows count as harmful unless labelled)."""
    from sftlab.tasks import safety

    counts = {"harmful": 0, "harmless": 0}
    for probe in safety.BUILTIN if source is None else safety.load_prompts(source):
        split = "harmful" if probe.harmful else "harmless"
        if (splits is not None and split not in splits) or counts[split] >= n:
            continue
        counts[split] += 1
        yield make_row(
            id=f"safety-{probe.id}", task="safety", split=split, variant=probe.category, seed=0,
            prompt=probe.prompt, completion=None, answer={"harmful": probe.harmful},
            metadata={"category": probe.category},
        )
