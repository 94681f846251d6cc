"""Hostile and unlucky inputs give one `error: ...` line and exit 2, never a traceback (issue 19, reproduction 8).

Every case runs the real `python -m sftlab` in a subprocess. A read-only or full disk is a real tmpfs mounted in a
private mount namespace (`unshare`), so it works as root (which ignores file permissions) and goes away with the
process; where namespaces or tmpfs mounts are not allowed those cases are skipped, saying why.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def sftlab(*args, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run `python -m sftlab ARGS` in `cwd` with this checkout on the path."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "sftlab", *map(str, args)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def assert_one_line_error(proc: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit 2, no traceback, exactly one `error:` line (the last line of stderr) holding every fragment."""
    err = proc.stderr
    assert "Traceback" not in err, err[-3000:]
    assert proc.returncode == 2, (proc.returncode, err[-3000:])
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], err[-3000:]
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


# --- a tmpfs in a private mount namespace ------------------------------------------------------------------------

_SCRIPT = r"""
dir="$1"; opts="$2"; fill="$3"; show="$4"; shift 4
mount -t tmpfs -o "$opts" tmpfs "$dir" || exit 97
if [ "$fill" = 1 ]; then dd if=/dev/zero of="$dir/filler" bs=4k 2>/dev/null; fi
"$@"; rc=$?
if [ -n "$show" ]; then echo "=== $show"; cat "$show" 2>&1; fi
exit $rc
"""


def _unshare() -> list[str] | None:
    if not shutil.which("unshare"):
        return None
    for cmd in (["unshare", "-rm"], ["unshare", "-m"]):
        probe = subprocess.run([*cmd, "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /tmp"], capture_output=True)
        if probe.returncode == 0:
            return cmd
    return None


@pytest.fixture(scope="module")
def unshare():
    cmd = _unshare()
    if cmd is None:
        pytest.skip("no private mount namespace with tmpfs here (unshare -rm / -m refused)")
    return cmd


