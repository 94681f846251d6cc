"""Cross-domain reasoning suite: procedurally generated tasks from `reasoning-gym`, grouped by domain, offline.

The reasoning-SFT paper measures transfer from a toy game (Countdown) to other domains with MATH500, GPQA, LCB
and friends, which need hub data. Offline we use reasoning-gym's generators: items are generated from a seed
(item i of a task comes from `Random(seed + i)` inside reasoning-gym), so a suite is fully determined by
(task, seed, index) and nothing needs to be stored or downloaded.

Scoring uses reasoning-gym's own `score_answer` for the tasks chosen here, whose scorers were checked to be
sound (the oracle scores 1.0 and a wrong answer scores < 1). Tasks with unsound scorers are left out: e.g.
`puzzle24` accepts formulas over the wrong numbers (our `general_points.score` is used for the 24-game instead),
and `propositional_logic`/`rush_hour` have no reference answer to check against in this version.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from sftlab.errors import ConfigError, SftlabError
from sftlab.tasks.expr import Verdict

DOMAINS: dict[str, tuple[str, ...]] = {
    "arithmetic": ("basic_arithmetic", "chain_sum", "gsm_symbolic", "leg_counting"),
    "logic": ("family_relationships", "syllogism", "circuit_logic"),
    "algorithmic": ("word_sorting", "spell_backward", "letter_counting"),
    "planning": ("maze", "shortest_path", "mini_sudoku", "tower_of_hanoi"),
}
TASK_DOMAIN = {task: domain for domain, tasks in DOMAINS.items() for task in tasks}
INSTRUCTION = "\nPlease reason step by step, and put your final answer within \\boxed{}."
MAX_RESPONSE_CHARS = 200_000
_OPEN, _CLOSE = "<answer>", "</answer>"


@dataclass(frozen=True)
class Item:
    """One cross-domain question with the reference answer and where it came from."""

    task: str
    domain: str
    seed: int
    index: int
    question: str
    answer: str

    def prompt(self) -> str:
        """The user message: the question plus the paper's `\\boxed{}` instruction."""
        return self.question + INSTRUCTION


def _require_reasoning_gym():
    try:
        import reasoning_gym
    except ImportError:
        raise SftlabError(
            "the cross-domain suite needs reasoning-gym; install it with: pip install 'sftlab[reasoning]'"
        ) from None
    return reasoning_gym


@functools.lru_cache(maxsize=64)
def _dataset(task: str, seed: int, size: int):
    return _require_reasoning_gym().create_dataset(task, size=size, seed=seed)


def items(n_per_task: int = 20, seed: int = 0, tasks: tuple[str, ...] | None = None) -> list[Item]:
    """`n_per_task` items of every task (all DOMAINS by default), deterministic in `seed`."""
    if n_per_task < 1:
        raise ConfigError(f"n_per_task must be at least 1, got {n_per_task}")
    tasks = tasks or tuple(TASK_DOMAIN)
    unknown = [t for t in tasks if t not in TASK_DOMAIN]
    if unknown:
        raise ConfigError(f"unknown cross-domain task(s) {unknown}; choose from: {', '.join(TASK_DOMAIN)}")
    out = []
    for task in tasks:
        dataset = _dataset(task, seed, n_per_task)
        for index in range(n_per_task):
            entry = dataset[index]
            out.append(Item(task, TASK_DOMAIN[task], seed, index, entry["question"], str(entry["answer"])))
    return out


def final_answer(response: str) -> str | None:
    """The content of the last `\\boxed{...}` (balanced braces), else of the last `<answer>...</answer>`.

    None when there is neither, or when `response` is not text. Linear time in the length of the response.
    """
    if not isinstance(response, str):
        return None
    text = response[-MAX_RESPONSE_CHARS:]
    text = text.rpartition("</think>")[2]  # after the last </think>, or all of it
    start = text.rfind("\\boxed{")
    if start >= 0:
        depth, i = 0, start + len("\\boxed")
        for j in range(i, len(text)):
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
                if depth == 0:
                    return text[i + 1 : j].strip()
    tag = last_answer_tag(text)
    return None if tag is None else tag.strip()


def last_answer_tag(text: str) -> str | None:
    """The last match of `re.findall(r"<answer>(.*?)</answer>", text, re.DOTALL)`, in linear time.

    findall scans left to right: a match runs from an `<answer>` to the first `</answer>` after it, and the
    next search starts after that. Once an `<answer>` has no `</answer>` after it, no later one has either, so
    the scan stops there instead of retrying from every later `<answer>` (the regex's quadratic case).
    """
    found, pos = None, 0
    while (start := text.find(_OPEN, pos)) >= 0:
        end = text.find(_CLOSE, start + len(_OPEN))
        if end < 0:
            break
        found, pos = text[start + len(_OPEN) : end], end + len(_CLOSE)
    return found


def score(item: Item, response: str) -> float:
    """reasoning-gym's score in [0, 1] for the final answer in `response`; 0.0 when none can be extracted."""
    answer = final_answer(response)
    if answer is None:
        return 0.0
    try:
        dataset = _dataset(item.task, item.seed, item.index + 1)
        return float(dataset.score_answer(answer=answer, entry=dataset[item.index]))
    except SftlabError:
        raise
    except Exception:  # a scorer choking on odd model output is a wrong answer, not a crash
        return 0.0


VARIANTS = {domain: ", ".join(tasks) for domain, tasks in DOMAINS.items()}


def show(seed: int = 0, variant: str | None = None) -> str:
    """One item of each task of a domain (all domains by default), with its reference answer."""
    if variant is not None and variant not in DOMAINS:
        raise ConfigError(f"unknown domain {variant!r}; choose one of: {', '.join(DOMAINS)}")
    tasks = DOMAINS[variant] if variant else tuple(TASK_DOMAIN)
    blocks = [
        f"[{it.domain} / {it.task}]\n{it.prompt()}\nreference answer: {it.answer}"
        for it in items(1, seed, tasks)
    ]
    return "\n\n".join(blocks)


def verify(response: str, answer: dict):
    """A Verdict for a response to a `crossdomain-eval` row (`answer` = {task, seed, index, ...}); never raises.

    reward 1 and correct only when reasoning-gym's score is 1.0 (partial credit counts as wrong). A response that
    is not text, or a reference that does not name a known item, is a scored failure with the reason.
    """
    if not isinstance(response, str):
        return Verdict(0, f"the response is not text ({type(response).__name__}).")
    item = _reference_item(answer)
    if item is None:
        return Verdict(0, f"the reference answer does not name a cross-domain item: {str(answer)[:80]!r}.")
    extracted = final_answer(response)
    if extracted is None:
        return Verdict(0, "no final answer in \\boxed{} or <answer> tags was found.")
    try:
        value = score(item, response)
    except SftlabError as exc:  # reasoning-gym missing: a scored failure that says why
        return Verdict(0, f"the answer could not be scored ({exc}).", formula=extracted)
    if value >= 1.0:
        return Verdict(1, "the answer is correct.", formula=extracted, correct=True)
    return Verdict(0, f"the answer {extracted[:80]!r} is wrong (score {value:.2f}).", formula=extracted)


def _reference_item(answer) -> Item | None:
    """The Item an eval row's `answer` names, or None when it is not {task: known task, seed: int, index: int}."""
    if not isinstance(answer, dict) or answer.get("task") not in TASK_DOMAIN:
        return None
    try:
        seed, index = int(answer["seed"]), int(answer["index"])
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    if seed < 0 or index < 0:
        return None
    return Item(answer["task"], TASK_DOMAIN[answer["task"]], seed, index, "", str(answer.get("answer", "")))
