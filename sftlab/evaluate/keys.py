"""What makes two evaluations the same: the settings that change the numbers, and the keys built from them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sftlab.evaluate.config import POLICIES, EvalConfig
from sftlab.evaluate.targets import Target
from sftlab.io import sha256_file
from sftlab.models.resolve import pick_device

# Bump when scoring or seeding changes, so stored numbers are not reused across protocols.
# 2: Countdown's `parsed` counts only boxed or tagged answers.
# 3: Sokoban metrics as the original computes them (action_is_valid / action_is_effective / num_actions, plus
#    sftlab's validity_all_episodes / effectiveness_all_episodes / turns), the original's action string (tags
#    stripped inside the answer), and the prompt protocol (paper | clean) in the key.
PROTOCOL = 3
CPU_MAX_NEW_TOKENS = 64  # default cap for the hf backend on CPU when --max-new-tokens is not given


def resolved_max_new_tokens(config: EvalConfig) -> tuple[int, str | None]:
    """The max new tokens to use and, when the CPU cap applied, a notice saying so."""
    if config.max_new_tokens is not None:
        return config.max_new_tokens, None
    default = config.adapter.max_new_tokens
    if config.backend == "hf":
        if pick_device(config.device) == "cpu" and default > CPU_MAX_NEW_TOKENS:
            return CPU_MAX_NEW_TOKENS, (f"note: on CPU, max_new_tokens defaults to {CPU_MAX_NEW_TOKENS} instead of "
                                        f"the paper's {default}; pass --max-new-tokens {default} for the paper setting")
    return default, None


def eval_settings(config: EvalConfig, max_new_tokens: int, episodes: int) -> dict:
    """Everything that changes the numbers (not batch size, device or output paths)."""
    settings = {
        "protocol": PROTOCOL,
        "backend": config.backend,
        "episodes": episodes,
        "temperature": config.temperature,
        "top_p": config.top_p,
        "top_k": config.top_k,
        "max_new_tokens": max_new_tokens,
        "seed": config.seed,
    }
    if config.backend in POLICIES:  # a policy ignores the sampling settings
        for name in ("temperature", "top_p", "top_k", "max_new_tokens"):
            settings.pop(name)
    if config.splits is not None:
        settings["splits"] = sorted(config.splits)
    if config.safety_prompts is not None:
        settings["safety_prompts_sha256"] = sha256_file(config.safety_prompts)
    if config.refusal_judge is not None:
        settings["refusal_judge"] = config.refusal_judge
    settings.update(config.adapter.environment(config).key_settings())  # max_turns, max_attempts
    settings.update(config.adapter.eval_settings(config))  # the task's own settings (Sokoban's prompt protocol ...)
    return settings


def eval_key(fingerprint: str, suite: str, settings: dict) -> str:
    """The evaluation identity stored with every result row."""
    blob = json.dumps({"fingerprint": fingerprint, "suite": suite, "settings": settings}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def row_key(content_key: str, target: Target) -> str:
    """The store key of one named evaluation: the content key plus the run/checkpoint/step names and the model's
    full path, so a second name or a second folder for the same content gets its own rows (copied, not
    recomputed): `x1/model` and `x2/model` are two evaluations, never one."""
    parts = [content_key, target.run, target.checkpoint, target.step]
    if target.location:
        parts.append(str(Path(target.location).resolve()) if Path(target.location).exists() else target.location)
    blob = json.dumps(parts)
    return hashlib.sha256(blob.encode()).hexdigest()
