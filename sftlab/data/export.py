"""Row files and exports: parquet next to the JSONL, TRL conversational files, and verl's parquet layout.

TRL: the default files already are TRL's conversational prompt-completion format (`prompt` and `completion`
message lists); `export_trl` writes just those two columns for tools that dislike extra ones.

verl (the original's RL/SFT format, spec 5): `data_source`, `prompt` (message list), `ability`,
`reward_model` {style: "rule", ground_truth}, `extra_info` {split, index, id, question, answer, metadata...}.
verl's SFT trainer reads `extra_info.question` / `extra_info.answer` with `data.prompt_key=extra_info
+data.prompt_dict_keys=['question'] data.response_key=extra_info +data.response_dict_keys=['answer']`.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from sftlab.data.schema import check_rows, read_data_manifest
from sftlab.errors import DataError, check_choice
from sftlab.io import atomic_write_bytes, read_jsonl, staged_dir, write_jsonl, write_manifest
from sftlab.task_adapters import VerlExport, all_tasks, find_task, get_task, require
from sftlab.task_adapters.rows import completion_text, user_text


def write_parquet(path: str | Path, rows: list[dict]) -> int:
    """Atomically write `rows` as parquet (nested columns kept nested); return the row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DataError(f"rows for {path} do not share one column layout ({exc})") from None
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    atomic_write_bytes(path, buffer.getvalue())
    return len(rows)


def verl_rows(rows: list[dict]) -> list[dict]:
    """The rows in verl's layout (metadata kept as a JSON string in extra_info, so every task fits one schema)."""
    out = []
    for index, row in enumerate(rows):
        task = require(get_task(row["task"]), VerlExport)
        extra = {"split": row["split"], "index": index, "id": row["id"], "question": user_text(row),
                 "answer": completion_text(row) or "", "metadata": json.dumps(row["metadata"], sort_keys=True)}
        out.append({"data_source": task.data_source(row), "prompt": row["prompt"], "ability": task.ability,
                    "reward_model": {"style": "rule", "ground_truth": task.ground_truth(row)}, "extra_info": extra})
    return out


def check_verl_tasks(src: Path, splits: list[tuple[str, list[dict]]]) -> None:
    """A DataError unless every row's task has a verl layout and reward here (the VerlExport capability).

    The cross-domain and safety suites are scored by `sftlab eval` only: `sftlab.integrations.verl.compute_score`
    has no reward for them, so a verl file of them could not be trained or validated on; nor for a plugin task that
    does not opt into VerlExport.
    """
    names = sorted({str(row.get("task")) for _, rows in splits for row in rows})
    tasks = [name for name in names if not isinstance(find_task(name), VerlExport)]
    if tasks:
        exported = ", ".join(t.name for t in all_tasks() if isinstance(t, VerlExport))
        raise DataError(
            f"{src} holds {', '.join(tasks)} rows, which have no verl export (their task does not opt into "
            f"VerlExport, see docs/adding-a-task.md): verl's reward here (sftlab.integrations.verl) scores only "
            f"{exported}; evaluate them with sftlab eval"
        )


def _source_files(src: Path) -> tuple[dict, list[tuple[str, list[dict]]]]:
    manifest = read_data_manifest(src)
    splits = [(stem, check_rows(read_jsonl(src / f"{stem}.jsonl"), src / f"{stem}.jsonl")) for stem in ("train", "test")
              if (src / f"{stem}.jsonl").is_file()]
    if not splits:
        raise DataError(f"{src} has no train.jsonl or test.jsonl to export")
    return manifest, splits


def export(fmt: str, src: str | Path, out: str | Path, *, force: bool = False) -> Path:
    """Export a built data folder to `fmt` ("verl" or "trl") in `out`, with its own manifest."""
    check_choice("export format", fmt, ("verl", "trl"))
    src = Path(src)
    manifest, splits = _source_files(src)
    if fmt == "verl":
        check_verl_tasks(src, splits)
    with staged_dir(out, force, inputs=[src]) as tmp:
        for stem, rows in splits:
            if fmt == "verl":
                write_parquet(tmp / f"{stem}.parquet", verl_rows(rows))
            else:
                if stem == "train" and any("completion" not in r for r in rows):
                    raise DataError(f"{src} holds RL/eval rows without completions; TRL SFT needs completions")
                slim = [{"prompt": r["prompt"], **({"completion": r["completion"]} if "completion" in r else {})}
                        for r in rows]
                write_jsonl(tmp / f"{stem}.jsonl", slim)
                write_parquet(tmp / f"{stem}.parquet", slim)
        write_manifest(tmp, {"export": fmt, "source": str(src), "source_config": manifest.get("config")},
                       source_files=manifest.get("files"))
    return Path(out)
