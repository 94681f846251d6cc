"""One look for every figure: the headless Agg backend, and one colour per condition across all figures.

Colours are assigned from the sorted list of run names of a report, so the same run has the same colour in
every figure of that report (and in every report over the same runs). The untrained model and the reference
policies have fixed neutral colours.
"""

from __future__ import annotations

import io

FIXED_COLORS = {"base": "#7f7f7f", "oracle": "#222222", "random": "#bcbcbc"}
# Colour-blind-friendly palette (Okabe-Ito without black/grey), then tab20 for many runs.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")


def use_agg():
    """Select matplotlib's headless Agg backend and return `matplotlib.pyplot`."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def color_map(runs) -> dict[str, str]:
    """A colour for each run name: fixed ones for base/oracle/random, the palette for the others in sorted order."""
    colors = {name: color for name, color in FIXED_COLORS.items() if name in runs}
    others = sorted(set(runs) - set(FIXED_COLORS))
    palette = list(PALETTE)
    if len(others) > len(palette):
        from matplotlib import colormaps
        from matplotlib.colors import to_hex

        tab20 = colormaps["tab20"]
        palette += [to_hex(tab20(i % 20)) for i in range(len(others) - len(palette))]
    colors.update({name: palette[i] for i, name in enumerate(others)})
    return colors


def figure_png(fig, dpi: int = 110) -> bytes:
    """PNG bytes of a figure (no timestamp or version in the metadata, so reruns give the same bytes); closes it."""
    plt = use_agg()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()
