"""sftlab: controlled experiments on when supervised fine-tuning generalizes, and how it compares with RL."""

__version__ = "0.1.0"
