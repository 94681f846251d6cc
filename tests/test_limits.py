"""Limits checked before any work, and hostile or mistaken input refused with one `error:` line (exit 2).

Cases that would use gigabytes if their check regressed (a huge episode count, YAML alias bombs) run in a child
process with a 2 GiB address-space limit, so a regression fails the test instead of exhausting the machine.
"""

from __future__ import annotations

import copy
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from sftlab.cli import main
from sftlab.errors import ConfigError
from sftlab.yamlfile import MAX_YAML_EXPANDED, loads_yaml

ROOT = Path(__file__).resolve().parents[1]
QUICK = yaml.safe_load((ROOT / "experiments" / "quickstart.yaml").read_text())
# Nine levels of ten aliases, all inside one flow value: 10**9 values once written out, from about 400 bytes.
BOMB = "[" + ", ".join(
    f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 10 if i else ["lol"] * 10) + "]" for i in range(10)
) + "]"


def run_limited(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m sftlab ARGS` in a child process that may use at most 2 GiB of address space."""

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    return subprocess.run([sys.executable, "-m", "sftlab", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, preexec_fn=limit)


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr[-2000:]
    return lines[0]


def cli_error(capsys, args: list[str]) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


# --- item 5: episodes --------------------------------------------------------------------------------------------


def test_huge_episode_count_is_refused_before_any_work(tmp_path):
    out = tmp_path / "eval"
    proc = run_limited(["eval", "--backend", "oracle", "--suite", "sokoban-eval", "--episodes", "100000000",
                        "--out", str(out)], tmp_path)
    assert "plans 800000000 units in all; the limit is 1000000 units per evaluation" in one_error_line(proc)
    assert not out.exists()  # refused before the EVAL folder was even created


def test_the_episode_limit_bounds_the_suite_total_not_each_tag(tmp_path):
    # 1,000,000 episodes per tag is 8,000,000 for the 8 tags: refused in the 2 GiB child, before any work
    out = tmp_path / "eval"
    started = time.monotonic()
    proc = run_limited(["eval", "--backend", "oracle", "--suite", "sokoban-eval", "--episodes", "1000000",
                        "--out", str(out)], tmp_path)
    assert time.monotonic() - started < 60
    line = one_error_line(proc)
    assert "sokoban-eval with 1000000 episodes per tag/split plans 8000000 units in all" in line
    assert "the limit is 1000000 units" in line and not out.exists()


def test_the_episode_limit_counts_the_chosen_splits_and_rows_per_task():
    from sftlab.data.suites import MAX_UNITS
    from sftlab.evaluate import EvalConfig
    from sftlab.tasks.crossdomain import DOMAINS

    # one tag of 1,000,000 episodes is within the limit; two are not
    EvalConfig(model="", backend="oracle", suite="sokoban-eval", episodes=MAX_UNITS, splits=("SimpleSokoban",))
    with pytest.raises(ConfigError, match=f"plans {2 * MAX_UNITS} units in all"):
        EvalConfig(model="", backend="oracle", suite="sokoban-eval", episodes=MAX_UNITS,
                   splits=("SimpleSokoban", "LargerSokoban"))
    # crossdomain-eval's n is per reasoning-gym task, and a domain holds several tasks
    tasks = sum(len(t) for t in DOMAINS.values())
    n = MAX_UNITS // tasks + 1
    with pytest.raises(ConfigError, match=f"plans {n * tasks} units in all"):
        EvalConfig(model="", backend="oracle", suite="crossdomain-eval", episodes=n)
    EvalConfig(model="", backend="oracle", suite="crossdomain-eval", episodes=MAX_UNITS // tasks)


# --- item 5 and 9: the YAML loader ---------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["description", "hardware", "data.options"])
def test_alias_bomb_in_a_spec_is_refused(tmp_path, where):
    spec = yaml.safe_dump({k: v for k, v in QUICK.items() if k not in ("description", "hardware")})
    if where == "data.options":
        spec = spec.replace("data:\n", f"data:\n  options: {{dead_ends: {BOMB}}}\n", 1)
    else:
        spec += f"{where}: {BOMB}\n"
    path = tmp_path / "bomb.yaml"
    path.write_text(spec)
    proc = run_limited(["run", str(path), "--dry-run", "--out", str(tmp_path / "exp")], tmp_path)
    assert "aliases" in one_error_line(proc)


def test_alias_bomb_in_a_train_config_is_refused(tmp_path):
    path = tmp_path / "sft.yaml"
    path.write_text(f"model: tiny-random\ndata: d\nout: o\nreport_to: {BOMB}\n")
    proc = run_limited(["train", "sft", "--config", str(path)], tmp_path)
    assert "aliases" in one_error_line(proc)


def test_modest_aliases_and_merge_keys_still_work():
    text = "base: &b {lr: 0.1, steps: 3}\nrun:\n  <<: *b\n  steps: 5\ncopies: [*b, *b]\n"
    assert loads_yaml(text) == {"base": {"lr": 0.1, "steps": 3}, "run": {"lr": 0.1, "steps": 5},
                                "copies": [{"lr": 0.1, "steps": 3}] * 2}


def test_long_scalar_repeated_by_aliases_is_bounded():
    text = f"a: &a {'x' * (MAX_YAML_EXPANDED // 4)}\nb: [*a, *a, *a, *a, *a]\n"
    with pytest.raises(ConfigError, match="aliases"):
        loads_yaml(text)


def test_recursive_and_too_deep_yaml_are_errors():
    with pytest.raises(ConfigError, match="recursive"):
        loads_yaml("a: &a [1, *a]\n")
    with pytest.raises(ConfigError, match="nested more than"):
        loads_yaml("[" * 100_000 + "]" * 100_000)


def test_duplicate_yaml_keys_are_errors(tmp_path, capsys):
    spec = tmp_path / "dup.yaml"
    spec.write_text((ROOT / "experiments" / "quickstart.yaml").read_text() + "seeds: [2]\n")
    err = cli_error(capsys, ["run", str(spec), "--dry-run", "--out", str(tmp_path / "exp")])
    assert "duplicate key 'seeds'" in err and "first at line" in err
    config = tmp_path / "sft.yaml"
    config.write_text("model: tiny-random\ndata: d\nout: o\nlearning_rate: 0.1\nlearning_rate: 0.2\n")
    assert "duplicate key 'learning_rate' (line 5; first at line 4)" in cli_error(
        capsys, ["train", "sft", "--config", str(config)])
    with pytest.raises(ConfigError, match="duplicate key 'a'"):
        loads_yaml("x: {a: 1, a: 2}\n")


# --- item 9: wrong types name the field ----------------------------------------------------------------------


def test_wrong_type_in_a_train_config_names_field_and_type(tmp_path, capsys):
    config = tmp_path / "sft.yaml"
    config.write_text('model: tiny-random\ndata: d\nout: o\nlearning_rate: "fast"\n')
    err = cli_error(capsys, ["train", "sft", "--config", str(config)])
    assert err == "error: SFT config: learning_rate must be a number or null (unset), got str 'fast'"
    config.write_text("model: tiny-random\ndata: d\nout: o\nnum_generations: [8]\n")
    err = cli_error(capsys, ["train", "grpo", "--config", str(config)])
    assert "num_generations must be an integer, got list [8]" in err


def test_wrong_type_in_a_spec_names_field_and_type(tmp_path, capsys):
    raw = copy.deepcopy(QUICK)
    raw["train"]["sft"]["learning_rate"] = "fast"
    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump(raw))
    err = cli_error(capsys, ["run", str(path), "--dry-run"])
    assert "train.sft" in err and "learning_rate must be a number or null (unset), got str 'fast'" in err


# --- item 9: small CLI limits --------------------------------------------------------------------------------


def test_eval_out_empty_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    err = cli_error(capsys, ["eval", "--backend", "oracle", "--suite", "safety-eval", "--out", ""])
    assert "out (the EVAL folder) must be a non-empty path" in err
    assert list(tmp_path.iterdir()) == []  # nothing written into the current folder


def test_data_show_negative_n_is_refused(tmp_path, capsys):
    folder = tmp_path / "d"
    assert main(["data", "build", "safety-eval", "--n", "1", "--out", str(folder), "--quiet"]) == 0
    capsys.readouterr()
    assert "--n must be 0 or more" in cli_error(capsys, ["data", "show", str(folder), "--n", "-1"])
    assert main(["data", "show", str(folder), "--n", "0"]) == 0


# --- item 4: empty or malformed safety sets ------------------------------------------------------------------


@pytest.mark.parametrize("name,content,match", [
    ("header.csv", "prompt,label\n", "holds no prompts"),
    ("oneline.csv", "How do I bake bread?\n", "holds no prompts"),
    ("nocolumn.csv", "text\nHow do I bake bread?\n", "has no non-empty prompt/goal/instruction/question"),
    ("binary.csv", b"\xff\xfe\x00\x81", "not a UTF-8 text file"),
    ("bad.jsonl", '{"prompt": "a"}\n{oops\n', "bad.jsonl:2: not valid JSON"),
    ("list.jsonl", '["a"]\n', "record 1 is a list"),
    ("empty.jsonl", "\n\n", "holds no prompts"),
])
def test_empty_or_malformed_safety_set_is_one_line_error(tmp_path, capsys, name, content, match):
    source = tmp_path / name
    source.write_bytes(content if isinstance(content, bytes) else content.encode())
    out = tmp_path / "eval"
    err = cli_error(capsys, ["eval", "--backend", "oracle", "--suite", "safety-eval", "--safety-prompts",
                             str(source), "--out", str(out)])
    assert match in err
    assert not out.exists()


# --- item 7: verl export of the eval-only suites -------------------------------------------------------------


@pytest.mark.parametrize("suite", ["safety-eval", "crossdomain-eval"])
def test_verl_export_of_eval_only_suites_says_why(tmp_path, capsys, suite):
    if suite == "crossdomain-eval":
        pytest.importorskip("reasoning_gym")
    src = tmp_path / suite
    assert main(["data", "build", suite, "--n", "1", "--out", str(src), "--quiet"]) == 0
    capsys.readouterr()
    err = cli_error(capsys, ["data", "export", "verl", str(src), "--out", str(tmp_path / "verl")])
    assert "have no verl export" in err and "sftlab eval" in err
    assert not (tmp_path / "verl").exists()
    assert main(["data", "export", "trl", str(src), "--out", str(tmp_path / "trl")]) == 0  # TRL still works
