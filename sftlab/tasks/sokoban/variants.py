"""The Sokoban evaluation variants (spec 1.4), the action parser, and the answer extractor.

A variant fixes the room size, the number of boxes, the action labels the prompt offers (`prompt_labels`) and the
labels the environment accepts (`accepted_labels`); both are given in Up, Down, Left, Right order. They differ only
in the "Fake" probe: its prompt offers 1/2/3/4 but the environment accepts only the base words.
"""

from __future__ import annotations

from dataclasses import dataclass

from sftlab.errors import ConfigError
from sftlab.tasks.sokoban.solve import DIRECTIONS

BASE_LABELS = DIRECTIONS
ROLES = ("id", "instruction", "fake", "difficulty", "extra")
_ROLE_TEXT = {
    "id": "in-distribution",
    "instruction": "instruction variant",
    "fake": "Fake shortcut probe: the env accepts only Up/Down/Left/Right",
    "difficulty": "difficulty variant",
    "extra": "extra, not in the paper's eval",
}


@dataclass(frozen=True)
class Variant:
    """One evaluation environment: size, boxes, labels shown, labels accepted, and its role in the paper."""

    name: str
    dim: tuple[int, int]
    num_boxes: int
    prompt_labels: tuple[str, str, str, str]
    accepted_labels: tuple[str, str, str, str]
    where_line: bool
    role: str
    max_steps: int = 30
    search_depth: int = 30

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ConfigError(f"variant role must be one of {', '.join(ROLES)}, got {self.role!r}")
        for field in ("prompt_labels", "accepted_labels"):
            labels = getattr(self, field)
            if len(labels) != 4 or len({lab.casefold() for lab in labels}) != 4:
                raise ConfigError(f"{field} must be 4 distinct labels (Up, Down, Left, Right order), got {labels!r}")

    def __str__(self) -> str:
        h, w = self.dim
        boxes = f"{self.num_boxes} box" + ("es" if self.num_boxes != 1 else "")
        return f"{h}x{w}, {boxes}, labels {'/'.join(self.prompt_labels)} ({_ROLE_TEXT[self.role]})"


def _v(name, dim, boxes, labels=BASE_LABELS, accepted=None, role="id", where=None) -> Variant:
    labels = tuple(labels)
    return Variant(name, dim, boxes, labels, tuple(accepted or labels),
                   labels != BASE_LABELS if where is None else where, role)


_ALL = [
    _v("SimpleSokoban", (6, 6), 1),
    _v("LargerSokoban", (10, 10), 1, role="difficulty"),
    _v("ComplexSokoban", (10, 10), 2, role="difficulty"),
    _v("TwoBoxesSokoban", (6, 6), 2, role="difficulty"),
    _v("SimpleSokobanRandom", (6, 6), 1, ("*", "&", "1", "M"), role="instruction"),
    _v("SimpleSokobanNumerical", (6, 6), 1, ("1", "2", "3", "4"), role="instruction"),
    _v("SimpleSokobanAlphabetical", (6, 6), 1, ("A", "B", "C", "D"), role="instruction"),
    _v("FakeSokobanNumerical", (6, 6), 1, ("1", "2", "3", "4"), BASE_LABELS, role="fake"),
    _v("CardinalSokoban", (6, 6), 1, ("North", "South", "West", "East"), role="extra", where=False),
    _v("EmojiSokoban", (6, 6), 1, ("⬆️", "⬇️", "⬅️", "➡️"), role="extra"),
]
VARIANTS: dict[str, Variant] = {v.name: v for v in _ALL}
EVAL_TAGS: tuple[str, ...] = tuple(v.name for v in _ALL[:8])
EVAL_BASE_SEED = 123
EPISODES_PER_TAG = 100

