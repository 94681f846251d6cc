"""Countdown rows: the data arms of the reasoning-SFT study on the same queries, and the eval suite.

Every arm (cot, nocot, lowq*, teacher, rl) with the same seed and n gets the same queries in the same order: query
i is the i-th candidate seed that `sftlab.tasks.countdown.generate` (4 numbers in 1-100, target 100-999) turns
into a problem our search can trace and that is not an eval query. The solution branch of a row is drawn by the
row's own generator before the dead ends, so the cot, nocot and lowq arms share the same final expression.
"""

from __future__ import annotations

from collections.abc import Iterator

from sftlab.task_adapters.rows import completion_text, make_row, row_rng, train_seed_base

TRAIN_VARIANT = "4num"


def query_key(row: dict) -> str:
    """The leakage key of a Countdown row: the sorted numbers and the target."""
    numbers = sorted(int(x) for x in row["answer"]["numbers"])
    return f"{','.join(map(str, numbers))}|{row['answer']['target']}"


def _think(trace) -> str:
    return f"<think>\n{trace.text}\n</think>\n\n"


def train_rows(config, eval_keys: set[str], progress: bool, skip_leaks: bool) -> tuple[list[dict], dict]:
    """The rows of a Countdown training arm, and counts for the manifest."""
    from tqdm import tqdm

    from sftlab.demos.answer_only import countdown_nocot, countdown_summary
    from sftlab.demos.corrupt import pick_rows
    from sftlab.demos.search_cot import search_trace
    from sftlab.prompts.countdown import user_prompt
    from sftlab.tasks.countdown import config_for, generate, verify

    spec, opts, n = config.spec, config.options, config.size
    base = train_seed_base(config.seed, False)
    task_config = config_for(TRAIN_VARIANT)
    treatment: dict[int, str] = {}
    if spec.demo == "lowq":
        fractions = {"wrong_answer": opts.get("wrong_answer_fraction", 0.0),
                     "wrong_step": opts.get("wrong_step_fraction", 0.0)}
        treatment = pick_rows(n, fractions, row_rng(config.seed, 0, 7))
    rows: list[dict] = []
    skipped = untraceable = candidates = 0
    with tqdm(total=n, desc=spec.name, unit="query", disable=not progress, leave=False) as bar:
        while len(rows) < n:
            problem = generate(base + candidates, task_config)
            candidates += 1
            index = len(rows)
            answer = {"numbers": list(problem.numbers), "target": problem.target}
            meta = {"solution": problem.solution}
            if skip_leaks and query_key({"answer": answer}) in eval_keys:
                skipped += 1
                continue
            # Every arm traces the query (the RL and teacher arms too), so all arms keep the same queries.
            trace = search_trace(problem.numbers, problem.target, rng=row_rng(config.seed, index, 1),
                                 dead_ends=int(opts.get("dead_ends", 2)))
            if trace is None:
                untraceable += 1
                continue
            text = None
            if spec.kind == "sft" and spec.demo != "teacher" and not config.teacher:
                if spec.demo == "cot":
                    text = _think(trace) + countdown_summary(trace.steps, trace.expression)
                elif spec.demo == "nocot":
                    text = countdown_nocot(trace.steps, trace.expression)
                else:
                    kind = treatment.get(index, "none")
                    text = _lowq(trace, kind, opts, row_rng(config.seed, index, 2),
                                 lambda e, p=problem: verify(e, p.numbers, p.target).reward == 1)
                    meta["lowq"] = kind
            rows.append(make_row(id=f"{spec.name}-{index:06d}", task="countdown", split="train",
                                 variant=TRAIN_VARIANT, seed=problem.seed,
                                 prompt=user_prompt(problem.numbers, problem.target), completion=text,
                                 answer=answer, metadata=meta))
            bar.update(1)
    counts = {"queries": len(rows), "candidates": candidates, "skipped_for_leakage": skipped,
              "skipped_untraceable": untraceable}
    if treatment:
        counts["lowq_rows"] = {name: sum(1 for t in treatment.values() if t == name)
                               for name in ("wrong_answer", "wrong_step")}
    return rows, counts


def _lowq(trace, treatment: str, opts: dict, rng, is_correct) -> str:
    """A low-quality completion: short or full style; a wrong final answer or wrong steps when so assigned."""
    from sftlab.demos.answer_only import countdown_summary
    from sftlab.demos.corrupt import corrupt_steps, short_solution, wrong_expression

    expression = trace.expression
    if treatment == "wrong_answer":
        expression = wrong_expression(trace.expression, is_correct, rng)
    if opts.get("style", "short") == "short":
        text = short_solution(trace.steps, expression)
    else:
        text = _think(trace) + countdown_summary(trace.steps, expression)
    if treatment == "wrong_step":
        text = corrupt_steps(text, rng, float(opts.get("corrupt_steps", 0.34)))
    return text


def verify_row(row: dict) -> bool:
    """Re-check a completion with the task's verifier: the last \\boxed{} expression reaches the target."""
    from sftlab.tasks.countdown import verify

    text = completion_text(row)
    if text is None:
        return True
    return verify(text, row["answer"]["numbers"], row["answer"]["target"]).reward == 1


def eval_rows(n: int, base_seed: int, progress: bool = False, splits=None) -> Iterator[dict]:
    """The countdown-eval suite: `n` queries per difficulty variant (4num = in-domain), seeds base_seed + j."""
    from tqdm import tqdm

    from sftlab.prompts.countdown import user_prompt
    from sftlab.tasks.countdown import PRESETS, VARIANTS, generate

    names = [TRAIN_VARIANT] + [v for v in PRESETS if v != TRAIN_VARIANT]
    names = [v for v in names if splits is None or v in splits]
    for name in tqdm(names, desc="countdown-eval", unit="split", disable=not progress, leave=False):
        for j in range(n):
            problem = generate(base_seed + j, PRESETS[name])
            yield make_row(
                id=f"countdown-eval-{name}-{j:04d}", task="countdown", split=name, variant=name,
                seed=problem.seed, prompt=user_prompt(problem.numbers, problem.target), completion=None,
                answer={"numbers": list(problem.numbers), "target": problem.target},
                metadata={"solution": problem.solution, "role": "id" if name == TRAIN_VARIANT else "difficulty",
                          "description": VARIANTS[name]},
            )