def on_tmpfs(unshare, mount: Path, options: str, *command, cwd: Path, fill: bool = False, show: Path | None = None,
             python_args=None) -> subprocess.CompletedProcess:
    """Run `sftlab COMMAND` (or `python PYTHON_ARGS`) with a fresh tmpfs on `mount`; `fill` fills it first.

    `show`: a file under the mount printed to stdout after the command (the mount is gone once it returns).
    """
    mount.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, *(python_args or ["-m", "sftlab", *map(str, command)])]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([*unshare, "sh", "-c", _SCRIPT, "sh", str(mount), options, "1" if fill else "0",
                           str(show or ""), *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode == 97:
        pytest.skip(f"cannot mount a tmpfs with {options}: {proc.stderr.strip()}")
    return proc


# --- shared inputs ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A folder with a small Sokoban SFT data folder `sd`, a random-policy EVAL folder `ev` and a file `afile`."""
    path = tmp_path_factory.mktemp("cli-errors")
    assert sftlab("data", "build", "sokoban-answer-only", "--n", 2, "--out", "sd", "--quiet", cwd=path).returncode == 0
    proc = sftlab("eval", "--backend", "random", "--suite", "gp-eval", "--episodes", 2, "--out", "ev", "--quiet",
                  cwd=path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (path / "afile").write_text("keep me\n")
    (path / "spec.yaml").write_text(json.dumps(_tiny_spec()))
    return path


def _tiny_spec() -> dict:
    return {"name": "tiny", "task": "sokoban", "models": ["tiny-random"], "seeds": [1], "data": {"n": 2},
            "conditions": [{"name": "fixed", "prompts": "fixed", "demo": "answer-only", "method": "sft"}],
            "train": {"sft": {"max_steps": 1, "global_batch": 2, "per_device_batch": 2, "max_length": 512}},
            "eval": {"suites": ["sokoban-eval"], "splits": ["SimpleSokoban"], "episodes": 2, "max_new_tokens": 4,
                     "max_turns": 1, "baselines": ["oracle"]}}


# --- seeds ----------------------------------------------------------------------------------------------------------


def test_seeds_beyond_numpys_range_are_refused_up_front(work):
    assert_one_line_error(sftlab("tasks", "show", "sokoban", "--seed", 99999999999, cwd=work),
                          "--seed must be a non-negative integer up to 4294967295")
    # Sokoban training puzzles use seed 1,000,000 x (seed + 1) + i, so --seed 5000 overflowed numpy
    proc = sftlab("data", "build", "sokoban-answer-only", "--seed", 5000, "--n", 2, "--out", "s5000", "--quiet",
                  cwd=work)
    assert_one_line_error(proc, "seed must be a non-negative integer up to 4292 for sokoban-answer-only")
    assert not (work / "s5000").exists()
    assert_one_line_error(sftlab("train", "sft", "--model", "tiny-random", "--data", "sd", "--out", "t-seed",
                                 "--seed", 2**32, cwd=work), "seed must be a non-negative integer up to 4294967295")
    assert sftlab("tasks", "show", "sokoban", "--seed", 2**32 - 1, cwd=work).returncode == 0


# --- --out where nothing can be written ---------------------------------------------------------------------------

_OUT_COMMANDS = {
    "data build": ["data", "build", "gp-answer-only", "--n", 2, "--quiet", "--out"],
    "eval": ["eval", "--backend", "random", "--suite", "gp-eval", "--episodes", 1, "--quiet", "--out"],
    "data export": ["data", "export", "verl", "sd", "--out"],
    "report": ["report", "ev", "--out"],
    "train": ["train", "sft", "--model", "tiny-random", "--data", "sd", "--max-steps", 1, "--quiet", "--out"],
    "run": ["run", "spec.yaml", "--out"],
}


@pytest.mark.parametrize("command", list(_OUT_COMMANDS))
def test_out_under_a_file_is_one_line(work, command):
    proc = sftlab(*_OUT_COMMANDS[command], "afile/sub", cwd=work)
    assert_one_line_error(proc, "afile", "a file stands where a folder is needed")
    assert (work / "afile").read_text() == "keep me\n"


def test_a_refused_training_does_not_load_transformers(work):
    # the run folder is checked before the trainer is built, so the refusal costs no transformers/TRL import
    code = "import sys; from sftlab.cli import main; rc = main(sys.argv[1:]); print(sorted(set(sys.modules) & " \
           "{'transformers', 'trl', 'peft'})); sys.exit(rc)"
    proc = subprocess.run([sys.executable, "-c", code, *map(str, _OUT_COMMANDS["train"]), "afile/sub"], cwd=work,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=600)
    assert_one_line_error(proc, "afile", "a file stands where a folder is needed")
    assert proc.stdout.strip() == "[]"


def test_out_that_is_a_file_is_one_line_and_keeps_the_file(work):
    for command in ("data build", "eval", "data export", "train"):
        assert_one_line_error(sftlab(*_OUT_COMMANDS[command], "afile", cwd=work), "afile")
        assert (work / "afile").read_text() == "keep me\n"


@pytest.mark.parametrize("command", list(_OUT_COMMANDS))
def test_out_on_a_read_only_file_system_is_one_line(work, unshare, command):
    proc = on_tmpfs(unshare, work / "ro", "ro,size=64k", *_OUT_COMMANDS[command], "ro/out", cwd=work)
    assert_one_line_error(proc, "ro/out", "read-only file system")


# --- a full disk ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["data build", "eval"])
def test_full_disk_is_one_line(work, unshare, command):
    args = {"data build": ["data", "build", "gp-answer-only", "--n", 300, "--quiet", "--out", "full/out"],
            "eval": ["eval", "--backend", "random", "--suite", "gp-eval", "--episodes", 20, "--quiet", "--out",
                     "full/out"]}[command]
    proc = on_tmpfs(unshare, work / "full", "size=256k", *args, cwd=work, fill=True)
    assert_one_line_error(proc, "out of disk space", "free some space and re-run the same command")


_FILL_DURING_STEP = """
import sys
from pathlib import Path

from sftlab.experiment import steps


def eval_that_fills_the_disk(step, ctx):
    # What an evaluation does on a small disk: it writes until the file system refuses (ENOSPC).
    out = Path(ctx.exp) / "outputs"
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "samples.jsonl", "wb") as fh:
        while True:
            fh.write(b"x" * 65536)
            fh.flush()


steps.RUNNERS["eval"] = eval_that_fills_the_disk
from sftlab.cli import main

sys.exit(main(sys.argv[1:]))
"""


def test_run_step_that_fills_the_disk_is_marked_failed(work, unshare):
    """The disk fills during a `run` step: the step is recorded as failed (not left running), exit 2, one line.

    The eval stage is replaced by one that writes until the real (tmpfs) disk is full, so the failure happens
    mid-step and the step's log and state writes meet the full disk too.
    """
    exp = work / "fullexp"
    state = exp / "state" / "eval__oracle__sokoban-eval.json"
    proc = on_tmpfs(unshare, exp, "size=256k", cwd=work, show=state, python_args=[
        "-c", _FILL_DURING_STEP, "run", "spec.yaml", "--out", str(exp), "--only", "step=eval/oracle/sokoban-eval"])
    assert_one_line_error(proc, "did not finish")
    recorded = json.loads(proc.stdout.split(f"=== {state}\n", 1)[1])
    assert recorded["status"] == "failed"
    assert recorded["error"].startswith("out of disk space")


# --- malformed inputs ---------------------------------------------------------------------------------------------


def test_too_deeply_nested_yaml_is_one_line(work):
    (work / "deep.yaml").write_text("a: " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert_one_line_error(sftlab("run", "deep.yaml", "--dry-run", cwd=work), "deep.yaml", "nested more than 100 levels deep")
    assert_one_line_error(sftlab("train", "sft", "--config", "deep.yaml", cwd=work), "nested more than 100 levels deep")


def _damaged_copy(work: Path, name: str, edit) -> str:
    dest = work / name
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(work / "sd", dest)
    manifest = json.loads((dest / "manifest.json").read_text())
    manifest = edit(dest, manifest)
    (dest / "manifest.json").write_text(json.dumps(manifest))
    return name


def _rows(rows_text: str):
    def edit(dest: Path, manifest):
        (dest / "train.jsonl").write_text(rows_text)
        manifest["files"]["train.jsonl"]["sha256"] = hashlib.sha256(rows_text.encode()).hexdigest()
        return manifest
    return edit


def _raw_rows(data: bytes):
    def edit(dest: Path, manifest):
        (dest / "train.jsonl").write_bytes(data)
        manifest["files"]["train.jsonl"]["sha256"] = hashlib.sha256(data).hexdigest()
        return manifest
    return edit


def _wizard_row() -> bytes:
    row = {"id": "x", "task": "sokoban", "split": "train", "variant": "v", "seed": 0, "answer": None, "metadata": {},
           "prompt": [{"role": "wizard", "content": "hi"}], "completion": [{"role": "assistant", "content": "Up"}]}
    return (json.dumps(row) + "\n").encode()


_DAMAGE = {
    "invalid UTF-8": (_raw_rows(b'{"id": "\xff\xfe"}\n'), "train.jsonl:1: not UTF-8 text"),  # issue 26
    "deeply nested": (_raw_rows(b"[" * 100_000 + b"]" * 100_000 + b"\n"), "train.jsonl:1: nested too deeply"),
    "a wizard role": (_raw_rows(_wizard_row()), "role 'wizard'; roles are system, user, assistant, tool"),
    "a list": (lambda d, m: [m], "holds a list, not an sftlab manifest"),
    "no files": (lambda d, m: {k: v for k, v in m.items() if k != "files"}, "lists no files"),
    "no sha256": (lambda d, m: {**m, "files": {"train.jsonl": {"rows": 2}}}, "train.jsonl has no sha256"),
    "rows that are lists": (_rows("[1, 2]\n"), "row 1 is not an sftlab row (a list"),
    "rows of another schema": (_rows('{"id": "x", "text": "hi"}\n'), "row 1 is not an sftlab row (no task"),
}


@pytest.mark.parametrize("damage", list(_DAMAGE))
def test_damaged_data_folder_is_one_line_in_show_and_export(work, damage):
    edit, message = _DAMAGE[damage]
    name = _damaged_copy(work, "bad-" + damage.replace(" ", "-"), edit)
    assert_one_line_error(sftlab("data", "show", name, cwd=work), name, message)
    assert_one_line_error(sftlab("data", "export", "verl", name, "--out", f"{name}-verl", cwd=work), name, message)
    assert not (work / f"{name}-verl").exists()


@pytest.mark.parametrize("content", ["garbage", "truncated"])
def test_damaged_results_store_is_one_line_naming_it(work, content):
    folder = work / f"store-{content}"
    folder.mkdir(exist_ok=True)
    data = b"not a database\n" if content == "garbage" else (work / "ev" / "results.sqlite").read_bytes()[:6000]
    (folder / "results.sqlite").write_bytes(data)
    proc = sftlab("eval", "--backend", "random", "--suite", "gp-eval", "--episodes", 1, "--quiet", "--out", folder,
                  cwd=work)
    assert_one_line_error(proc, f"{folder}/results.sqlite is not a readable results store")
    assert (folder / "results.sqlite").read_bytes() == data  # left as it was, for the user to look at


def test_unknown_attention_kernel_and_devices_are_one_line(work):
    proc = sftlab("train", "sft", "--model", "tiny-random", "--data", "sd", "--out", "t-attn",
                  "--attn-implementation", "foo", cwd=work)
    assert_one_line_error(proc, "unknown attn_implementation 'foo'; choose one of: sdpa")
    eval_args = ["eval", "--model", "tiny-random", "--suite", "gp-eval", "--episodes", 1, "--quiet", "--out", "e-dev"]
    assert_one_line_error(sftlab(*eval_args, "--device", "foo", cwd=work), "unknown device 'foo'")
    import torch

    if not torch.cuda.is_available():
        assert_one_line_error(sftlab(*eval_args, "--device", "cuda", cwd=work), "no CUDA GPU")


@pytest.mark.slow
def test_max_length_that_drops_every_row_is_one_line(work):
    proc = sftlab("train", "sft", "--model", "tiny-random", "--data", "sd", "--out", "t-short", "--max-steps", 1,
                  "--max-length", 32, "--quiet", cwd=work)
    assert_one_line_error(proc, "max_length 32 leaves no completion token in any of the", "raise --max-length")
    assert json.loads((work / "t-short" / "run.json").read_text())["status"] == "failed"


@pytest.mark.slow
def test_truncated_checkpoint_files_are_one_line_naming_them(work, monkeypatch):
    from sftlab.cli import main

    train = ["train", "sft", "--model", "tiny-random", "--data", "sd", "--max-steps", 2, "--global-batch", 2,
             "--schedule", "1,2", "--quiet", "--out"]
    # the run to damage is trained by the same command in this process (its torch is loaded already); the
    # refusals below, which are what this test is about, run as `python -m sftlab`
    monkeypatch.chdir(work)
    assert main([*map(str, train), "run-ok"]) == 0
    # evaluating a run whose last checkpoint has a truncated model.safetensors
    shutil.copytree(work / "run-ok", work / "run-weights")
    weights = work / "run-weights" / "checkpoints" / "checkpoint-2" / "model.safetensors"
    os.truncate(weights, 1000)
    proc = sftlab("eval", "--model", "run-weights", "--suite", "gp-eval", "--episodes", 1, "--max-new-tokens", 2,
                  "--quiet", "--out", "e-weights", cwd=work)
    assert_one_line_error(proc, "run-weights/checkpoints/checkpoint-2/model.safetensors is truncated or damaged")
    # resuming a run (killed before it was marked complete) whose optimizer.pt is truncated
    shutil.copytree(work / "run-ok", work / "run-resume")
    info = json.loads((work / "run-resume" / "run.json").read_text())
    (work / "run-resume" / "run.json").write_text(json.dumps({**info, "status": "running"}))
    os.truncate(work / "run-resume" / "checkpoints" / "checkpoint-2" / "optimizer.pt", 1000)
    proc = sftlab(*train, "run-resume", cwd=work)
    assert_one_line_error(proc, "run-resume/checkpoints/checkpoint-2/optimizer.pt is truncated or damaged")


@pytest.mark.slow
def test_harness_task_without_its_optional_package_names_it(work):
    import importlib.util

    if importlib.util.find_spec("lm_eval") is None:
        pytest.skip("lm-eval is not installed")
    if importlib.util.find_spec("langdetect") is not None:
        pytest.skip("langdetect is installed, so ifeval's optional dependency is present")
    proc = sftlab("eval-harness", "tiny-random", "--tasks", "ifeval", "--limit", 1, "--out", "e-harness", cwd=work)
    assert_one_line_error(proc, "needs the Python package 'langdetect'", "pip install langdetect")


def test_only_file_system_refusals_are_mapped_so_bugs_keep_their_traceback(tmp_path):
    import errno
    import sqlite3

    from sftlab.errors import environment_error

    for bug in (ValueError("x"), KeyError("k"), TypeError("t"), FileNotFoundError(errno.ENOENT, "gone", "f"),
                sqlite3.IntegrityError("UNIQUE constraint failed"), RecursionError()):
        assert environment_error(bug) is None, bug
    assert "out of disk space" in str(environment_error(OSError(errno.ENOSPC, "No space left on device")))
    assert "out of disk space" in str(environment_error(RuntimeError("write failed: No space left on device")))
    staged = environment_error(OSError(errno.EROFS, "Read-only file system", str(tmp_path / ".out.x1y2z3.partial")))
    assert str(staged) == f"cannot write {tmp_path / 'out'}: read-only file system"
    exists = environment_error(FileExistsError(errno.EEXIST, "File exists", str(tmp_path)))
    assert str(exists) == f"cannot create {tmp_path}: it already exists"


# --- issue 26: an --out that would destroy an input, non-finite settings -----------------------------------------


@pytest.mark.parametrize("args, fragment", [
    (["train", "sft", "--model", "tiny-random", "--data", "sd", "--force", "--out", "sd"], "--out sd is the input sd"),
    (["train", "sft", "--model", "tiny-random", "--data", "sd", "--force", "--out", "sd/run"], "is inside the input sd"),
    (["train", "sft", "--model", "tiny-random", "--data", "sd", "--force", "--out", "."], "the current folder"),
    (["data", "build", "gp-answer-only", "--n", 2, "--force", "--out", "."], "the current folder"),
    (["data", "build", "gp-answer-only", "--n", 2, "--force", "--out", ".."], "the current folder"),
    (["data", "build", "gp-answer-only", "--n", 2, "--force", "--out", "ev"], "is a results store"),
    (["data", "export", "verl", "sd", "--force", "--out", "sd"], "--out sd is the input sd"),
    (["eval", "--model", "sd", "--suite", "gp-eval", "--episodes", 1, "--out", "sd/ev"], "is inside the input sd"),
    (["analyze", "table", "ev", "--out", "ev/results.sqlite"], "is a results store"),
    (["report", "ev", "--out", "ev/results.sqlite"], "is a results store"),
    (["report", "ev", "--out", "r.md"], "give an .html path"),
], ids=["train-into-data", "train-inside-data", "train-cwd", "build-cwd", "build-parent", "build-over-store",
        "export-into-source", "eval-inside-model", "table-over-store", "report-over-store", "report-md"])
def test_an_out_that_would_destroy_an_input_is_refused_and_nothing_changes(work, args, fragment):
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in work.rglob("*") if p.is_file()}
    assert_one_line_error(sftlab(*args, cwd=work), fragment)
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in work.rglob("*") if p.is_file()}
    assert after == before
    assert not list(work.parent.glob(".*.partial")) and not list(work.glob(".*.partial"))


@pytest.mark.parametrize("flag, value", [("--weight-decay", "nan"), ("--max-grad-norm", "nan"), ("--lr", "inf")])
def test_non_finite_training_settings_are_refused_before_training(work, flag, value):
    proc = sftlab("train", "sft", "--model", "tiny-random", "--data", "sd", "--out", "t-nan", flag, value, cwd=work)
    assert_one_line_error(proc, "must be a finite number")
    assert not (work / "t-nan").exists()


@pytest.mark.parametrize("where, key, value", [
    ("train.sft", "weight_decay", float("nan")), ("train.resources", "cpus", float("inf")),
    ("eval", "max_turns", 10**18), ("eval", "max_new_tokens", 10**18), ("top", "seeds", [2**70]),
    ("eval", "checkpoints", []), ("train.resources", "processes", 10**9), ("train.sft", "max_steps", 10**18)])
def test_a_spec_with_a_setting_out_of_range_fails_in_dry_run(work, where, key, value):
    raw = _tiny_spec()
    raw["train"]["resources"] = {}
    target = raw
    for part in ([] if where == "top" else where.split(".")):
        target = target[part]
    target[key] = value
    import yaml

    (work / "bad.yaml").write_text(yaml.safe_dump(raw))
    assert_one_line_error(sftlab("run", "bad.yaml", "--out", "bad-run", "--dry-run", cwd=work), key)
    assert not (work / "bad-run").exists()


def test_a_run_json_that_is_not_a_record_is_one_line_in_eval_and_train(work):
    run = work / "run-list"
    run.mkdir(exist_ok=True)
    (run / "run.json").write_text("[]")
    assert_one_line_error(sftlab("eval", "--model", run.name, "--suite", "gp-eval", "--episodes", 1, "--out", "ev-rl",
                                 cwd=work), "run.json holds a list, not a run record")
    assert_one_line_error(sftlab("train", "sft", "--model", "tiny-random", "--data", "sd", "--out", run.name, cwd=work),
                          "run.json holds a list, not a run record")


def test_a_spec_name_too_long_for_a_folder_is_refused_up_front(work):
    raw = _tiny_spec()
    raw["name"] = "n" * 5000
    (work / "long.yaml").write_text(json.dumps(raw))
    assert_one_line_error(sftlab("run", "long.yaml", "--dry-run", cwd=work), "a name has at most 100")


def test_run_names_that_clean_to_one_folder_keep_their_own_samples():
    from sftlab.evaluate.unitlog import _safe

    names = ["x y", "x/y", "x__y", "x_y", "..", "org/model"]
    folders = [_safe(n) for n in names]
    assert len(set(folders)) == len(names)
    assert _safe("x__y") == "x__y" and all("/" not in f and f not in (".", "..") for f in folders)
