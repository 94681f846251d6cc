"""Model resolution and loading, on the real tiny model (and the real SmolLM2 import, marked slow)."""

from __future__ import annotations

import hashlib

import pytest

from sftlab.cli import main
from sftlab.errors import ModelError
from sftlab.models import MODEL_NAMES, cache_dir, load, resolve
from sftlab.models.resolve import COMPLETE, cached_model_dir


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_cache_dir_follows_env(monkeypatch, tmp_path):
    monkeypatch.setenv("SFTLAB_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("SFTLAB_CACHE")
    assert cache_dir().parts[-2:] == (".cache", "sftlab")


def test_tiny_random_is_cached_and_identical_when_rebuilt(monkeypatch, tmp_path):
    first = resolve("tiny-random")
    assert (cached_model_dir("tiny-random") / COMPLETE).is_file() and first == str(cached_model_dir("tiny-random"))
    stamp = (cached_model_dir("tiny-random") / "model.safetensors").stat().st_mtime_ns
    assert resolve("tiny-random") == first
    assert (cached_model_dir("tiny-random") / "model.safetensors").stat().st_mtime_ns == stamp  # not rebuilt

    # A fresh cache with a half-built folder (no COMPLETE): it is rebuilt, bit-identical to the shared one.
    monkeypatch.setenv("SFTLAB_CACHE", str(tmp_path))
    debris = cached_model_dir("tiny-random")
    debris.mkdir(parents=True)
    (debris / "config.json").write_text("{}")
    rebuilt = resolve("tiny-random")
    assert rebuilt == str(debris) and (debris / COMPLETE).is_file()
    from pathlib import Path

    assert _sha(Path(rebuilt) / "model.safetensors") == _sha(Path(first) / "model.safetensors")
    assert not [p for p in tmp_path.joinpath("models").iterdir() if p.name.endswith(".partial")]


def test_load_tiny_gives_template_pad_and_padding_side():
    model, tok = load("tiny-random", device="cpu")
    assert tok.chat_template and "<|im_start|>" in tok.chat_template
    assert tok.pad_token is not None and tok.padding_side == "left"
    assert len(tok) == 49152 == model.config.vocab_size
    assert model.config.num_hidden_layers == 2 and not model.training
    text = tok.apply_chat_template([{"role": "user", "content": "Push the box."}], tokenize=False,
                                   add_generation_prompt=True)
    assert text.endswith("<|im_start|>assistant\n")
    model, tok = load("tiny-random", device="cpu", for_training=True)
    assert tok.padding_side == "right" and model.training


def test_known_names_listed():
    assert set(MODEL_NAMES) == {"smollm2-135m", "tiny-random"}


def test_bad_names_are_model_errors(tmp_path, monkeypatch):
    with pytest.raises(ModelError, match="unknown model 'smollm2-135'"):
        resolve("smollm2-135")
    with pytest.raises(ModelError, match="not a model folder"):
        resolve(str(tmp_path))
    with pytest.raises(ModelError, match="no such model folder"):
        resolve(str(tmp_path / "missing"))
    assert resolve("SomeOrg/some-model") == "SomeOrg/some-model"  # hub ids are returned as given
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError, match="not in the local Hugging Face cache"):
        load("SomeOrg/some-model-that-is-not-cached")


def test_cli_models_list_and_bad_import(capsys):
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "tiny-random" in out and "smollm2-135m" in out
    assert main(["models", "import", "gpt-17"]) == 2
    assert "error: unknown model 'gpt-17'" in capsys.readouterr().err


@pytest.mark.slow
def test_smollm2_import_answers_like_an_instruct_model():
    model, tok = load("smollm2-135m", device="cpu")
    assert model.num_parameters() > 100_000_000
    assert getattr(model.config, "quantization_config", None) is None
    inputs = tok.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}],
                                     add_generation_prompt=True, return_tensors="pt", return_dict=True)
    out = model.generate(**inputs, max_new_tokens=12, do_sample=False)
    assert "Paris" in tok.decode(out[0][inputs["input_ids"].shape[1]:])


# --- the import cache: sftlab.io's output lock, stale `.partial` folders ------------------------------------------

IMPORTER = """
import os, sys
from sftlab.io import output_lock
from sftlab.models.resolve import cached_model_dir, resolve
target = cached_model_dir("tiny-random")
if sys.argv[1] == "first":  # holds the cache folder's lock, as an import in progress does, until told to go on
    with output_lock(target, wait=True):
        print("held", flush=True)
        sys.stdin.readline()
        path = resolve("tiny-random")  # imports under the lock it holds (re-entrant)
else:
    print("started", flush=True)
    path = resolve("tiny-random")  # waits for the first, then finds the import done
print(path, os.stat(os.path.join(path, "model.safetensors")).st_ino, flush=True)
"""


def _fresh_cache(monkeypatch, tmp_path):
    """An empty SFTLAB_CACHE (sharing the built smollm2 folder, when there is one, for its tokenizer only)."""
    shared = cached_model_dir("smollm2-135m")
    monkeypatch.setenv("SFTLAB_CACHE", str(tmp_path))
    (tmp_path / "models").mkdir()
    if (shared / COMPLETE).is_file():
        cached_model_dir("smollm2-135m").symlink_to(shared)
    return cached_model_dir("tiny-random")


def test_an_interrupted_import_leaves_nothing_behind(monkeypatch, tmp_path):
    target = _fresh_cache(monkeypatch, tmp_path)
    stale = target.parent / f".{target.name}.k1ll3d_x.partial"  # mkdtemp's name for a killed import's folder
    stale.mkdir()
    (stale / "model.safetensors").write_bytes(b"half")
    other = target.parent / ".smollm2-135m-v1.abcd1234.partial"  # another model's: not this import's business
    other.mkdir()
    assert resolve("tiny-random") == str(target) and (target / COMPLETE).is_file()
    assert not stale.exists() and other.is_dir()
    assert sorted(p.name for p in target.parent.iterdir() if p.name.startswith(".")) == [other.name]  # no lock


def test_concurrent_importers_one_imports_the_other_waits_and_loads(monkeypatch, tmp_path):
    import os
    import subprocess
    import sys
    import time

    target = _fresh_cache(monkeypatch, tmp_path)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def start(role):
        return subprocess.Popen([sys.executable, "-c", IMPORTER, role], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)

    first = start("first")
    assert first.stdout.readline().strip() == "held"
    second = start("second")
    assert second.stdout.readline().strip() == "started"
    time.sleep(2)
    assert second.poll() is None and not target.exists()  # waiting on the lock, not importing beside the first
    out_first, err_first = first.communicate("go\n", timeout=300)
    out_second, err_second = second.communicate(timeout=300)
    assert first.returncode == 0 and second.returncode == 0, (err_first + err_second)[-2000:]
    (path_a, inode_a), (path_b, inode_b) = out_first.split(), out_second.split()
    assert path_a == path_b == str(target)
    assert inode_a == inode_b  # the second loaded the first's import rather than importing again
    assert (target / COMPLETE).is_file()
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".tiny-random")]  # no lock, no .partial
