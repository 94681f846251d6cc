"""Instruction text shown to the model: one module per task (`sokoban`, ...) plus the diversity pools.

Modules here turn a task instance into the *user message content*; the tokenizer's chat template wraps it.
"""
