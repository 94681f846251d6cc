"""A realistic experiment folder written in the real formats, for the analysis tests and the docs screenshot.

Everything is written through the real writers: a `ResultsStore` with `Metric` rows (Wilson intervals from the
integer success counts), run folders with `run.json`, HF-shaped checkpoint folders (config.json +
model.safetensors + COMPLETE), `logs/log_history.jsonl`, and per-sample JSONL files in the eval layout.
The NUMBERS are invented to look like the Debunk paper's qualitative findings (fixed-prompt SFT fails the
instruction variants but "succeeds" on Fake; diverse prompts fix that; CoT helps on the difficulty variants);
they are not measurements.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np

from sftlab.stats import wilson_interval
from sftlab.store import Metric, ResultsStore

TAGS = ("SimpleSokoban", "SimpleSokobanAlphabetical", "SimpleSokobanNumerical", "SimpleSokobanRandom",
        "FakeSokobanNumerical", "LargerSokoban", "TwoBoxesSokoban", "ComplexSokoban")
SUITE = "sokoban-eval"
EPISODES = 100
# success at the last checkpoint, per tag (order of TAGS)
FINAL = {
    "fixed-answer-only": (0.82, 0.05, 0.08, 0.03, 0.71, 0.21, 0.15, 0.04),
    "diverse-answer-only": (0.80, 0.74, 0.77, 0.70, 0.02, 0.24, 0.18, 0.05),
    "diverse-cot": (0.86, 0.81, 0.83, 0.79, 0.01, 0.42, 0.33, 0.12),
}
BASE = (0.12, 0.08, 0.09, 0.05, 0.02, 0.03, 0.02, 0.00)
RANDOM = (0.07, 0.07, 0.07, 0.07, 0.0, 0.01, 0.01, 0.0)
STEPS = (20, 40, 80, 160)
LABELS = {"SimpleSokobanAlphabetical": "ABCD", "SimpleSokobanNumerical": "1234", "SimpleSokobanRandom": "*&1M",
          "FakeSokobanNumerical": "1234"}
WORDS = ("Up", "Down", "Left", "Right")


def _success(run: str, tag_index: int, step: int) -> float:
    base, final = BASE[tag_index], FINAL[run][tag_index]
    progress = 1 - np.exp(-3 * step / STEPS[-1])
    value = base + (final - base) * progress / (1 - np.exp(-3))
    if run == "diverse-cot" and step == STEPS[0] and tag_index >= 5:
        value = base * 0.5  # the early dip on the hard variants
    return float(min(1.0, max(0.0, value)))


def _metrics(rates: list[float], tokens: float, reflection: float, validity_shift: float) -> list[Metric]:
    out = []
    for tag, rate in zip(TAGS, rates, strict=True):
        k = round(rate * EPISODES)
        low, high = wilson_interval(k, EPISODES)
        out.append(Metric(tag, "success", k / EPISODES, EPISODES, low, high))
        valid = min(1.0, max(0.0, 0.3 + rate + validity_shift))
        vk = round(valid * 3000)
        vl, vh = wilson_interval(vk, 3000)
        out.append(Metric(tag, "validity", vk / 3000, 3000, vl, vh))
        out.append(Metric(tag, "response_tokens", tokens, 3000))
        out.append(Metric(tag, "reflection_rate", reflection, 3000))
    return out


def _tensors(rng: np.random.Generator) -> dict[str, np.ndarray]:
    t = {"model.embed_tokens.weight": rng.normal(0, 0.02, (32, 8)), "model.norm.weight": np.ones(8)}
    for layer in range(2):
        p = f"model.layers.{layer}."
        for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
            t[p + f"self_attn.{name}.weight"] = rng.normal(0, 0.1, (8, 8))
        t[p + "mlp.gate_proj.weight"] = rng.normal(0, 0.1, (16, 8))
        t[p + "mlp.up_proj.weight"] = rng.normal(0, 0.1, (16, 8))
        t[p + "mlp.down_proj.weight"] = rng.normal(0, 0.1, (8, 16))
        t[p + "input_layernorm.weight"] = np.ones(8)
    return {k: v.astype(np.float32) for k, v in t.items()}


def write_model(folder: Path, tensors: dict[str, np.ndarray], complete: bool = True) -> Path:
    """An HF-shaped model folder: config.json, model.safetensors (and COMPLETE when `complete`)."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "hidden_size": 8,
                                                    "num_hidden_layers": 2}) + "\n")
    save_file(tensors, str(folder / "model.safetensors"))
    if complete:
        (folder / "COMPLETE").write_text("")
    return folder


def _transcript(tag: str, correct: bool, rnd: random.Random, cot: bool) -> tuple[str, str, str]:
    labels = LABELS.get(tag)
    prompt = (f"You are a Sokoban solver. [{tag}]\n # \t # \t # \t # \t # \t # \t\n # \t _ \t P \t X \t O \t # \t\n"
              " # \t # \t # \t # \t # \t # \t\nAnswers:\n"
              + (" | ".join(f"<answer> {c} </answer>" for c in labels) if labels else
                 "<answer> Up </answer> | <answer> Down </answer> | <answer> Left </answer> | <answer> Right </answer>"))
    if correct:
        answer = labels[3] if labels and tag != "FakeSokobanNumerical" else "Right"
        verdict = "valid"
    else:
        answer = rnd.choice(WORDS) if labels else rnd.choice(("Forward", "3", ""))
        verdict = "invalid label"
    think = "<think> The box is right of me and the target right of it, so I push right. </think> " if cot else ""
    return prompt, f"{think}<answer> {answer} </answer>", verdict


