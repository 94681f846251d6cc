"""benchmarks/gpu_check.py --dry-run: every section of the GPU check runs on CPU at tiny size and prints its figure."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"


def test_peak_table_and_override():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        from gpu_check import peak_tflops
    finally:
        sys.path.remove(str(SCRIPT.parent))
    assert peak_tflops("NVIDIA H200", None) == 989
    assert peak_tflops("NVIDIA H100 PCIe", None) == 756
    assert peak_tflops("NVIDIA A100-SXM4-80GB", None) == 312
    assert peak_tflops("Some Future GPU", None) is None
    assert peak_tflops("NVIDIA H200", 500.0) == 500.0


@pytest.mark.slow
def test_dry_run_exercises_every_section_on_cpu(tmp_path, monkeypatch, capsys):
    # the script's main() in this process (torch and TRL are loaded already); its DDP section still launches two
    # real processes, which find this checkout through PYTHONPATH
    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    from gpu_check import main

    out = tmp_path / "check.json"
    # --ddp on: the 2-process section runs too (two gloo CPU processes through accelerate launch)
    main(["--dry-run", "--ddp", "on", "--json", str(out)])
    stdout = capsys.readouterr().out
    report = json.loads(out.read_text())
    by = {}
    for r in report["results"]:
        by.setdefault(r["section"], []).append(r)
    assert [(r["mode"], r["attention"]) for r in by["sft"]] == [("padded", "sdpa"), ("padding-free", "sdpa")]
    assert all(r["tokens_per_s"] > 0 and r["parameters"] > 0 and r["mfu"] is None for r in by["sft"])
    assert by["eval"][0]["episodes_per_s"] > 0 and by["eval"][0]["episodes"] == 2
    assert by["grpo"][0]["step_s"] > 0
    assert by["ddp"][0]["distributed"] == "MULTI_CPU" and by["ddp"][0]["tokens_per_s"] > 0
    bf16, is_weights = by["fidelity"]  # pure bf16 loses most small updates; the IS weights need vLLM on a GPU
    assert bf16["changed_pure_bf16"] < bf16["changed_fp32"] and is_weights["skipped"]
    for line in ("sft  padded", "sft  padding-free", "eval closed-loop Sokoban (hf):", "grpo one step:",
                 "ddp  2 processes (MULTI_CPU)", "fidelity pure bf16 vs fp32 weights", "gpu_check: done in"):
        assert line in stdout, line


def test_without_a_gpu_and_without_dry_run_says_so(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert done.returncode != 0
    assert "no CUDA GPU visible; run with --dry-run" in done.stderr