ALIASES = {
    "simple": "SimpleSokoban",
    "larger": "LargerSokoban",
    "complex": "ComplexSokoban",
    "twoboxes": "TwoBoxesSokoban",
    "random": "SimpleSokobanRandom",
    "numerical": "SimpleSokobanNumerical",
    "alphabetical": "SimpleSokobanAlphabetical",
    "fake": "FakeSokobanNumerical",
    "cardinal": "CardinalSokoban",
    "emoji": "EmojiSokoban",
}
_LOOKUP = {name.casefold(): name for name in VARIANTS} | {k.casefold(): v for k, v in ALIASES.items()}


def get_variant(name: str) -> Variant:
    """The variant called `name` (case-insensitive; short aliases such as "alphabetical" work); else ConfigError."""
    key = str(name).strip().casefold()
    if key not in _LOOKUP:
        names = ", ".join(list(VARIANTS) + list(ALIASES))
        raise ConfigError(f"unknown Sokoban variant {name!r}; choose one of: {names}")
    return VARIANTS[_LOOKUP[key]]


def eval_seeds(name: str, episodes: int = EPISODES_PER_TAG, base_seed: int = EVAL_BASE_SEED) -> list[int]:
    """The original eval protocol's seeds for a paper tag (spec 1.5): `base_seed + 100 * tag_index + episode`."""
    tag = get_variant(name).name
    if tag not in EVAL_TAGS:
        raise ConfigError(f"{tag} is not one of the paper's eval tags: {', '.join(EVAL_TAGS)}")
    start = base_seed + EPISODES_PER_TAG * EVAL_TAGS.index(tag)
    return list(range(start, start + episodes))


def parse_action(answer_text: str | None, labels) -> str | None:
    """Map an answer to a base direction: a case-insensitive exact match of the stripped text against `labels`.

    `labels` are 4 strings in Up, Down, Left, Right order (pass a variant's `accepted_labels`). Anything else,
    including None or a non-string, gives None (an invalid action). Case is folded with `str.lower`, as the
    original's action lookup does.
    """
    labels = tuple(labels)
    if len(labels) != 4:
        raise ValueError(f"parse_action needs 4 labels in Up, Down, Left, Right order, got {labels!r}")
    if not isinstance(answer_text, str):
        return None
    text = answer_text.strip().lower()
    for label, direction in zip(labels, DIRECTIONS, strict=True):
        if text == str(label).strip().lower():
            return direction
    return None


ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"
# The tags the original removes from inside the answer, in its order (RAGEN's special-token list).
SPECIAL_TOKENS = ("<think>", "</think>", "<answer>", "</answer>", "<|im_start|>", "<|im_end|>")


def answer_span(response) -> str | None:
    """The raw content of the first `<answer>...</answer>` (may span lines), or None; never raises.

    Same match as the original's `re.search(r"<answer>(.*?)</answer>", response, re.DOTALL)`: the first
    `<answer>` that is followed by a `</answer>` (if the first is not, no later one is), up to the nearest
    `</answer>`. Two `str.find` scans, so linear time on any input (the lazy regex is quadratic on an unclosed
    `<answer>` repeated). Anything that is not a `str` (bytes, numbers, lists, None) gives None.
    """
    if not isinstance(response, str):
        return None
    start = response.find(ANSWER_OPEN)
    if start < 0:
        return None
    start += len(ANSWER_OPEN)
    end = response.find(ANSWER_CLOSE, start)
    return None if end < 0 else response[start:end]


def extract_answer(response) -> str | None:
    """The action string as the original computes it: the first `<answer>...</answer>` content with the tags
    `<think> </think> <answer> </answer> <|im_start|> <|im_end|>` removed from inside it, stripped.

    The whole string is one action (`Up || Left` is one, invalid, action). None when there is no complete
    `<answer>...</answer>` or the response is not text; never raises, linear time.
    """
    content = answer_span(response)
    if content is None:
        return None
    for token in SPECIAL_TOKENS:
        content = content.replace(token, "")
    return content.strip()
