"""Settings declared once (sftlab.settings): every SFT / GRPO / eval setting has its help text, a CLI flag and a
spec key (or a declared reason why not), and a new field becomes a flag and a spec key without another edit."""

from __future__ import annotations

import dataclasses

import pytest
import typer
import typer.main

from sftlab.cli import app, main
from sftlab.data import BuildConfig
from sftlab.evaluate.config import EvalConfig
from sftlab.experiment.spec import _DATA_KEYS, _MANAGED_TRAIN_KEYS, DataSettings, eval_spec_keys, parse_spec
from sftlab.settings import setting, settings_of, with_settings
from sftlab.task_adapters import NoOptions, all_tasks
from sftlab.task_adapters.options import KINDS, option_class
from sftlab.train.grpo import GrpoConfig
from sftlab.train.sft import SftConfig

COMMANDS = {SftConfig: ("train", "sft"), GrpoConfig: ("train", "grpo"), EvalConfig: ("eval",),
            BuildConfig: ("data", "build")}
SPEC_SECTIONS = {EvalConfig: eval_spec_keys, BuildConfig: lambda: _DATA_KEYS}  # the spec keys of each section


def _options(path: tuple[str, ...]) -> set[str]:
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}


@pytest.mark.parametrize("cls", list(COMMANDS), ids=lambda c: c.__name__)
def test_every_setting_has_help_a_flag_and_a_spec_key_or_says_why_not(cls):
    options = _options(COMMANDS[cls])
    spec = set(SPEC_SECTIONS[cls]()) if cls in SPEC_SECTIONS else None
    for item in settings_of(cls):
        assert item.help or not item.cli, f"{cls.__name__}.{item.name} has no help text"
        if item.cli:
            assert item.flag.split("/")[0] in options, f"{cls.__name__}.{item.name}: no flag {item.flag}"
        else:
            assert item.why, f"{cls.__name__}.{item.name} has no flag and no reason"
        if item.spec:
            if spec is not None:
                assert item.name in spec, f"{item.name} is not a spec key of {cls.__name__}'s section"
        else:
            assert item.why, f"{cls.__name__}.{item.name} is not a spec key and gives no reason"
    if cls not in SPEC_SECTIONS:  # what the plan sets is exactly what is declared spec=False
        holder = getattr(cls, "task_options", (None, None))[1]  # the tasks' options, each a key of its own
        assert {s.name for s in settings_of(cls) if not s.spec} - {holder} == set(_MANAGED_TRAIN_KEYS)


def _spec(**sections) -> dict:
    return {"name": "x", "task": "sokoban", "models": ["tiny-random"],
            "conditions": [{"name": "c", "demo": "answer-only"}], **sections}


def test_spec_keys_are_the_declared_settings():
    spec = parse_spec(_spec(train={"sft": {"adam_beta2": 0.9, "logging_steps": 3}},
                            eval={"top_k": 5, "max_attempts": 2, "device": "cpu"}))
    assert spec.conditions[0].train == {}
    assert spec.train.settings("sft") == {"adam_beta2": 0.9, "logging_steps": 3}
    assert spec.eval.options == {"top_k": 5, "max_attempts": 2, "device": "cpu"}
    with pytest.raises(Exception, match=r"eval.top_k: expected an integer"):
        parse_spec(_spec(eval={"top_k": "many"}))
    with pytest.raises(Exception, match=r"train.sft.seed: is set by the plan"):
        parse_spec(_spec(train={"sft": {"seed": 3}}))


def test_a_new_field_is_a_flag_without_another_edit():
    @dataclasses.dataclass(frozen=True)
    class Toy:
        name: str = setting(help="A name.")
        steps: int = setting(3, "Steps.", flag="--n-steps")
        fast: bool = setting(False, "Go fast.")
        tags: tuple[str, ...] | None = setting(None, "Tags, comma-separated.", commas=True)

    seen = {}
    toy = typer.Typer()

    @toy.command()
    @with_settings(Toy, [])
    def run(values: dict) -> None:
        seen.update(values)

    toy(["--name", "a", "--n-steps", "7", "--fast", "--tags", "x,y"], standalone_mode=False)
    assert seen == {"name": "a", "steps": 7, "fast": True, "tags": ("x", "y")}
    seen.clear()
    toy(["--name", "b"], standalone_mode=False)
    assert seen == {"name": "b"}  # options not given stay unset, so a YAML value or the field default applies


def test_derived_eval_flags_reach_the_config(tmp_path, capsys):
    assert main(["eval", "--backend", "oracle", "--suite", "gp-eval", "--episodes", "1", "--splits", "id,all_5",
                 "--top-k", "3", "--out", str(tmp_path), "--quiet"]) == 0
    import json

    aggregate = json.loads(next((tmp_path / "aggregates").rglob("gp-eval.json")).read_text())
    assert aggregate["settings"]["splits"] == ["all_5", "id"]
    assert main(["eval", "--backend", "oracle", "--out", str(tmp_path)]) == 2
    assert "missing --suite" in capsys.readouterr().err


_MINIMAL = {SftConfig: {"model": "m", "data": "d", "out": "o"}, GrpoConfig: {"model": "m", "data": "d", "out": "o"},
            EvalConfig: {"model": "random", "backend": "random", "suite": "gp-eval"}, BuildConfig: {"preset": "gp-cot"}}


