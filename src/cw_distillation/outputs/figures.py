"""One figure style: vector PDF plus PNG, labelled axes, a colour-blind-safe palette.

PDF and PNG are written without creation dates, so the same data gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.rcsetup import cycler

from cw_distillation.files import atomic_path

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

# Okabe & Ito (2008): distinguishable with every common colour-vision deficiency.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
REFERENCE_STYLE = {"color": "#555555", "linestyle": "--", "linewidth": 1.2}

STYLE: dict[RcKeyType, Any] = {
    "figure.figsize": (5.0, 3.4),
    "figure.dpi": 150,
    "savefig.dpi": 200,
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": cycler(color=PALETTE),
    "pdf.fonttype": 42,
}


def new_figure(nrows: int = 1, ncols: int = 1, **kw):
    with plt.rc_context(STYLE):
        return plt.subplots(nrows, ncols, layout="constrained", **kw)


def save_figure(fig, base: str | Path) -> list[Path]:
    """Write ``base.pdf`` and ``base.png`` atomically; return their paths."""
    base = Path(base)
    paths = []
    with plt.rc_context(STYLE):
        for ext, metadata in (("pdf", {"CreationDate": None, "ModDate": None}), ("png", {"Software": None})):
            path = base.with_name(f"{base.name}.{ext}")
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format=ext, metadata=metadata)
            paths.append(path)
    plt.close(fig)
    return paths
