"""Demonstrations: the assistant side of SFT rows.

- `answer_only`: the action or answer alone (Sokoban `<think></think> <answer> X </answer>`, the GP JSON, the
  Countdown summary + `\\boxed{}` of the no-CoT arm);
- `solver_cot`: an algorithmic scaffold written from the solver's state (Sokoban; GP via the search below);
- `search_cot`: Stream-of-Search traces with dead ends and backtracking (Countdown, GP), `dead_ends` knob;
- `corrupt`: the low-quality arms (unverified answers, corrupted steps, short justifications);
- `teacher`: rejection sampling from any model through `sftlab.backends`.
"""