def make_demo_experiment(root: str | Path, weights: bool = True) -> Path:
    """Write the demo experiment below `root`: spec.yaml, runs/*, base-model/, eval/results.sqlite, samples."""
    root = Path(root)
    rng = np.random.default_rng(0)
    rnd = random.Random(0)
    (root / "spec.yaml").parent.mkdir(parents=True, exist_ok=True)
    (root / "spec.yaml").write_text("name: demo\ntask: sokoban\nconditions: [fixed-answer-only, diverse-answer-only, "
                                    "diverse-cot]\nmodel: tiny-random\n")
    base_tensors = _tensors(rng)
    base_dir = write_model(root / "base-model", base_tensors) if weights else root / "base-model"
    store = ResultsStore(root / "eval")
    base_key = "base:" + SUITE
    for run in FINAL:
        run_dir = root / "runs" / run
        run_dir.mkdir(parents=True, exist_ok=True)
        meta = {"kind": "sft", "base_model": str(base_dir), "data": f"data/{run}", "status": "complete",
                "config": {"lr": 1e-5, "epochs": 5, "batch_size": 128, "schedule": list(STEPS)},
                "sftlab_version": "0.1.0"}
        (run_dir / "run.json").write_text(json.dumps(meta, indent=2) + "\n")
        cot = run.endswith("cot")
        store.record(base_key, run=run, checkpoint="base", step=0, suite=SUITE,
                     metrics=_metrics(list(BASE), 180.0, 1.1, 0.2))
        tensors = dict(base_tensors)
        logs = []
        for step in STEPS:
            rates = [_success(run, i, step) for i in range(len(TAGS))]
            tokens = (620.0 if step == STEPS[0] else 620.0 - step * 1.5) if cot else 9.0
            reflection = (4.5 - step / 80) if cot else 0.0
            store.record(f"{run}:checkpoint-{step}:{SUITE}", run=run, checkpoint=f"checkpoint-{step}", step=step,
                         suite=SUITE, metrics=_metrics(rates, tokens, reflection, 0.1), settings={"temperature": 0.5})
            if weights:
                tensors = {k: v + rng.normal(0, 0.01 * (1 + k.count("layers.1")), v.shape).astype(np.float32)
                           for k, v in tensors.items()}
                write_model(run_dir / "checkpoints" / f"checkpoint-{step}", tensors)
        for s in range(1, STEPS[-1] + 1, 5):
            logs.append({"step": s, "loss": round(2.5 * np.exp(-s / 40) + 0.1 + 0.02 * rnd.random(), 5),
                         "learning_rate": 1e-5, "epoch": s / STEPS[-1] * 5})
        (run_dir / "logs").mkdir(exist_ok=True)
        (run_dir / "logs" / "log_history.jsonl").write_text("".join(json.dumps(r) + "\n" for r in logs))
        for checkpoint in ("base", f"checkpoint-{STEPS[-1]}"):
            records = []
            for i, tag in enumerate(TAGS):
                rate = BASE[i] if checkpoint == "base" else FINAL[run][i]
                for episode in range(4):
                    correct = rnd.random() < rate
                    prompt, response, verdict = _transcript(tag, correct, rnd, cot and checkpoint != "base")
                    records.append({"id": f"{tag}-{episode:03d}", "split": tag, "episode": episode, "turn": 0,
                                    "prompt": prompt, "response": response, "parsed": None, "verdict": verdict,
                                    "correct": correct, "response_tokens": len(response.split())})
            path = root / "eval" / "samples" / run / checkpoint / f"{SUITE}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(json.dumps(r) + "\n" for r in records))
    for policy, rates in (("oracle", [0.0 if t.startswith("Fake") else 1.0 for t in TAGS]), ("random", RANDOM)):
        store.record(f"{policy}:{SUITE}", run=policy, checkpoint=policy, step=None, suite=SUITE,
                     metrics=_metrics(list(rates), 0.0, 0.0, 0.7 if policy == "random" else 0.0))
    # a GRPO run with reward logs
    grpo = root / "runs" / "grpo-diverse"
    grpo.mkdir(parents=True, exist_ok=True)
    (grpo / "run.json").write_text(json.dumps({"kind": "grpo", "base_model": str(base_dir), "status": "complete",
                                               "config": {"lr": 1e-6, "num_generations": 8}}) + "\n")
    (grpo / "logs").mkdir(exist_ok=True)
    (grpo / "logs" / "log_history.jsonl").write_text("".join(
        json.dumps({"step": s, "reward": round(0.2 + 0.6 * (1 - np.exp(-s / 60)) + 0.05 * rnd.random(), 4),
                    "loss": 0.0, "kl": 0.001 * s}) + "\n" for s in range(1, 200, 4)))
    store.close()
    return root
