"""Weight-space diagnostics of a run (Debunk spec section 7): distance to the base model, and which layers move.

- `l2_to_base`: for each checkpoint, `L2 = sqrt(sum ||theta_ckpt - theta_base||^2)` over the tensors both models
  have with the same shape, and `rel_l2 = L2 / ||theta_base||` (the global norm over ALL floating base tensors).
  CSV columns as the original script: `phase,l2,rel_l2,num_params,num_elems` (phase = checkpoint name,
  num_params = tensors compared, num_elems = their elements).
- `relative_change`: per layer and module (q/k/v/o, and the MLP's gate/up/down pooled as "mlp"), the
  element-weighted mean of `||W_{t+1} - W_t||_F / ||W_t||_F` between consecutive checkpoints (optionally base ->
  first). `relative_change_heatmap` draws it with colours clipped to the 1st-99th percentiles.

Memory: tensors are streamed from the safetensors files with `safe_open`, one tensor at a time and in row chunks
of at most `chunk_elems` elements, so comparing two 8B checkpoints never holds even one full model in memory.
Differences are taken in float32; squares are summed in float32 within a row and in float64 across rows (~1e-10
relative error, measured in benchmarks/weights_streaming.py). Blocks may be views of the read-only file mapping,
so they are never modified in place. bf16 files need torch (safetensors' numpy reader has no bf16); without
torch, float32/float16 files are read with numpy.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sftlab.analysis.lora import LoraAdapter, is_adapter, shared_modules
from sftlab.analysis.sources import list_checkpoints
from sftlab.analysis.style import color_map, use_agg
from sftlab.errors import DataError, ModelError
from sftlab.io import atomic_write_text
from sftlab.models.resolve import COMPLETE, MODEL_NAMES, cached_model_dir

FLOAT_DTYPES = {"F16", "BF16", "F32", "F64", "F8_E4M3", "F8_E5M2"}
DEFAULT_CHUNK = 1 << 22  # elements per streamed chunk (32 MiB in float64)

# Module names -> heatmap row kind. MLP projections are pooled into one row per layer.
_MODULES = {
    "q_proj": "q", "k_proj": "k", "v_proj": "v", "o_proj": "o", "qkv_proj": "qkv", "query_key_value": "qkv",
    "gate_proj": "mlp", "up_proj": "mlp", "down_proj": "mlp", "gate_up_proj": "mlp",
}
_MODULE_ORDER = ("q", "k", "v", "qkv", "o", "mlp")
_LAYER = re.compile(r"(?:^|\.)(?:layers|h|blocks)\.(\d+)\.")


class TensorSource:
    """The tensors of an HF model folder (`model.safetensors` or sharded with an index), read lazily."""

    def __init__(self, folder: str | Path):
        from safetensors import safe_open

        self.folder = Path(folder)
        if (self.folder / "adapter_config.json").is_file() and not (self.folder / "config.json").is_file():
            raise ModelError(f"{self.folder} is a LoRA adapter, not full weights; weight analysis needs full weights")
        files = self._files()
        try:
            import torch  # noqa: F401

            framework = "pt"
        except ImportError:
            framework = "numpy"
        self._framework = framework
        self._handles = {f: safe_open(str(f), framework=framework) for f in files}
        self._where: dict[str, Path] = {}
        self._sum_sq: dict[str, float] = {}
        for f, handle in self._handles.items():
            for key in handle.keys():
                self._where.setdefault(key, f)

    def _files(self) -> list[Path]:
        index = self.folder / "model.safetensors.index.json"
        if index.is_file():
            try:
                weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
            except (ValueError, KeyError) as exc:
                raise DataError(f"{index} is not a safetensors index ({exc})") from None
            return sorted({self.folder / name for name in weight_map.values()})
        single = self.folder / "model.safetensors"
        if single.is_file():
            return [single]
        found = sorted(self.folder.glob("*.safetensors"))
        if not found:
            raise DataError(f"{self.folder} has no .safetensors weights")
        return found

    def keys(self) -> list[str]:
        """All tensor names, sorted."""
        return sorted(self._where)

    def _slice(self, key: str):
        return self._handles[self._where[key]].get_slice(key)

    def shape(self, key: str) -> tuple[int, ...]:
        """A tensor's shape, read from the header."""
        return tuple(self._slice(key).get_shape())

    def is_float(self, key: str) -> bool:
        """True for floating tensors (integer buffers are never compared)."""
        return self._slice(key).get_dtype() in FLOAT_DTYPES

    def chunks(self, key: str, chunk_elems: int = DEFAULT_CHUNK) -> Iterator[np.ndarray]:
        """The tensor as float64 numpy arrays of consecutive row blocks (at most ~chunk_elems elements each)."""
        for block in self.blocks(key, chunk_elems):
            yield self._to_numpy(block)

    def blocks(self, key: str, chunk_elems: int = DEFAULT_CHUNK):
        """The tensor in consecutive row blocks, as stored (torch tensors when torch is available, else numpy)."""
        piece = self._slice(key)
        shape = tuple(piece.get_shape())
        if len(shape) == 0:
            yield self._handles[self._where[key]].get_tensor(key).reshape(1)
            return
        row = max(1, math.prod(shape[1:]))
        rows_per_chunk = max(1, chunk_elems // row)
        for start in range(0, shape[0], rows_per_chunk):
            yield piece[start:start + rows_per_chunk]

    def _to_numpy(self, tensor) -> np.ndarray:
        if self._framework == "pt":
            import torch

            return tensor.to(torch.float64).numpy()
        return np.asarray(tensor, dtype=np.float64)

    def sum_sq(self, key: str, chunk_elems: int = DEFAULT_CHUNK) -> float:
        """||tensor||^2, accumulated in float64; cached per key."""
        if key not in self._sum_sq:
            self._sum_sq[key] = sum(_sum_sq(block) for block in self.blocks(key, chunk_elems))
        return self._sum_sq[key]


def _sum_sq(block) -> float:
    """Sum of squares of a torch or numpy block, accumulated in float64 without a float64 copy where possible."""
    if isinstance(block, np.ndarray):
        flat = block.ravel().astype(np.float64, copy=False)
        return float(np.dot(flat, flat))
    import torch

    block = block.float()
    if block.ndim < 2:
        return float(torch.linalg.vector_norm(block, dtype=torch.float64) ** 2)
    # float32 sums within a row (short: ~1e-7 relative error), float64 across rows; 5x faster than a float64 norm
    return float((block * block).sum(dim=-1).double().sum())


def _sub(y, x):
    """y - x in (at least) float32. Never in place: a block can be a view of the memory-mapped file."""
    if isinstance(y, np.ndarray):
        return y.astype(np.float64, copy=False) - x
    return y.float() - x.float()


def _pairs(a: TensorSource, b: TensorSource) -> list[str]:
    """Keys both sources hold as floating tensors of the same shape."""
    shared = sorted(set(a.keys()) & set(b.keys()))
    return [k for k in shared if a.is_float(k) and b.is_float(k) and a.shape(k) == b.shape(k)]


def _diff_and_norm(a: TensorSource, b: TensorSource, key: str, chunk_elems: int) -> tuple[float, float]:
    """(||b - a||^2, ||a||^2) of one tensor, streamed in row blocks; the difference is taken in float32 (or the
    files' wider type) and the squares summed in float64."""
    diff_sq = norm_sq = 0.0
    known = a._sum_sq.get(key)
    for x, y in zip(a.blocks(key, chunk_elems), b.blocks(key, chunk_elems), strict=True):
        diff_sq += _sum_sq(_sub(y, x))
        if known is None:
            norm_sq += _sum_sq(x)
    if known is None:
        a._sum_sq[key] = norm_sq
    return diff_sq, a._sum_sq[key]


def global_norm(source: TensorSource, chunk_elems: int = DEFAULT_CHUNK) -> float:
    """sqrt of the sum of squares of every floating tensor in `source` (reusing norms already computed)."""
    return math.sqrt(sum(source.sum_sq(key, chunk_elems) for key in source.keys() if source.is_float(key)))


@dataclass(frozen=True)
class L2Distance:
    """One checkpoint's distance to the base model."""

    phase: str
    step: int | None
    l2: float
    rel_l2: float
    num_params: int
    num_elems: int


def _as_checkpoints(checkpoints) -> list[tuple[str, int | None, Path]]:
    """(name, step, path) for a run folder or a sequence of checkpoint folders / Checkpoint objects."""
    if isinstance(checkpoints, (str, Path)):
        found = list_checkpoints(checkpoints)
        if not found:
            raise DataError(f"{checkpoints} has no complete checkpoints (checkpoints/checkpoint-N with COMPLETE)")
        return [(c.name, c.step, c.path) for c in found]
    out = []
    for item in checkpoints:
        if hasattr(item, "path"):
            out.append((item.name, item.step, Path(item.path)))
        else:
            path = Path(item)
            match = re.search(r"(\d+)$", path.name)
            out.append((path.name, int(match.group(1)) if match else None, path))
    return out


def l2_to_base(checkpoints, base: str | Path, out_csv: str | Path | None = None,
               chunk_elems: int = DEFAULT_CHUNK, progress: bool = False) -> list[L2Distance]:
    """L2 and relative L2 distance of each checkpoint to `base` (a model folder); optionally written as CSV.

    `checkpoints` is a run folder (its complete checkpoints) or a sequence of checkpoint folders.
    """
    items = _as_checkpoints(checkpoints)
    base_source = TensorSource(base)
    measured = []
    for name, step, path in _progress(items, progress, "L2 to base"):
        if is_adapter(path):  # LoRA: only the adapted modules moved, by s*B@A
            adapter = LoraAdapter(path)
            keys = shared_modules(adapter, base_source)
            diff_sq = sum(adapter.delta_sq(key) for key in keys)
        else:
            source = TensorSource(path)
            keys = _pairs(base_source, source)
            diff_sq = sum(_diff_and_norm(base_source, source, key, chunk_elems)[0] for key in keys)
        elems = sum(math.prod(base_source.shape(key)) for key in keys)
        measured.append((name, step, math.sqrt(diff_sq), len(keys), elems))
    base_norm = global_norm(base_source, chunk_elems)  # after the first pass, which cached most tensor norms
    rows = [L2Distance(name, step, l2, l2 / base_norm if base_norm else float("nan"), n, elems)
            for name, step, l2, n, elems in measured]
    if out_csv is not None:
        write_l2_csv(rows, out_csv)
    return rows


def write_l2_csv(rows: Sequence[L2Distance], path: str | Path) -> Path:
    """Write `phase,l2,rel_l2,num_params,num_elems` (the original script's columns), full precision."""
    lines = ["phase,l2,rel_l2,num_params,num_elems"]
    lines += [f"{r.phase},{r.l2!r},{r.rel_l2!r},{r.num_params},{r.num_elems}" for r in rows]
    return atomic_write_text(path, "\n".join(lines) + "\n")


def _progress(items, enabled: bool, description: str):
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=description, unit="ckpt")