@pytest.mark.parametrize("cls", list(COMMANDS), ids=lambda c: c.__name__)
def test_every_numeric_setting_refuses_nan_and_infinity(cls):
    """Issue 26: `--weight-decay nan` trained to an all-NaN checkpoint (a `< 0` check lets NaN through)."""
    from sftlab.errors import ConfigError

    numeric = [s for s in settings_of(cls) if s.kind in (int, float)]
    assert numeric
    for item in numeric:
        for bad in (float("nan"), float("inf"), float("-inf")):
            with pytest.raises(ConfigError, match=f"{item.name} must be"):
                cls(**_MINIMAL[cls], **{item.name: bad})


def test_declared_bounds_are_enforced_and_named():
    from sftlab.errors import ConfigError

    with pytest.raises(ConfigError, match="max_turns must be between 1 and 10000, got 1000000000000000000"):
        EvalConfig(**_MINIMAL[EvalConfig], max_turns=10**18)
    with pytest.raises(ConfigError, match="top_p must be between 0 and 1"):
        EvalConfig(**_MINIMAL[EvalConfig], top_p=1.5)
    with pytest.raises(ConfigError, match="max_steps must be <= 2147483647"):  # integers without a declared high
        SftConfig(**_MINIMAL[SftConfig], max_steps=10**18)


def test_a_build_setting_is_declared_once():
    """BuildConfig's fields are `sftlab data build`'s flags (above), a spec's `data:` keys and DataSettings' fields;
    a spec value is typed by the declaration at its key, and reaches the build with its value."""
    declared = [s.name for s in settings_of(BuildConfig) if s.spec]
    assert list(_DATA_KEYS) == declared == [f.name for f in dataclasses.fields(DataSettings)]
    spec = parse_spec(_spec(data={"n": 3, "seed": 5, "allow_overlap": True, "options": {"answer_only_converter":
                                                                                         "077d4cf"}}))
    data = spec.conditions[0].data
    config = BuildConfig(spec.conditions[0].preset, **dataclasses.asdict(data))
    assert (config.n, config.seed, config.allow_overlap, config.options) == (3, 5, True,
                                                                            {"answer_only_converter": "077d4cf"})
    with pytest.raises(Exception, match=r"data\.allow_overlap: expected true or false"):
        parse_spec(_spec(data={"allow_overlap": "yes"}))
    with pytest.raises(Exception, match=r"data\.n: must be >= 1"):
        parse_spec(_spec(data={"n": 0}))


TASK_OPTIONS = [(task.name, kind) for task in all_tasks() for kind in KINDS
                if option_class(task, kind) is not NoOptions]


def test_the_built_in_tasks_own_the_options_the_shared_configs_held():
    owned = {(name, kind): [s.name for s in settings_of(option_class(next(t for t in all_tasks() if t.name == name),
                                                                       kind))] for name, kind in TASK_OPTIONS}
    assert owned == {("sokoban", "eval"): ["prompt_protocol"], ("sokoban", "reward"): ["sokoban_reward"],
                     ("general_points", "eval"): ["gp_arithmetic"],
                     ("general_points", "reward"): ["gp_rescale", "gp_arithmetic"],
                     ("countdown", "reward"): ["countdown_format_score"]}
    shared = {s.name for cls in (EvalConfig, GrpoConfig) for s in settings_of(cls)}
    assert not shared & {"prompt_protocol", "gp_arithmetic", "gp_rescale", "countdown_format_score", "sokoban_reward"}


@pytest.mark.parametrize("name, kind", TASK_OPTIONS)
def test_every_task_option_has_help_a_flag_a_spec_key_and_its_checks(name, kind):
    """A task's option is declared once: the flag of its command and its spec key are derived from it, and the
    spec value reaches the config that hands it to the task."""
    from sftlab.errors import ConfigError

    task = next(t for t in all_tasks() if t.name == name)
    command = ("eval",) if kind == "eval" else ("train", "grpo")
    flags = _options(command)
    for item in settings_of(option_class(task, kind)):
        assert item.help and item.flag.split("/")[0] in flags, f"{name} {kind} option {item.name}"
        if kind == "eval":
            suite = task.default_suite()
            spec = parse_spec({**_spec(eval={"suites": [suite], item.name: item.default}), "task": "sokoban"})
            assert spec.eval.options == {item.name: item.default}
            config = EvalConfig(**{**_MINIMAL[EvalConfig], "suite": suite, item.name: item.default})
            assert getattr(config.options, item.name) == item.default
        else:
            spec = parse_spec({**_spec(train={"grpo": {item.name: item.default}}), "task": name,
                               "conditions": [{"name": "rl", "method": "grpo"}]})
            assert spec.train.settings("grpo") == {item.name: item.default}
            assert getattr(GrpoConfig(**_MINIMAL[GrpoConfig], **spec.train.settings("grpo")), item.name) == item.default
        if item.kind in (int, float):
            with pytest.raises(ConfigError, match=f"{item.name} must be"):
                option_class(task, kind)(**{item.name: float("nan")})
        if item.choices:
            with pytest.raises(ConfigError, match=f"unknown {item.name} 'nope'"):
                option_class(task, kind)(**{item.name: "nope"})
