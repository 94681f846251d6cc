"""Dip-and-recovery summaries of a metric over a training run (the reasoning-SFT paper's central curve).

Given a metric at the base model (step 0) and at every checkpoint, report where it bottoms out, by how much it
dipped below the base, where it ends, and whether it came back. A run whose last checkpoint is still below its
minimum-plus-noise reads as "still in the dip": a short run would have been misread as "SFT does not transfer".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DipRecovery:
    """One curve's summary; `dip` and `change` are in the metric's units (positive dip = fell below base)."""

    base: float
    minimum: float
    min_step: int
    final: float
    final_step: int
    dip: float
    change: float
    dipped: bool
    recovered: bool

    @property
    def verdict(self) -> str:
        """A short reading: "no dip", "dip, recovered", "dip, not recovered"."""
        if not self.dipped:
            return "no dip"
        return "dip, recovered" if self.recovered else "dip, not recovered"


def dip_and_recovery(points: list[tuple[int, float]], tolerance: float = 0.0) -> DipRecovery:
    """Summarise (step, value) points; the point at the smallest step is the base (normally step 0).

    `dipped`: some later checkpoint is more than `tolerance` below the base. `recovered`: it dipped and the final
    checkpoint is back within `tolerance` of the base or above it.
    """
    if len(points) < 2:
        raise ValueError("a dip-and-recovery summary needs the base and at least one checkpoint")
    points = sorted(points)
    (_, base), later = points[0], points[1:]
    min_step, minimum = min(later, key=lambda p: (p[1], p[0]))
    final_step, final = later[-1]
    dipped = minimum < base - tolerance
    return DipRecovery(
        base=base, minimum=minimum, min_step=min_step, final=final, final_step=final_step,
        dip=base - minimum, change=final - base, dipped=dipped, recovered=dipped and final >= base - tolerance,
    )