def module_row(key: str) -> tuple[int, str] | None:
    """(layer index, module kind) for a projection weight name, e.g. model.layers.3.self_attn.q_proj.weight."""
    match = _LAYER.search(key)
    if match is None or not key.endswith(".weight"):
        return None
    parts = key.split(".")
    kind = _MODULES.get(parts[-2]) if len(parts) >= 2 else None
    return (int(match.group(1)), kind) if kind else None


@dataclass
class ChangeMatrix:
    """Relative change per (layer, module) row and consecutive-checkpoint column; NaN where not comparable."""

    rows: list[str]
    columns: list[str]
    values: np.ndarray
    notes: list[str] = field(default_factory=list)


def relative_change(checkpoints, base: str | Path | None = None, chunk_elems: int = DEFAULT_CHUNK,
                    progress: bool = False) -> ChangeMatrix:
    """Per (layer, module), element-weighted mean of ||W_{t+1}-W_t||_F / ||W_t||_F for consecutive checkpoints.

    With `base`, the first column is base -> first checkpoint. Tensors with ||W_t|| = 0 are skipped.
    """
    items = [(name, path) for name, _step, path in _as_checkpoints(checkpoints)]
    if any(is_adapter(path) for _, path in items):
        if base is None:
            raise DataError("the relative change of LoRA checkpoints needs the base model's weights")
        return _lora_relative_change(items, TensorSource(base), chunk_elems, progress)
    if base is not None:
        items = [("base", Path(base)), *items]
    if len(items) < 2:
        raise DataError("a relative-change heatmap needs at least two checkpoints (or one and the base)")
    columns, per_column = [], []
    previous_name, previous = items[0][0], TensorSource(items[0][1])
    for name, path in _progress(items[1:], progress, "relative change"):
        current = TensorSource(path)
        sums: dict[tuple[int, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
        for key in _pairs(previous, current):
            where = module_row(key)
            if where is None:
                continue
            diff_sq, norm_sq = _diff_and_norm(previous, current, key, chunk_elems)
            if norm_sq == 0:
                continue
            elems = math.prod(previous.shape(key))
            sums[where][0] += elems * math.sqrt(diff_sq / norm_sq)
            sums[where][1] += elems
        per_column.append({where: s / n for where, (s, n) in sums.items() if n})
        columns.append(f"{_short(previous_name)}→{_short(name)}")
        previous_name, previous = name, current
    return _matrix(columns, per_column)


def _lora_relative_change(items, base: TensorSource, chunk_elems: int, progress: bool) -> ChangeMatrix:
    """relative_change for adapter checkpoints: W_t = W0 + D_t, from base -> first adapter onwards."""
    columns, per_column = [], []
    previous_name, previous = "base", None
    for name, path in _progress(items, progress, "relative change"):
        current = LoraAdapter(path)
        sums: dict[tuple[int, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
        adapted = set(shared_modules(current, base))
        for key in base.keys():
            where = module_row(key)
            if where is None or not base.is_float(key):
                continue
            if key not in adapted:  # not adapted: unchanged, but it still weighs in its group's mean
                sums[where][1] += math.prod(base.shape(key))
                continue
            cur_sq = current.delta_sq(key)
            if previous is None or key not in previous.modules:
                diff_sq, norm_sq = cur_sq, base.sum_sq(key, chunk_elems)
            else:
                prev_sq = previous.delta_sq(key)
                diff_sq = max(0.0, cur_sq + prev_sq - 2 * current.inner(previous, key))
                norm_sq = base.sum_sq(key, chunk_elems) + 2 * previous.inner_base(base, key, chunk_elems) + prev_sq
            if norm_sq <= 0:
                continue
            elems = math.prod(base.shape(key))
            sums[where][0] += elems * math.sqrt(diff_sq / norm_sq)
            sums[where][1] += elems
        per_column.append({where: s / n for where, (s, n) in sums.items() if n})
        columns.append(f"{_short(previous_name)}→{_short(name)}")
        previous_name, previous = name, current
    return _matrix(columns, per_column)


def _matrix(columns: list[str], per_column: list[dict]) -> ChangeMatrix:
    keys = sorted({k for col in per_column for k in col}, key=lambda k: (k[0], _MODULE_ORDER.index(k[1])))
    values = np.full((len(keys), len(columns)), np.nan)
    for j, col in enumerate(per_column):
        for i, key in enumerate(keys):
            if key in col:
                values[i, j] = col[key]
    notes = [] if keys else ["no projection weights (q/k/v/o_proj, gate/up/down_proj) were found to compare"]
    return ChangeMatrix([f"L{layer}.{kind}" for layer, kind in keys], columns, values, notes)


def _short(name: str) -> str:
    return name.replace("checkpoint-", "")


def relative_change_heatmap(change: ChangeMatrix, title: str | None = None):
    """A heatmap figure of a ChangeMatrix, colours clipped to the 1st-99th percentiles of its finite values."""
    plt = use_agg()
    finite = change.values[np.isfinite(change.values)]
    vmin, vmax = (float(np.percentile(finite, 1)), float(np.percentile(finite, 99))) if finite.size else (0, 1)
    if vmax <= vmin:
        vmax = vmin + 1e-12
    height = min(14.0, 1.2 + 0.16 * len(change.rows))
    width = min(14.0, 2.5 + 0.7 * len(change.columns))
    fig, ax = plt.subplots(figsize=(width, height))
    image = ax.imshow(change.values, aspect="auto", cmap="viridis", vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks(range(len(change.columns)), change.columns, rotation=45, ha="right", fontsize=8)
    step = max(1, len(change.rows) // 60)
    ax.set_yticks(range(0, len(change.rows), step), change.rows[::step], fontsize=7)
    ax.set_xlabel("checkpoint pair (step)")
    fig.colorbar(image, ax=ax, label="‖ΔW‖/‖W‖ (clipped 1–99th pct)")
    ax.set_title(title or "relative weight change between consecutive checkpoints", fontsize=10)
    fig.tight_layout()
    return fig


def plot_l2(distances: dict[str, list[L2Distance]], colors: dict[str, str] | None = None):
    """Two panels (L2, relative L2) vs step, one line per run; None when there is nothing to plot."""
    distances = {run: rows for run, rows in distances.items() if rows}
    if not distances:
        return None
    colors = colors or color_map(distances)
    plt = use_agg()
    fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.0))
    for run, rows in sorted(distances.items()):
        steps = [0] + [r.step if r.step is not None else i + 1 for i, r in enumerate(rows)]
        axes[0].plot(steps, [0.0] + [r.l2 for r in rows], marker="o", markersize=3, label=run, color=colors.get(run))
        axes[1].plot(steps, [0.0] + [r.rel_l2 for r in rows], marker="o", markersize=3, label=run,
                     color=colors.get(run))
    axes[0].set_title("L2 distance to base", fontsize=10)
    axes[1].set_title("relative L2 (L2 / ‖θ_base‖)", fontsize=10)
    for ax in axes:
        ax.set_xlabel("training step")
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def local_base_folder(name: str | None) -> tuple[Path | None, str | None]:
    """A local folder for a run's base model without downloading or building anything: (path, None) or
    (None, reason). Known sftlab names count only when already built in the cache."""
    if not name:
        return None, "run.json names no base_model"
    path = Path(str(name)).expanduser()
    if path.is_dir():
        return path, None
    if name in MODEL_NAMES:
        folder = cached_model_dir(name)
        if (folder / COMPLETE).is_file():
            return folder, None
        return None, f"base model {name!r} is not built in the cache yet (any `sftlab` command that loads it builds it)"
    try:
        from huggingface_hub import try_to_load_from_cache

        config = try_to_load_from_cache(str(name), "config.json")
        if isinstance(config, str):
            return Path(config).parent, None
    except Exception:  # noqa: BLE001 - any hub-cache problem just means "not available locally"
        pass
    return None, f"base model {name!r} is not available locally"
