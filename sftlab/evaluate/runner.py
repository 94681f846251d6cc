"""Checkpoint sweeps: which checkpoints, what is already stored, resumable runs, and the files they write.

    EVAL/results.sqlite                                the results store (one row per key x split x metric)
    EVAL/samples/<run>/<checkpoint>/<suite>.jsonl      per-sample records of the latest evaluation
    EVAL/aggregates/<run>/<checkpoint>/<suite>.json    per-split metrics of the latest evaluation
    EVAL/partial/<run>/<checkpoint>/<suite>.<key>.jsonl  finished units of an evaluation in progress
    EVAL/fingerprints.json                             cache of weight-file sha256s (by path, size, mtime)

An evaluation's content key is the sha256 of (checkpoint content fingerprint, suite, settings); its store key adds
the run/checkpoint/step names. A store key already present is skipped; a content key stored under another name is
copied under the new name without recomputing. While an evaluation runs, each finished unit (a Sokoban episode, a GP/Countdown row with all its
attempts) is appended to its partial log and fsynced; a rerun after a crash or kill reuses them and plays only the
rest. Per-unit sampling seeds make the result the same as an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from sftlab import __version__
from sftlab.backends import BACKENDS, SamplingParams, get_backend
from sftlab.errors import ConfigError, DataError, check_choice
from sftlab.io import atomic_write_json, atomic_write_text, sha256_file
from sftlab.store import Metric, Result, ResultsStore
from sftlab.task_adapters import Task, all_tasks, task_of_suite

# Bump when scoring or seeding changes, so stored numbers are not reused across protocols.
# 2: Countdown's `parsed` counts only boxed or tagged answers.
PROTOCOL = 2
CPU_MAX_NEW_TOKENS = 64  # default cap for the hf backend on CPU when --max-new-tokens is not given
POLICIES = ("oracle", "random")
_SKIP_FILES = {"optimizer.pt", "scheduler.pt", "trainer_state.json", "training_args.bin", "COMPLETE", "README.md"}


@dataclass(frozen=True)
class EvalConfig:
    """Settings of `sftlab eval`.

    model: a model name (smollm2-135m, tiny-random), folder, hub id, or a RUN folder (has run.json); ignored by
        the oracle/random backends. suite: sokoban-eval | gp-eval | countdown-eval |
        crossdomain-eval | safety-eval.
    checkpoints: for a RUN folder, "all" (base + every checkpoint), "last" (base + the last) or a comma list of
        steps / names ("0,40,checkpoint-80", 0 = base). episodes: per tag/split (default: the suite's, 100 / 500).
    backend: hf | vllm | oracle | random. out: the EVAL folder.
    temperature, top_p, top_k, seed: sampling (paper: 0.5, 1, -1). max_new_tokens: default 4096 (Sokoban) / 8192
        (GP, Countdown); with the hf backend on CPU the default is capped at 64 (a notice says so).
    max_turns: Sokoban turns per episode (30). multi_turn / max_attempts: GP/Countdown feedback mode (5 attempts).
    batch_size: prompts per forward pass (hf). run_name: the run name for a plain model (default: its name).
    device: hf device (default cuda if available, else cpu). splits: evaluate only these tags/splits (exact names;
        default all); part of the key, and an episode's trajectory does not depend on which others run with it.
    safety_prompts: safety-eval only, a local CSV/JSONL prompt set (HEx-PHI, AdvBench, XSTest) instead of the
        built-in probe; its sha256 is part of the key. refusal_judge: safety-eval only, a model (name, folder, hub
        id) that judges refusals with the hf backend instead of the pattern classifier.
    """

    model: str
    suite: str
    checkpoints: str = "all"
    episodes: int | None = None
    backend: str = "hf"
    out: str = "eval"
    temperature: float = 0.5
    top_p: float = 1.0
    top_k: int = -1
    max_new_tokens: int | None = None
    seed: int = 0
    max_turns: int = 30
    batch_size: int = 32
    multi_turn: bool = False
    max_attempts: int = 5
    run_name: str | None = None
    device: str | None = None
    splits: tuple[str, ...] | None = None
    safety_prompts: str | None = None
    refusal_judge: str | None = None

    def __post_init__(self) -> None:
        from sftlab.data.suites import SUITES

        check_choice("eval suite", self.suite, SUITES)
        check_choice("backend", self.backend, BACKENDS)
        if self.backend not in POLICIES and not str(self.model or "").strip():
            raise ConfigError(f"the {self.backend} backend needs --model (a model name, folder, hub id or RUN)")
        if self.episodes is not None and (not _is_int(self.episodes) or self.episodes < 1):
            raise ConfigError(f"episodes must be a positive integer, got {self.episodes!r}")
        if not _is_int(self.max_turns) or self.max_turns < 1:
            raise ConfigError(f"max_turns must be a positive integer, got {self.max_turns!r}")
        if not _is_int(self.batch_size) or self.batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {self.batch_size!r}")
        if not _is_int(self.max_attempts) or self.max_attempts < 1:
            raise ConfigError(f"max_attempts must be a positive integer, got {self.max_attempts!r}")
        if self.multi_turn and not task_of_suite(self.suite).multi_turn:
            takes = ", ".join(s.name for t in all_tasks() if t.multi_turn for s in t.suites())
            raise ConfigError(f"multi_turn (verifier feedback) applies to {takes}, not {self.suite}")
        parse_checkpoint_choice(self.checkpoints)
        for name in ("safety_prompts", "refusal_judge"):
            if getattr(self, name) is not None and self.suite not in task_of_suite(self.suite).prompt_file_suites:
                raise ConfigError(f"{name} applies to safety-eval only, not {self.suite}")
        if self.safety_prompts is not None and not Path(self.safety_prompts).is_file():
            raise DataError(f"no such safety prompt file: {self.safety_prompts}")
        if self.splits is not None:
            if isinstance(self.splits, str) or not self.splits or not all(isinstance(x, str) for x in self.splits):
                raise ConfigError(f"splits must be a non-empty list of split names, got {self.splits!r}")
            object.__setattr__(self, "splits", tuple(self.splits))
        SamplingParams(temperature=self.temperature, top_p=self.top_p, top_k=self.top_k,
                       max_new_tokens=self.max_new_tokens or 1, seed=self.seed)

    @property
    def task(self) -> str:
        """The canonical name of the suite's task."""
        return task_of_suite(self.suite).name

    @property
    def adapter(self) -> Task:
        """The suite's task adapter."""
        return task_of_suite(self.suite)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Target:
    """One thing to evaluate: a checkpoint of a run, a plain model, or a reference policy."""

    run: str
    checkpoint: str
    step: int | None
    location: str | None  # what the backend loads (None for policies)
    fingerprint: str


# --- which checkpoints -------------------------------------------------------------------------------------------
def parse_checkpoint_choice(choice: str) -> str | list[str]:
    """"all", "last", or a list of steps/names; ConfigError for anything else."""
    text = str(choice).strip()
    if text in ("all", "last"):
        return text
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items or not all(re.fullmatch(r"\d+|base|checkpoint-\d+", t) for t in items):
        raise ConfigError(f"checkpoints must be all, last, or a comma list of steps like 0,40,80 "
                          f"(names base / checkpoint-N also work), got {choice!r}")
    return items


def _step_of(item: str) -> int:
    return 0 if item == "base" else int(item.removeprefix("checkpoint-"))


def plan_targets(config: EvalConfig, fingerprints: FingerprintCache) -> list[Target]:
    """The checkpoints to evaluate, in step order, each with its content fingerprint."""
    if config.backend in POLICIES:
        return [Target(config.backend, config.backend, None, None, f"policy:{config.backend}")]
    model = str(config.model).strip()
    if (Path(model) / "run.json").is_file():
        from sftlab.train.runs import list_checkpoints

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
    from sftlab.models import resolve

    resolve(model)  # ModelError for a folder that is not a model, an unknown name, ...
    run = config.run_name or (Path(model).resolve().name if Path(model).exists() else model)
    return [Target(run, "base", 0, model, fingerprints.of_model(model))]


# --- content fingerprints ----------------------------------------------------------------------------------------
class FingerprintCache:
    """sha256 of a model folder's weight, config and tokenizer files, memoised by (path, size, mtime_ns).

    Hashing is exact (a copied or moved checkpoint is recognised as the same content) and paid once per file: a
    rerun only stats the files. Training-state files (optimizer, scheduler, trainer state) are left out.
    """

    def __init__(self, path: Path):
        self.path = path
        try:
            self._cache = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        except (OSError, json.JSONDecodeError):
            self._cache = {}
        self._dirty = False

    def of_model(self, name) -> str:
        """A fingerprint for a model name, folder or hub id (hub ids: the id itself; they are not hashed)."""
        from sftlab.models import resolve
        from sftlab.models.resolve import adapter_base, is_adapter_dir

        location = resolve(name)
        folder = Path(location)
        if not folder.is_dir():
            return f"hub:{location}"
        digest = hashlib.sha256()
        for file in sorted(p for p in folder.rglob("*") if p.is_file() and self._counts(p, folder)):
            digest.update(f"{file.relative_to(folder).as_posix()}\0{self._file_sha(file)}\n".encode())
        if is_adapter_dir(folder):
            digest.update(f"base\0{self.of_model(adapter_base(folder))}\n".encode())
        self.save()
        return "sha256:" + digest.hexdigest()

    @staticmethod
    def _counts(path: Path, root: Path) -> bool:
        parts = path.relative_to(root).parts
        name = path.name
        return not (any(p.startswith(".") for p in parts) or name in _SKIP_FILES or name.startswith("rng_state"))

    def _file_sha(self, path: Path) -> str:
        stat = path.stat()
        key = str(path.resolve())
        entry = self._cache.get(key)
        if entry and entry[0] == stat.st_size and entry[1] == stat.st_mtime_ns:
            return entry[2]
        sha = sha256_file(path)
        self._cache[key] = [stat.st_size, stat.st_mtime_ns, sha]
        self._dirty = True
        return sha

    def save(self) -> None:
        if self._dirty:
            atomic_write_text(self.path, json.dumps(self._cache, sort_keys=True) + "\n")
            self._dirty = False


# --- settings and keys -------------------------------------------------------------------------------------------
def resolved_max_new_tokens(config: EvalConfig) -> tuple[int, str | None]:
    """The max new tokens to use and, when the CPU cap applied, a notice saying so."""
    if config.max_new_tokens is not None:
        return config.max_new_tokens, None
    default = config.adapter.max_new_tokens
    if config.backend == "hf":
        from sftlab.models.resolve import pick_device

        if pick_device(config.device) == "cpu" and default > CPU_MAX_NEW_TOKENS:
            return CPU_MAX_NEW_TOKENS, (f"note: on CPU, max_new_tokens defaults to {CPU_MAX_NEW_TOKENS} instead of "
                                        f"the paper's {default}; pass --max-new-tokens {default} for the paper setting")
    return default, None


def eval_settings(config: EvalConfig, max_new_tokens: int, episodes: int) -> dict:
    """Everything that changes the numbers (not batch size, device or output paths)."""
    settings = {
        "protocol": PROTOCOL,
        "backend": config.backend,
        "episodes": episodes,
        "temperature": config.temperature,
        "top_p": config.top_p,
        "top_k": config.top_k,
        "max_new_tokens": max_new_tokens,
        "seed": config.seed,
    }
    if config.backend in POLICIES:  # a policy ignores the sampling settings
        for name in ("temperature", "top_p", "top_k", "max_new_tokens"):
            settings.pop(name)
    if config.splits is not None:
        settings["splits"] = sorted(config.splits)
    if config.safety_prompts is not None:
        settings["safety_prompts_sha256"] = sha256_file(config.safety_prompts)
    if config.refusal_judge is not None:
        settings["refusal_judge"] = config.refusal_judge
    if config.adapter.closed_loop:
        settings["max_turns"] = config.max_turns
    else:
        settings["max_attempts"] = config.max_attempts if config.multi_turn else 1
    return settings


def eval_key(fingerprint: str, suite: str, settings: dict) -> str:
    """The evaluation identity stored with every result row."""
    blob = json.dumps({"fingerprint": fingerprint, "suite": suite, "settings": settings}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def row_key(content_key: str, target: Target) -> str:
    """The store key of one named evaluation: the content key plus the run/checkpoint/step names, so a second name
    for the same content gets its own rows (copied, not recomputed)."""
    blob = json.dumps([content_key, target.run, target.checkpoint, target.step])
    return hashlib.sha256(blob.encode()).hexdigest()


# --- the resumable log of finished units ---------------------------------------------------------------------------
class UnitLog:
    """An append-only JSONL of finished units; a torn last line (from a kill) is dropped on load."""

    def __init__(self, path: Path):
        self.path = path

    def load(self) -> dict[str, dict]:
        """Finished units by id; rewrites the file without a torn or malformed tail."""
        if not self.path.is_file():
            return {}
        units, good = {}, []
        for line in self.path.read_text(encoding="utf-8").splitlines(keepends=True):
            if not line.endswith("\n"):
                break
            try:
                unit = json.loads(line)
            except json.JSONDecodeError:
                break
            units[unit["id"]] = unit
            good.append(line)
        atomic_write_text(self.path, "".join(good))
        return units

    def append(self, unit: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(unit, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def remove(self) -> None:
        """Delete the log and the folders it leaves empty (up to and including `partial/`)."""
        self.path.unlink(missing_ok=True)
        for folder in list(self.path.parents)[:3]:
            try:
                folder.rmdir()
            except OSError:  # not empty (another checkpoint or suite in progress) or already gone
                break


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]+", "__", name).strip("_") or "model"


# --- the sweep ----------------------------------------------------------------------------------------------------
def evaluate(config: EvalConfig, progress: bool = True) -> list[Result]:
    """Evaluate every requested checkpoint on the suite; skip what the store already holds; return all results.

    Writes the store, per-sample JSONL and aggregate JSON under `config.out` (see the module docstring).
    """
    from rich.console import Console

    from sftlab.data.suites import DEFAULTS

    console = Console(stderr=True)
    out = Path(config.out)
    if out.exists() and not out.is_dir():
        raise DataError(f"--out {out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    fingerprints = FingerprintCache(out / "fingerprints.json")
    targets = plan_targets(config, fingerprints)
    max_new_tokens, notice = resolved_max_new_tokens(config)
    episodes = config.episodes or DEFAULTS[config.suite][0]
    settings = eval_settings(config, max_new_tokens, episodes)
    params = SamplingParams(temperature=config.temperature, top_p=config.top_p, top_k=config.top_k,
                            max_new_tokens=max_new_tokens, seed=config.seed)
    results: list[Result] = []
    rows = None
    with ResultsStore(out) as store:
        for target in targets:
            content_key = eval_key(target.fingerprint, config.suite, settings)
            key = row_key(content_key, target)
            stored_settings = {**settings, "content_key": content_key, "fingerprint": target.fingerprint}
            partial = UnitLog(out / "partial" / _safe(target.run) / _safe(target.checkpoint)
                              / f"{config.suite}.{key[:16]}.jsonl")
            label = f"{target.run}/{target.checkpoint}"
            if store.has(key):
                partial.remove()
                console.print(f"[dim]{label}: already in the store, skipped[/dim]")
                results.extend(store.query(key=key))
                continue
            same = [r for r in store.query(suite=config.suite) if r.settings.get("content_key") == content_key]
            if same:
                source = f"{same[0].run}/{same[0].checkpoint}"
                console.print(f"[dim]{label}: same content as {source}, its stored results reused[/dim]")
                metrics = [Metric(r.split, r.metric, r.value, r.n, r.ci_low, r.ci_high)
                           for r in same if r.key == same[0].key]
                store.record(key, run=target.run, checkpoint=target.checkpoint, suite=config.suite,
                             metrics=metrics, step=target.step, settings=stored_settings)
                results.extend(store.query(key=key))
                continue
            if notice:
                console.print(notice)
                notice = None
            if rows is None:
                from sftlab.data.suites import suite_rows

                rows = select_splits(suite_rows(config.suite, n=episodes, source=config.safety_prompts),
                                     config.splits, config.suite)
            _run_target(config, target, key, stored_settings, params, rows, partial, store, out, console, progress)
            results.extend(store.query(key=key))
    return results


def select_splits(rows: list[dict], splits: Sequence[str] | None, suite: str) -> list[dict]:
    """The rows of the chosen splits (all when None); an unknown split name is a ConfigError listing the names."""
    if splits is None:
        return rows
    names = list(dict.fromkeys(r["split"] for r in rows))
    unknown = [s for s in splits if s not in names]
    if unknown:
        raise ConfigError(f"{suite} has no split(s) {unknown}; choose from: {', '.join(names)}")
    return [r for r in rows if r["split"] in set(splits)]


def _run_target(config, target, key, settings, params, rows, partial, store, out, console, progress) -> None:
    done = partial.load()
    todo = [r for r in rows if r["id"] not in done]
    if done:
        console.print(f"{target.run}/{target.checkpoint}: resuming, {len(done)} of {len(rows)} units already done")
    else:
        console.print(f"{target.run}/{target.checkpoint}: evaluating {len(rows)} units on {config.suite}")
    units = dict(done)
    if todo:
        backend = _backend(config, target)
        judge = None
        if config.refusal_judge is not None:
            from sftlab.evaluate.refusal_judge import RefusalJudge

            judge = RefusalJudge(config.refusal_judge, batch_size=config.batch_size, device=config.device)
        try:
            units.update(_play(config, backend, params, rows, frozenset(done), partial, console, progress, judge))
        finally:
            backend.close()
            if judge is not None:
                judge.close()
    ordered = [units[r["id"]] for r in rows]
    splits = list(dict.fromkeys(r["split"] for r in rows))
    metrics = _aggregate(config, ordered, splits)
    folder = Path(_safe(target.run)) / _safe(target.checkpoint)
    records = [record for unit in ordered for record in unit["records"]]
    atomic_write_text(out / "samples" / folder / f"{config.suite}.jsonl",
                      "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    atomic_write_json(out / "aggregates" / folder / f"{config.suite}.json", {
        "key": key, "run": target.run, "checkpoint": target.checkpoint, "step": target.step,
        "suite": config.suite, "model": target.location, "fingerprint": target.fingerprint,
        "settings": settings, "sftlab_version": __version__,
        "metrics": {s: {m.metric: {k: v for k, v in asdict(m).items() if k not in ("split", "metric")}
                        for m in metrics if m.split == s} for s in splits},
    })
    store.record(key, run=target.run, checkpoint=target.checkpoint, suite=config.suite, metrics=metrics,
                 step=target.step, settings=settings)
    partial.remove()


def _backend(config: EvalConfig, target: Target):
    if config.backend in POLICIES:
        return get_backend(config.backend)
    if config.backend == "hf":
        return get_backend("hf", target.location, batch_size=config.batch_size, device=config.device)
    return get_backend("vllm", target.location)


def _play(config, backend, params, rows, skip, partial, console, progress, judge=None) -> dict[str, dict]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    units: dict[str, dict] = {}
    closed = config.adapter.closed_loop  # episodes in an environment, else scored rows
    # Rich draws nothing until the end when stderr is not a terminal (a log file, a batch job): there, print a
    # plain line per Sokoban turn and per tenth of the rows instead.
    plain = progress and not console.is_terminal
    every = max(1, len(rows) // 10)

    def done() -> int:
        return len(units) + len(skip)

    def finished(unit: dict) -> None:
        partial.append(unit)
        units[unit["id"]] = unit
        bar.advance(units_task)
        if plain and not closed and (len(units) % every == 0 or done() == len(rows)):
            console.print(f"  {done()}/{len(rows)} rows done", highlight=False)

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, disable=not progress) as bar:
        units_task = bar.add_task("episodes" if closed else "rows", total=len(rows), completed=len(skip))
        if closed:
            from sftlab.evaluate import closed_loop

            turn_task = bar.add_task("turn", total=config.max_turns)

            def on_turn(turn: int, live: int) -> None:
                bar.update(turn_task, completed=turn, description=f"turn ({live} live)")
                if plain:
                    console.print(f"  turn {turn + 1}/{config.max_turns}: {live} episode(s) playing, "
                                  f"{done()}/{len(rows)} finished", highlight=False)

            closed_loop.play(backend, rows, params, seed=config.seed, max_turns=config.max_turns, skip=skip,
                             on_done=finished, on_turn=on_turn)
            bar.update(turn_task, completed=config.max_turns)
        else:
            from sftlab.evaluate import single_turn

            chunk = len(rows) if config.backend in POLICIES else (
                1024 if config.backend == "vllm" else 2 * config.batch_size)
            single_turn.run(backend, rows, params, seed=config.seed,
                            max_attempts=config.max_attempts if config.multi_turn else 1,
                            skip=skip, chunk_size=chunk, on_done=finished, refusal_judge=judge)
    return units


def _aggregate(config: EvalConfig, units: Sequence[dict], splits: Sequence[str]) -> list[Metric]:
    if config.adapter.closed_loop:
        from sftlab.evaluate.closed_loop import aggregate

        return aggregate(units, splits)
    from sftlab.evaluate.single_turn import aggregate

    return aggregate(units, splits, multi_turn=config.multi_turn)


# --- the table ----------------------------------------------------------------------------------------------------
_RATES = {"success", "validity", "effectiveness", "acc", "valid", "parsed", "refusal_rate"}


def split_order(suite: str) -> list[str]:
    """The suite's splits in the paper's order (Sokoban tags, GP splits, domains, harmful/harmless)."""
    try:
        return list(task_of_suite(suite).split_order(suite))
    except ImportError:  # pragma: no cover - a task package not built
        return []


def results_table(results: Sequence[Result], suite: str, title: str | None = None):
    """A rich Table: one row per run/checkpoint x split; rates in % with their Wilson 95% interval."""
    from rich.table import Table

    names = task_of_suite(suite).table_metrics
    table = Table(title=title or suite)
    table.add_column("run/checkpoint", no_wrap=True)
    table.add_column("split", no_wrap=True)
    table.add_column("n", justify="right")
    for name in names:
        table.add_column(name.replace("response_tokens", "tokens").replace("effectiveness", "effective"),
                         justify="right", no_wrap=True)
    cells: dict[tuple, dict[str, Result]] = {}
    for r in results:
        if r.suite == suite:
            step = r.step if r.step is not None else -1
            cells.setdefault((r.run, step, r.checkpoint, r.split), {})[r.metric] = r
    order = {name: i for i, name in enumerate(split_order(suite))}
    for (run, _step, checkpoint, split), by_metric in sorted(
            cells.items(), key=lambda kv: (*kv[0][:3], order.get(kv[0][3], len(order)), kv[0][3])):
        first = by_metric.get(names[0]) or next(iter(by_metric.values()))
        table.add_row(f"{run}/{checkpoint}", split, str(first.n), *(_cell(by_metric.get(name)) for name in names))
    return table


def _cell(result: Result | None) -> str:
    if result is None:
        return "-"
    if result.metric in _RATES:
        text = f"{100 * result.value:.1f}%"
        if result.ci_low is not None:
            text += f" [{100 * result.ci_low:.0f}, {100 * result.ci_high:.0f}]"
        return text
    return f"{result.value:.2f}" if abs(result.value) < 100 else f"{result.value:.0f}"

