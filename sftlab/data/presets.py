"""The dataset presets: one name per dataset condition of the papers, plus the eval suites.

A preset fixes the task, the kind of rows (SFT with a completion, RL without one, or an eval suite), the
demonstration format, whether prompts are diverse, the default size and the default knobs. `BuildConfig` is the
validated, frozen description of one build (preset + seed + size + flags + knob overrides).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sftlab.errors import ConfigError, check_choice


@dataclass(frozen=True)
class Preset:
    name: str
    task: str  # "sokoban" | "general_points" | "countdown"
    kind: str  # "sft" | "rl" | "eval"
    demo: str | None  # "answer-only" | "cot" | "nocot" | "lowq" | "teacher" | None (RL and eval rows)
    diverse: bool
    default_n: int  # puzzles (Sokoban), hands (GP), queries (Countdown); eval suites: per tag/split
    description: str
    options: tuple[tuple[str, object], ...] = ()  # default knob values, see OPTION_TYPES

    @property
    def split(self) -> str:
        """The file stem the rows go to: `test` for eval suites, else `train`."""
        return "test" if self.kind == "eval" else "train"

    def default_options(self) -> dict:
        return dict(self.options)


_LOWQ_MIXED = (("style", "short"), ("wrong_answer_fraction", 0.25), ("wrong_step_fraction", 0.25))


def _presets() -> dict[str, Preset]:
    out: list[Preset] = []
    sok = "6x6, 1 box; one row per state along the shortest path (horizon 1)"
    gp = "4 cards, target 24"
    for diverse in (False, True):
        tag = "diverse-" if diverse else ""
        words = "per-row random 4-word action vocabulary" if diverse else "fixed Up/Down/Left/Right prompt"
        maps = "the 8 face-card mappings of the 'mixed' preset" if diverse else "J/Q/K count as 10"
        out += [
            Preset(f"sokoban-{tag}answer-only", "sokoban", "sft", "answer-only", diverse, 200,
                   f"Sokoban SFT, {words}, answer-only demonstrations; {sok}"),
            Preset(f"sokoban-{tag}cot", "sokoban", "sft", "cot", diverse, 200,
                   f"Sokoban SFT, {words}, solver CoT (or --teacher CoT); {sok}"),
            Preset(f"sokoban-{tag}rl", "sokoban", "rl", None, diverse, 200,
                   f"Sokoban RL prompts, {words}, expert action as ground truth; {sok}"),
            Preset(f"gp-{tag}answer-only", "general_points", "sft", "answer-only", diverse, 10_000,
                   f"General Points SFT, {maps}, JSON answer only; {gp}"),
            Preset(f"gp-{tag}cot", "general_points", "sft", "cot", diverse, 10_000,
                   f"General Points SFT, {maps}, search CoT with backtracking (or --teacher CoT); {gp}",
                   (("dead_ends", 2),)),
            Preset(f"gp-{tag}rl", "general_points", "rl", None, diverse, 10_000,
                   f"General Points RL prompts, {maps}; {gp}"),
        ]
    cd = "same queries in every Countdown arm"
    out += [
        Preset("sokoban-eval", "sokoban", "eval", None, False, 100,
               "Sokoban eval suite: the paper's 8 tags x 100 episodes (initial states), base seed 123"),
        Preset("gp-eval", "general_points", "eval", None, False, 500,
               "General Points eval suite: the 9 test splits x 500 hands, seeds 42+i"),
        Preset("countdown-eval", "countdown", "eval", None, False, 500,
               "Countdown eval suite: held-out queries (in-domain) and the difficulty variants"),
        Preset("crossdomain-eval", "crossdomain", "eval", None, False, 20,
               "Cross-domain suite: reasoning-gym tasks x 20 items, split = domain (needs sftlab[reasoning])"),
        Preset("safety-eval", "safety", "eval", None, False, 20,
               "Safety probe: 20 harmful requests + 20 harmless look-alikes"),
        Preset("countdown-cot", "countdown", "sft", "cot", False, 20_480,
               f"Countdown long CoT: verified search traces with dead ends, backtracking, self-check; {cd}",
               (("dead_ends", 2),)),
        Preset("countdown-nocot", "countdown", "sft", "nocot", False, 20_480,
               f"Countdown without reasoning: short summary + \\boxed{{answer}} only; {cd}"),
        Preset("countdown-lowq", "countdown", "sft", "lowq", False, 20_480,
               f"Countdown low quality: terse solutions, 25% wrong answers, 25% wrong steps; {cd}", _LOWQ_MIXED),
        Preset("countdown-lowq-unverified", "countdown", "sft", "lowq", False, 20_480,
               f"Countdown low quality: full CoT but 50% of final answers wrong (unverified); {cd}",
               (("style", "cot"), ("wrong_answer_fraction", 0.5), ("wrong_step_fraction", 0.0),
                ("dead_ends", 2))),
        Preset("countdown-lowq-corrupted", "countdown", "sft", "lowq", False, 20_480,
               f"Countdown low quality: full CoT, right answers, 50% of rows with wrong steps; {cd}",
               (("style", "cot"), ("wrong_answer_fraction", 0.0), ("wrong_step_fraction", 0.5),
                ("dead_ends", 2))),
        Preset("countdown-lowq-short", "countdown", "sft", "lowq", False, 20_480,
               f"Countdown low quality: right answers with a terse, incomplete justification; {cd}",
               (("style", "short"), ("wrong_answer_fraction", 0.0), ("wrong_step_fraction", 0.0))),
        Preset("countdown-teacher", "countdown", "sft", "teacher", False, 20_480,
               f"Countdown teacher CoT: rejection-sampled from --teacher MODEL; {cd}"),
        Preset("countdown-rl", "countdown", "rl", None, False, 20_480,
               f"Countdown RL prompts with {{numbers, target}} ground truth; {cd}"),
    ]
    return {p.name: p for p in out}


PRESETS: dict[str, Preset] = _presets()

# Knobs a build may override (`--option KEY=VALUE`), with their types and checks.
OPTION_TYPES: dict[str, type] = {
    "dead_ends": int,  # search CoT: dead-end branches explored (and abandoned) before the solution branch
    "style": str,  # lowq: "short" (terse) or "cot" (full search trace)
    "wrong_answer_fraction": float,  # lowq: fraction of rows whose final answer is wrong
    "wrong_step_fraction": float,  # lowq: fraction of rows with wrong intermediate steps (answer right)
    "corrupt_steps": float,  # lowq: share of the arithmetic steps of a corrupted row that are made wrong
    "teacher_samples": int,  # teacher: samples per prompt (n)
    "teacher_temperature": float,
    "teacher_top_p": float,
    "teacher_max_new_tokens": int,
    "teacher_batch_size": int,
}

TEACHER_DEFAULTS: dict[str, dict] = {
    # debunk spec 4: Sokoban n=16, GP n=3, both T=1.0, top_p 1, max_tokens 4096. Countdown (rethinking spec 2):
    # Qwen3-32B at T=0.6, top-p 0.95; several samples per query.
    "sokoban": {"teacher_samples": 16, "teacher_temperature": 1.0, "teacher_top_p": 1.0,
                "teacher_max_new_tokens": 4096, "teacher_batch_size": 8},
    "general_points": {"teacher_samples": 3, "teacher_temperature": 1.0, "teacher_top_p": 1.0,
                       "teacher_max_new_tokens": 4096, "teacher_batch_size": 8},
    "countdown": {"teacher_samples": 4, "teacher_temperature": 0.6, "teacher_top_p": 0.95,
                  "teacher_max_new_tokens": 4096, "teacher_batch_size": 8},
}

MAX_N = 1_000_000
_SOKOBAN_SEED_LIMIT = 2**32 - 1  # numpy's legacy seeding, which the Sokoban generator follows


def sokoban_max_seed(preset: Preset, n: int | None) -> int:
    """The largest build seed of a Sokoban preset whose puzzle seeds stay within numpy's 2**32 - 1.

    Training builds draw candidates from TRAIN_SEED_BASE * (seed + 1) on (fewer than TRAIN_SEED_BASE of them);
    the eval suite's 8 tags use base + max(n, 100) * tag + episode (sftlab.data.sokoban_rows.eval_seed_list).
    """
    from sftlab.data.rows import TRAIN_SEED_BASE

    if preset.kind == "eval":
        n = n or preset.default_n
        return _SOKOBAN_SEED_LIMIT - max(n, 100) * 7 - n
    return _SOKOBAN_SEED_LIMIT // TRAIN_SEED_BASE - 2


def get_preset(name: str) -> Preset:
    """The preset called `name`; an unknown name is a ConfigError listing the presets."""
    check_choice("preset", name, PRESETS)
    return PRESETS[name]


def parse_options(pairs) -> dict:
    """Turn `KEY=VALUE` strings (or a mapping) into typed knob values; unknown keys are a ConfigError."""
    items = pairs.items() if isinstance(pairs, dict) else [_split_pair(p) for p in pairs or ()]
    out = {}
    for key, value in items:
        check_choice("option", key, OPTION_TYPES)
        kind = OPTION_TYPES[key]
        try:
            out[key] = kind(value)
        except (TypeError, ValueError):
            raise ConfigError(f"option {key} must be a {kind.__name__}, got {value!r}") from None
    return out


def _split_pair(text: str) -> tuple[str, str]:
    if "=" not in str(text):
        raise ConfigError(f"options are KEY=VALUE, got {text!r}")
    key, value = str(text).split("=", 1)
    return key.strip(), value.strip()


@dataclass(frozen=True)
class BuildConfig:
    """One build: a preset, the seed of every random choice, the size, the flags and the knob values."""

    preset: str
    seed: int = 0
    n: int | None = None  # None: the preset's default
    teacher: str | None = None
    paper_seeds: bool = False
    allow_overlap: bool = False
    options: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        preset = get_preset(self.preset)
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.n is not None and (not isinstance(self.n, int) or not 1 <= self.n <= MAX_N):
            raise ConfigError(f"n must be an integer between 1 and {MAX_N}, got {self.n!r}")
        if preset.task == "sokoban" and self.seed > sokoban_max_seed(preset, self.n):
            raise ConfigError(
                f"seed {self.seed} is too large for {preset.name}: its puzzle seeds would pass numpy's limit of "
                f"2**32 - 1; use a seed between 0 and {sokoban_max_seed(preset, self.n)}"
            )
        if self.teacher is not None and preset.demo not in ("cot", "teacher"):
            raise ConfigError(
                f"--teacher only applies to CoT presets (*-cot, countdown-teacher), not to {preset.name}"
            )
        if preset.demo == "teacher" and not self.teacher:
            raise ConfigError(f"{preset.name} samples its CoT from a model: pass --teacher MODEL")
        if self.paper_seeds and preset.kind == "eval":
            raise ConfigError(
                "--paper-seeds changes training seeds only; the eval suites always use the paper's eval seeds"
            )
        if self.paper_seeds and preset.task == "countdown":
            raise ConfigError("--paper-seeds applies to Sokoban and General Points; Countdown has no paper seeds")
        user = parse_options(self.options)
        allowed = _applicable(preset, bool(self.teacher))
        for key in user:
            if key not in allowed:
                shown = ", ".join(sorted(allowed)) or "none"
                raise ConfigError(f"option {key} does not apply to {preset.name} (options it takes: {shown})")
        opts = {**preset.default_options(), **user}
        if self.teacher:
            opts = {k: v for k, v in opts.items() if k != "dead_ends"}
            opts = {**TEACHER_DEFAULTS[preset.task], **opts}
        _check_option_values(opts)
        object.__setattr__(self, "options", dict(sorted(opts.items())))

    @property
    def spec(self) -> Preset:
        return PRESETS[self.preset]

    @property
    def size(self) -> int:
        return self.n if self.n is not None else self.spec.default_n

    def to_dict(self) -> dict:
        """The config as written to the manifest."""
        return {
            "preset": self.preset, "task": self.spec.task, "kind": self.spec.kind, "demo": self.spec.demo,
            "diverse": self.spec.diverse, "seed": self.seed, "n": self.size, "teacher": self.teacher,
            "paper_seeds": self.paper_seeds, "allow_overlap": self.allow_overlap, "options": self.options,
        }


def _applicable(preset: Preset, teacher: bool) -> set[str]:
    keys = set()
    if preset.demo == "lowq":
        keys |= {"style", "wrong_answer_fraction", "wrong_step_fraction", "corrupt_steps", "dead_ends"}
    if preset.demo == "cot" and preset.task in ("general_points", "countdown") and not teacher:
        keys.add("dead_ends")
    if teacher:
        keys |= {k for k in OPTION_TYPES if k.startswith("teacher_")}
    return keys


def _check_option_values(opts: dict) -> None:
    for key in ("wrong_answer_fraction", "wrong_step_fraction", "corrupt_steps", "teacher_top_p"):
        if key in opts and not 0.0 <= opts[key] <= 1.0:
            raise ConfigError(f"option {key} must be between 0 and 1, got {opts[key]}")
    if "wrong_answer_fraction" in opts and opts["wrong_answer_fraction"] + opts.get("wrong_step_fraction", 0) > 1:
        raise ConfigError("wrong_answer_fraction + wrong_step_fraction must not exceed 1")
    if "dead_ends" in opts and not 0 <= opts["dead_ends"] <= 50:
        raise ConfigError(f"option dead_ends must be between 0 and 50, got {opts['dead_ends']}")
    if "style" in opts:
        check_choice("lowq style", opts["style"], ("short", "cot"))
    for key in ("teacher_samples", "teacher_max_new_tokens", "teacher_batch_size"):
        if key in opts and opts[key] < 1:
            raise ConfigError(f"option {key} must be at least 1, got {opts[key]}")
    if "teacher_temperature" in opts and opts["teacher_temperature"] < 0:
        raise ConfigError(f"option teacher_temperature must be >= 0, got {opts['teacher_temperature']}")
