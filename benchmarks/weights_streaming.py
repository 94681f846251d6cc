"""Peak memory and time of the L2-to-base analysis: streamed (sftlab) vs loading both checkpoints (baseline).

Writes a synthetic base and checkpoint (float32 safetensors, Llama-shaped projection matrices), then runs each
method in a fresh subprocess while a thread samples the process's anonymous resident memory (RssAnon: memory the
process allocated, not the reclaimable page cache of the memory-mapped files). Both methods must give the same L2.

    .venv/bin/python benchmarks/weights_streaming.py [--layers 6] [--hidden 2048]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, math, sys, threading, time
peak = 0
def rss_anon():
    for line in open('/proc/self/status'):
        if line.startswith('RssAnon:'):
            return int(line.split()[1]) * 1024
    return 0
def sample():
    global peak
    while True:
        peak = max(peak, rss_anon()); time.sleep(0.005)
method, base, ckpt = sys.argv[1:4]
import numpy as np, torch, safetensors  # import before measuring the baseline footprint
from sftlab.analysis.weights import l2_to_base
start_rss = rss_anon()
threading.Thread(target=sample, daemon=True).start()
t0 = time.perf_counter()
if method == "stream":
    l2 = l2_to_base([ckpt], base)[0].l2
else:
    from safetensors.numpy import load_file
    a, b = load_file(base + "/model.safetensors"), load_file(ckpt + "/model.safetensors")
    l2 = math.sqrt(sum(float(np.sum((b[k].astype(np.float64) - a[k]) ** 2)) for k in a if k in b))
seconds = time.perf_counter() - t0
time.sleep(0.02)
print(json.dumps({"l2": l2, "seconds": seconds, "peak_extra_mb": (max(peak, rss_anon()) - start_rss) / 2**20}))
"""


def write_pair(folder: Path, layers: int, hidden: int) -> tuple[Path, Path]:
    import numpy as np
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    shapes = {}
    for i in range(layers):
        for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
            shapes[f"model.layers.{i}.self_attn.{name}.weight"] = (hidden, hidden)
        for name in ("gate_proj", "up_proj"):
            shapes[f"model.layers.{i}.mlp.{name}.weight"] = (2 * hidden, hidden)
        shapes[f"model.layers.{i}.mlp.down_proj.weight"] = (hidden, 2 * hidden)
    paths = []
    for name, noise in (("base", 0.0), ("ckpt", 0.01)):
        out = folder / name
        out.mkdir()
        (out / "config.json").write_text("{}")
        tensors = {}
        for key, shape in shapes.items():
            w = np.random.default_rng(abs(len(key) * 7919 + shape[0])).standard_normal(shape, dtype=np.float32)
            tensors[key] = w + noise * rng.standard_normal(shape, dtype=np.float32) if noise else w
        save_file(tensors, str(out / "model.safetensors"))
        del tensors
        paths.append(out)
    return paths[0], paths[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--hidden", type=int, default=1024)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base, ckpt = write_pair(Path(tmp), args.layers, args.hidden)
        size_mb = (base / "model.safetensors").stat().st_size / 2**20
        results = {}
        for method in ("stream", "load-both"):
            proc = subprocess.run([sys.executable, "-c", CHILD, method, str(base), str(ckpt)],
                                  capture_output=True, text=True, check=True)
            results[method] = json.loads(proc.stdout.strip().splitlines()[-1])
    s, b = results["stream"], results["load-both"]
    assert abs(s["l2"] - b["l2"]) <= 1e-9 * b["l2"], (s["l2"], b["l2"])
    print(f"checkpoint size: {size_mb:.0f} MiB each (float32), L2 = {s['l2']:.6g} (both methods agree)")
    print(f"{'method':<12}{'peak extra RssAnon (MiB)':>26}{'seconds':>10}")
    for name, r in results.items():
        print(f"{name:<12}{r['peak_extra_mb']:>26.0f}{r['seconds']:>10.2f}")
    print(f"memory ratio load-both / stream: {b['peak_extra_mb'] / max(s['peak_extra_mb'], 1e-9):.1f}x; "
          f"time ratio stream / load-both: {s['seconds'] / b['seconds']:.2f}x")


if __name__ == "__main__":
    main()
