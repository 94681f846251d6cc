"""A test-only closed-loop task: walk a 1-D corridor to its exit, one step (L or R) per turn.

One file plus registration (`TASK`), loaded with `--task-module`: the proof that a closed-loop task is a plugin.
It has the core and the ReferencePolicies capability (the oracle and random walkers), nothing else.
The `near` split starts 2 cells from the exit, `far` 5 cells; the corridor has walls at 0 and 9.
"""

from sftlab.metrics import mean, rate
from sftlab.task_adapters import ReferencePolicies, Suite, Task, make_row
from sftlab.task_adapters.environment import Environment, summaries_by_split

SPLITS = {"near": 2, "far": 5}  # split -> cells from the start to the exit
WALLS = (0, 9)


class CorridorEnvironment(Environment):
    def __init__(self, max_turns):
        self.max_turns = max_turns

    def reset(self, row):
        return {"position": row["metadata"]["start"], "exit": row["answer"]["exit"]}

    def messages(self, episode):
        state = episode.state
        return [{"role": "user", "content": f"You stand at {state['position']}; the exit is at {state['exit']}. "
                                            "Answer L or R in <answer></answer> tags."}]

    def policy_row(self, episode):
        return {**episode.row, "metadata": {**episode.row["metadata"], "position": episode.state["position"]}}

    def step(self, episode, response):
        text = response if isinstance(response, str) else ""
        move = {"<answer>L</answer>": -1, "<answer>R</answer>": 1}.get(text.strip())
        state = episode.state
        if move is not None:
            state["position"] = min(max(state["position"] + move, WALLS[0]), WALLS[1])
        return {"move": move, "correct": state["position"] == state["exit"]}

    def done(self, episode):
        return episode.state["position"] == episode.state["exit"]

    def summary(self, episode):
        return {"reached": self.done(episode), "turns": episode.turns}

    def aggregate(self, units, splits):
        metrics = []
        for split, mine in summaries_by_split(units, splits):
            metrics += [rate(split, "success", sum(s["reached"] for s in mine), len(mine)),
                        mean(split, "turns", [s["turns"] for s in mine])]
        return metrics


class Corridor(Task, ReferencePolicies):
    name = "corridor"
    label = "Corridor"
    description = "Walk a 1-D corridor to its exit, one step per turn."
    table_metrics = ("success", "turns")

    def suites(self):
        return [Suite("corridor-eval", "near (2 cells) and far (5 cells) exits", default_n=4, default_seed=0)]

    def suite_rows(self, suite, n, seed, progress, splits, source):
        return [make_row(id=f"{split}-{i}", task=self.name, split=split, variant=split, seed=seed + i,
                         prompt="Walk to the exit.", completion=None, answer={"exit": 2 + (seed + i) % 2 + distance},
                         metadata={"start": 2 + (seed + i) % 2})
                for split, distance in SPLITS.items() if splits is None or split in splits for i in range(n)]

    def split_order(self, suite):
        return list(SPLITS)

    def environment(self, config, refusal_judge=None):
        return CorridorEnvironment(config.max_turns)

    def oracle_answer(self, row, rng):
        return "<answer>R</answer>" if row["metadata"]["position"] < row["answer"]["exit"] else "<answer>L</answer>"

    def random_answer(self, row, rng):
        return f"<answer>{rng.choice('LR')}</answer>"


TASK = Corridor()
