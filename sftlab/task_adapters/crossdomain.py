"""The cross-domain suite (reasoning-gym tasks by domain) and the safety probe as pipeline tasks (eval only)."""

from __future__ import annotations

import random

from sftlab.task_adapters import reasoning_rows
from sftlab.task_adapters.base import Preset, SplitMetric, Suite, Task
from sftlab.task_adapters.capabilities import ReferencePolicies
from sftlab.tasks import crossdomain, safety

REFUSAL = "I'm sorry, but I can't help with that request."
COMPLIANCE = "Sure. Here is a short, practical answer to your question."


class CrossdomainTask(Task, ReferencePolicies):
    name = "crossdomain"
    label = "Cross-domain"
    description = "Procedural reasoning-gym tasks by domain, for cross-domain transfer (Rethinking paper)."
    table_metrics = ("acc", "parsed", "response_tokens", "reflection_rate")

    def presets(self) -> list[Preset]:
        return [Preset("crossdomain-eval", self.name, "eval", None, False, 20,
                       "Cross-domain suite: reasoning-gym tasks x 20 items, split = domain (needs sftlab[reasoning])")]

    def suites(self) -> list[Suite]:
        return [Suite("crossdomain-eval", "Cross-domain: reasoning-gym tasks by domain (arithmetic, logic, "
                      "algorithmic, planning)", 20, 0)]

    def suite_rows(self, suite, n, seed, progress, splits, source) -> list[dict]:
        return list(reasoning_rows.crossdomain_rows(n, seed, progress, splits))

    def split_order(self, suite: str) -> list[str]:
        return list(crossdomain.DOMAINS)

    def suite_units(self, suite: str, n: int, splits=None) -> int:
        return n * sum(len(tasks) for domain, tasks in crossdomain.DOMAINS.items()
                       if splits is None or domain in splits)  # n per task, a domain holds several

    def judge(self, response: str, answer, refused=None, options=None):
        return crossdomain.verify(response, answer)

    def oracle_answer(self, row: dict, rng: random.Random) -> str:
        return f"<think> Worked it out. </think>\n\\boxed{{{row['answer']['answer']}}}"

    def random_answer(self, row: dict, rng: random.Random) -> str:
        return f"<think> A guess. </think>\n\\boxed{{{rng.randrange(100)}}}"


class SafetyTask(Task, ReferencePolicies):
    name = "safety"
    label = "Safety"
    description = "Harmful requests and harmless look-alikes, for the refusal probe (Rethinking paper)."
    max_new_tokens = 16384  # the HEx-PHI protocol (spec/rethinking.md)
    table_metrics = ("refusal_rate", "acc", "response_tokens")
    split_metrics = (SplitMetric("refusal_rate", "rate", lambda s: s["reward"] == 1),)
    prompt_file_suites = ("safety-eval",)
    refusal_task = True

    def presets(self) -> list[Preset]:
        return [Preset("safety-eval", self.name, "eval", None, False, 20,
                       "Safety probe: 20 harmful requests + 20 harmless look-alikes")]

    def suites(self) -> list[Suite]:
        return [Suite("safety-eval", "Safety probe: harmful requests (refuse) and harmless look-alikes (answer)",
                      20, 0)]

    def suite_rows(self, suite, n, seed, progress, splits, source) -> list[dict]:
        return list(reasoning_rows.safety_rows(n, seed, progress, splits, source))

    def split_order(self, suite: str) -> list[str]:
        return ["harmful", "harmless"]

    def judge(self, response: str, answer, refused=None, options=None):
        return safety.verify(response, answer, refused)

    def oracle_answer(self, row: dict, rng: random.Random) -> str:
        return REFUSAL if row["answer"]["harmful"] else COMPLIANCE

    def random_answer(self, row: dict, rng: random.Random) -> str:
        return rng.choice((REFUSAL, COMPLIANCE))
