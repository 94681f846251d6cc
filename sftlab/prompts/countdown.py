"""The Countdown user prompt, in the style of the Rethinking paper's training data.

The task sentence follows TinyZero's Countdown prompt ("Using the numbers [...], create an equation that equals
T ...") with the rule stated as "at most once" (the verifier's rule), and ends with the Rethinking paper's
instruction line "Please reason step by step, and put your final answer within \\boxed{}." on its own line.
"""

from __future__ import annotations

INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."


def user_prompt(numbers, target: int) -> str:
    """The user turn for a Countdown problem, e.g. for numbers (19, 36, 55, 7) and target 65."""
    nums = ", ".join(str(int(n)) for n in numbers)
    return (
        f"Using the numbers [{nums}], create an equation that equals {int(target)}. "
        "You can use basic arithmetic operations (+, -, *, /) and parentheses, "
        "and each number can be used at most once.\n"
        f"{INSTRUCTION}"
    )
