"""The Sokoban instruction text (spec 3.1-3.3), as the user message of a chat.

`user_prompt` gives the text from `You are a Sokoban solver.` through `Strictly follow this format.`; a tokenizer's
chat template wraps it, so any chat model works. `raw_prompt` gives the original's hard-coded Qwen wrapping
(`<|im_start|>user ... <|im_start|>assistant\\n<think>`) for anyone who wants the exact original string.

The original's *evaluation* env renders one stray byte that its training prompts lack: a literal backslash after
`Decide the next action:` (`Decide the next action:\\` then the newline). `eval_prompt(..., protocol="paper")`
reproduces it; `protocol="clean"` gives the training text (see docs/evaluation.md, "Prompt protocol").

Only the Answers block changes between variants: base words list `Up | Down | Left | Right`; any other labels add
`where L1 is Up, L2 is Down, L3 is Left, L4 is Right.` Decisions about the original's quirks are in docs/sokoban.md.
"""

from __future__ import annotations

from sftlab.tasks.sokoban.render import render
from sftlab.tasks.sokoban.solve import DIRECTIONS

BASE_LABELS: tuple[str, str, str, str] = DIRECTIONS

_HEAD = """You are a Sokoban solver.

Sokoban Quick Guide
Goal: Push all boxes (X) onto targets (O).

Symbols:
# Wall | _ Floor | O Target | X Box | P You | √ = Box on Target | S = You on Target

Rules:
1. Push boxes (can't pull).
2. Avoid walls (#).

"""

_TAIL = """

Rewards:
Move: -0.1
Box on target: +1.0
All boxes placed: +10.0


[Current Observation]:
{grid}
Decide the next action:
"""

DECIDE = "Decide the next action:\n"
DECIDE_EVAL = "Decide the next action:\\\n"  # the original eval env's stray backslash before the newline
DECIDE_ANSWER_ONLY = "Decide the next 1 actions:\n"  # the original's answer-only template says this
EVAL_PROTOCOLS = ("paper", "clean")

ALWAYS_OUTPUT_COT = (
    "Always output: <think> [Your thoughts] </think> <answer> [your answer] </answer> with no extra text. "
    "Strictly follow this format."
)
ALWAYS_OUTPUT_ANSWER_ONLY = "Always output: <answer> [your answer] </answer> with no extra text. Strictly follow this format."


def answers_block(labels=BASE_LABELS, where_line: bool | None = None) -> str:
    """The `Answers:` block for 4 labels in Up, Down, Left, Right order (no trailing newline).

    `where_line=None` adds the `where ...` line exactly when the labels are not the base words.
    """
    labels = tuple(str(label) for label in labels)
    if len(labels) != 4:
        raise ValueError(f"a Sokoban Answers block needs 4 labels (Up, Down, Left, Right order), got {labels!r}")
    if where_line is None:
        where_line = labels != BASE_LABELS
    text = "Answers:\n" + " | ".join(f"<answer> {label} </answer>" for label in labels)
    if where_line:
        text += "\nwhere " + ", ".join(f"{label} is {d}" for label, d in zip(labels, DIRECTIONS, strict=True)) + "."
    return text


def user_prompt(rows, labels=BASE_LABELS, where_line: bool | None = None, answer_only: bool = False) -> str:
    """The user message for the position `rows` (XSB), offering `labels` as the 4 actions.

    `answer_only=True` gives the original's answer-only template (`create_dataset.py --prefix
    qwen-instruct-answer-only`): `Decide the next 1 actions:` and `<answer> ... </answer>` only.
    """
    text = _HEAD + answers_block(labels, where_line) + _TAIL.format(grid=render(rows))
    if answer_only:
        return text.replace(DECIDE, DECIDE_ANSWER_ONLY, 1) + ALWAYS_OUTPUT_ANSWER_ONLY
    return text + ALWAYS_OUTPUT_COT


def eval_prompt(rows, labels=BASE_LABELS, where_line: bool | None = None, protocol: str = "paper") -> str:
    """The user message of one closed-loop evaluation turn.

    protocol "paper": byte for byte the original eval env's text, with its literal backslash after
    `Decide the next action:`; "clean": the training prompt's text (`user_prompt`), without that byte.
    """
    if protocol not in EVAL_PROTOCOLS:
        raise ValueError(f"prompt protocol must be one of {', '.join(EVAL_PROTOCOLS)}, got {protocol!r}")
    text = user_prompt(rows, labels, where_line)
    return text.replace(DECIDE, DECIDE_EVAL, 1) if protocol == "paper" else text


def raw_prompt(rows, labels=BASE_LABELS, where_line: bool | None = None, answer_only: bool = False,
               protocol: str | None = None) -> str:
    """The original's full hard-coded Qwen string, assistant prefix included (`<think>`, or `<answer>`).

    `protocol=None` gives the training string; "paper" / "clean" the eval string under that protocol.
    """
    prefix = "<answer>" if answer_only else "<think>"
    if protocol is None:
        body = user_prompt(rows, labels, where_line, answer_only)
    else:
        body = eval_prompt(rows, labels, where_line, protocol)
    return f"<|im_start|>user\n{body} <|im_end|>\n<|im_start|>assistant\n{prefix}"
