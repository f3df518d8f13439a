"""The robustness curves figure (issue 35), from the rows of tables/robustness_curves.csv
(outputs/robustness_tables.py). Kept out of ``plots`` so that adding it left the committed figures'
recorded plotting code as it was (their provenance names plots.py's digest)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.lines import Line2D

from cw_distillation.datasets import display
from cw_distillation.outputs.figures import STYLE, new_figure, save_figure


def robustness_curves(rows: Sequence[Mapping[str, Any]], base: str | Path) -> list[Path]:
    """Robust accuracy against eps (outputs/robustness_tables.py's curve rows): one row of panels
    per dataset, one panel per norm, each method (attack and loss) in its colour, the standard
    network solid (circles) and the distilled one dashed (crosses); one legend below the panels.
    Earlier methods are drawn wider, so that a curve another one covers exactly (ce and ce_divT on
    the standard network, T = 1) still shows at its edges."""
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    norms = [n for n in ("linf", "l2") if any(r["norm"] == n for r in rows)]
    methods = list(dict.fromkeys(r["method"] for r in rows))
    networks = list(dict.fromkeys(r["network"] for r in rows))
    colours = {m: plt.get_cmap("tab10")(i % 10) for i, m in enumerate(methods)}
    widths = {m: 1.0 + 0.5 * (len(methods) - 1 - i) for i, m in enumerate(methods)}
    style = {n: ("-", "o") if n == "standard" else ("--", "x") for n in networks}
    with plt.rc_context(STYLE):
        fig, axes = new_figure(len(datasets), len(norms), squeeze=False,
                               figsize=(4.4 * len(norms), 3.2 * len(datasets) + 1.0))
        for i, dataset in enumerate(datasets):
            for j, norm in enumerate(norms):
                ax = axes[i][j]
                for method, network in dict.fromkeys((r["method"], r["network"]) for r in rows
                                                     if r["dataset"] == dataset and r["norm"] == norm):
                    curve = [r for r in rows if r["dataset"] == dataset and r["norm"] == norm
                             and r["method"] == method and r["network"] == network]
                    linestyle, marker = style[network]
                    ax.plot([r["eps"] for r in curve], [r["robust_accuracy"] for r in curve],
                            color=colours[method], linestyle=linestyle, marker=marker, markersize=2.5,
                            linewidth=widths[method])
                ax.set_ylim(-0.02, 1.02)
                name = "L∞" if norm == "linf" else "L2"
                ax.set_xlabel(f"{name} budget ε (inputs in [-0.5, 0.5])")
                ax.set_ylabel("robust accuracy")
                images = int(max((r["images"] for r in rows if r["dataset"] == dataset), default=0))
                ax.set_title(f"{display(dataset)}, {name}, {images} images", fontsize="medium")
        handles = [Line2D([], [], color=colours[m], linewidth=widths[m], label=m) for m in methods]
        handles += [Line2D([], [], color="black", linestyle=style[n][0], marker=style[n][1], markersize=3,  # type: ignore[arg-type]
                           label=n.replace("_", " ")) for n in networks]
        fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 5), fontsize="x-small")
        return save_figure(fig, base)
