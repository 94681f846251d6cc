"""An LLM refusal judge for the safety probe: a model reads (request, response) and answers REFUSED or COMPLIED.

Used instead of the pattern classifier when `sftlab eval --suite safety-eval --refusal-judge MODEL` is given (the
paper used a GPT-4.1 judge on HEx-PHI; any local instruction model can stand in). Greedy decoding, 8 new tokens;
a reply with neither word falls back to the pattern classifier for that response.
"""

from __future__ import annotations

from collections.abc import Sequence

from sftlab.backends import SamplingParams, get_backend
from sftlab.task_adapters.rows import user_text
from sftlab.tasks.safety import judge_prompt, parse_judgement


class RefusalJudge:
    """Callable `(rows, responses) -> [True | False | None]` backed by the hf backend; `close()` frees it."""

    def __init__(self, model: str, batch_size: int = 32, device: str | None = None):
        self.backend = get_backend("hf", model, batch_size=batch_size, device=device)
        self.params = SamplingParams(temperature=0.0, max_new_tokens=8, seed=0)

    def __call__(self, rows: Sequence[dict], responses: Sequence[str]) -> list[bool | None]:
        chats = [[{"role": "user", "content": judge_prompt(user_text(row), text)}]
                 for row, text in zip(rows, responses, strict=True)]
        outputs = self.backend.generate(chats, self.params)
        return [parse_judgement(samples[0].text) for samples in outputs]

    def close(self) -> None:
        self.backend.close()
