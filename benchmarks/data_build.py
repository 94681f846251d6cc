"""Time building every Sokoban and General Points preset (no teacher) at the default sizes, in one process.

    .venv/bin/python benchmarks/data_build.py [--n-scale 1.0] [--out /tmp/sftlab-bench-data]

The claim under test is the issue's budget: all of them together well under 5 minutes on 2 CPU cores. There is
no older implementation to compare with, so the ratio printed is total time / the 300 s budget (below 1 = within
budget). Eval keys for the leakage check and GP hands are computed once per process and shared between presets,
as `sftlab data build 'sokoban-*' 'gp-*'` does.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from sftlab.data import PRESETS, BuildConfig, build

BUDGET_S = 300.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/tmp/sftlab-bench-data")
    parser.add_argument("--n-scale", type=float, default=1.0, help="scale every preset's default n (quick runs)")
    args = parser.parse_args()
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    names = [n for n, p in PRESETS.items() if p.task in ("sokoban", "general_points")]
    total = 0.0
    print(f"{'preset':<30} {'rows':>7} {'seconds':>8}")
    start = time.perf_counter()
    for name in names:
        n = max(1, round(PRESETS[name].default_n * args.n_scale))
        result = build(BuildConfig(name, n=n), out / name, force=True, progress=False)
        total += result.seconds
        print(f"{name:<30} {result.rows:>7} {result.seconds:>8.1f}", flush=True)
    wall = time.perf_counter() - start
    print(f"{'total':<30} {'':>7} {wall:>8.1f}")
    print(f"ratio to the {BUDGET_S:.0f} s budget: {wall / BUDGET_S:.2f}")


if __name__ == "__main__":
    main()
