"""Every figure of the replication, one function per figure, each from plain data to ``base.pdf`` + ``base.png``.

The functions take rows / arrays (never results files or models), so a figure rule reads
its inputs, calls one function here, and imports neither TensorFlow nor Snakemake. Where the
paper gives a number, it is drawn in REFERENCE_STYLE (grey, dashed or open markers) beside ours.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import patheffects
from matplotlib.patches import Patch, Rectangle

from cw_distillation.outputs.figures import PALETTE, REFERENCE_STYLE, STYLE, new_figure, save_figure
from cw_distillation.reference import lookup

L2_LABEL = "mean L2 distance (inputs in [-0.5, 0.5])"
TEMPERATURE_LABEL = "distillation temperature T"
KAPPA_LABEL = "κ, confidence of the L2 attack (logit margin)"
TRANSFER_LABEL = "probability the example transfers"
OURS, SECOND, FAILED = PALETTE[0], PALETTE[1], PALETTE[1]
REFERENCE_MARKER = {"color": REFERENCE_STYLE["color"], "marker": "s", "markerfacecolor": "none", "linestyle": "none"}


def fig8_distance_vs_temperature(
    temps: Sequence[float],
    mean_l2: Sequence[float],
    rho: float,
    base: str | Path,
    dataset: str = "mnist",
    rho_interval: tuple[float, float] | None = None,
) -> list[Path]:
    """Fig. 8: mean L2 distance to a random-target adversarial example against T, rho in the title.

    temps, mean_l2: (M,) one point per distilled network (``temperature_rows``' l2_mean);
    rho: Pearson's coefficient of the two (``temperature.correlation``), rho_interval its
    bootstrap interval (shown when given and finite). The paper's rho
    (MNIST) goes beside ours in the title, and its Table VI average case at T = 100 is drawn
    as a reference point: the same quantity on the main distilled network.
    """
    temps, mean_l2 = np.asarray(temps, dtype=float), np.asarray(mean_l2, dtype=float)
    with plt.rc_context(STYLE):
        fig, ax = new_figure()
        order = np.argsort(temps)
        ax.plot(temps[order], mean_l2[order], "o-", color=OURS, label="ours: C&W L2, random target")
        ax.plot(
            [100],
            [lookup(f"table_vi_distilled.{dataset}.l2.average")],
            **REFERENCE_MARKER,
            markersize=8,
            label="paper, Table VI (T = 100, average case)",
        )
        points = int(np.sum(np.isfinite(mean_l2)))
        if points < 3:  # two points always give rho = +-1: say so rather than print it
            title = f"{_dataset_name(dataset)}: ρ not meaningful with {points} temperatures"
        else:
            title = f"{_dataset_name(dataset)}: ρ = {rho:.2f}"
        if points >= 3 and rho_interval is not None and all(v is not None and np.isfinite(v) for v in rho_interval):
            title += f" (95% CI {rho_interval[0]:.2f} to {rho_interval[1]:.2f})"
        if dataset == "mnist":
            title += f" (paper: ρ = {lookup('temperature_effect.l2_mean_distance_vs_T_correlation'):.2f})"
        ax.set_title(title)
        _single_point_limits(ax, temps, log=False)
        ax.set_xlabel(TEMPERATURE_LABEL)
        ax.set_ylabel(L2_LABEL)
        top = np.nanmax(np.append(mean_l2, lookup(f"table_vi_distilled.{dataset}.l2.average")))
        ax.set_ylim(0, 1.3 * top if np.isfinite(top) and top > 0 else 1)
        ax.legend(loc="lower right")
        return save_figure(fig, base)


JSMA_LABELS = {"jsma_f": ("JSMA-F (softmax)", "o"), "jsma_z": ("JSMA-Z (logits)", "s")}


def jsma_success_vs_temperature(
    temps: Sequence[float],
    success: Mapping[str, Sequence[float]],
    base: str | Path,
    lo: Mapping[str, Sequence[float]] | None = None,
    hi: Mapping[str, Sequence[float]] | None = None,
    dataset: str = "mnist",
) -> list[Path]:
    """Each JSMA's success probability against T, with the original distillation paper's MNIST points.

    temps: (M,); success: {variant: (M,)} for variant "jsma_f" and/or "jsma_z"; lo, hi: the same
    keys, optional exact 95% intervals (``temperature_rows``' <variant>_success_lo / _hi), drawn
    as error bars. T on a log axis: the fall happens at small T.
    """
    temps = np.asarray(temps, dtype=float)
    order = np.argsort(temps)
    with plt.rc_context(STYLE):
        fig, ax = new_figure()
        for i, (variant, values) in enumerate(success.items()):
            rate = np.array([np.nan if v is None else v for v in values], dtype=float)
            yerr = None
            if lo is not None and hi is not None and variant in lo and variant in hi:
                low, high = (np.array([np.nan if v is None else v for v in b[variant]], float) for b in (lo, hi))
                yerr = np.nan_to_num(np.clip(np.vstack([rate - low, high - rate])[:, order], 0, None))
            label, marker = JSMA_LABELS.get(variant, (variant, "o"))
            ax.errorbar(
                temps[order],
                rate[order],
                yerr=yerr,
                fmt=f"{marker}-",
                color=PALETTE[i % len(PALETTE)],
                capsize=2,
                label=f"ours: {label}" + (" (95% exact interval)" if yerr is not None else ""),
            )
        if dataset == "mnist":
            paper = lookup("temperature_effect.jsma_success_rate_mnist")  # {"T1": 0.91, ...}
            t_paper = [float(k[1:]) for k in paper]
            ax.plot(
                t_paper,
                list(paper.values()),
                **REFERENCE_MARKER,
                markersize=8,
                label="original distillation paper (as quoted in VIII.C)",
            )
        ax.set_xscale("log")
        ax.set_xticks([1, 2, 5, 10, 20, 50, 100], labels=["1", "2", "5", "10", "20", "50", "100"])
        _single_point_limits(ax, temps, log=True)
        ax.set_xlabel(TEMPERATURE_LABEL + " (log scale)")
        ax.set_ylabel("JSMA success probability")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(f"{_dataset_name(dataset)}: JSMA against the distillation temperature")
        ax.legend(loc="best")
        return save_figure(fig, base)


def fig9_transfer_standard(rows: Sequence[Mapping[str, Any]], base: str | Path) -> list[Path]:
    """Fig. 9: transfer from one standard network to another, against kappa.

    rows: ``transfer.transfer_curve`` output (kappa, targeted, targeted_lo, targeted_hi,
    untargeted, untargeted_lo, untargeted_hi). The paper prints no numbers for Fig. 9.
    """
    return _transfer_figure(rows, base, "Transfer between two standard networks", reference=None)


def fig10_transfer_distilled(rows: Sequence[Mapping[str, Any]], base: str | Path) -> list[Path]:
    """Fig. 10: transfer from a standard network to the distilled (T = 100) network, against kappa.

    rows: as for Fig. 9. The paper's statement "transfer reaches ~100% by kappa ~ 40" is drawn
    as a reference point at (40, 1).
    """
    title = "Transfer from a standard to the distilled (T = 100) network"
    return _transfer_figure(rows, base, title, reference=(40, 1.0))


def _transfer_figure(
    rows: Sequence[Mapping[str, Any]], base: str | Path, title: str, reference: tuple[float, float] | None
) -> list[Path]:
    kappa = np.array([r["kappa"] for r in rows], dtype=float)
    n = np.array([np.nan if r.get("n") is None else r["n"] for r in rows], dtype=float)
    with plt.rc_context(STYLE):
        fig, ax = new_figure()
        handles = []
        for name, colour, marker in (("untargeted", SECOND, "s"), ("targeted", OURS, "o")):
            rate, lo, hi = (
                np.array([np.nan if r.get(k) is None else r[k] for r in rows], dtype=float)
                for k in (name, f"{name}_lo", f"{name}_hi")
            )
            ax.fill_between(kappa, lo, hi, color=colour, alpha=0.2, linewidth=0)
            (line,) = ax.plot(kappa, rate, marker=marker, markersize=4, color=colour, label=name)
            # each series' band in its own colour, so the swatch matches what it names
            handles += [line, Patch(color=colour, alpha=0.2, linewidth=0, label=f"{name}: 95% exact interval")]
        empty = n == 0
        if empty.any():  # a kappa the source attack never reached has no rate: mark it, do not drop it
            (miss,) = ax.plot(
                kappa[empty],
                np.zeros(int(empty.sum())),
                "x",
                color="#555555",
                markersize=7,
                linestyle="none",
                label="no source example at this κ",
            )
            handles.append(miss)
        for k, count in zip(kappa, n, strict=True):
            if np.isfinite(count):  # how many examples each point rests on
                ax.annotate(
                    f"n={int(count)}",
                    (k, 1.0),
                    xytext=(0, 6),
                    textcoords="offset points",
                    ha="center",
                    fontsize=6,
                    color="#555555",
                    annotation_clip=False,
                )
        if reference is not None:
            (ref,) = ax.plot(*reference, **REFERENCE_MARKER, markersize=9, label="paper: ≈100% by κ ≈ 40")
            handles.append(ref)
        _single_point_limits(ax, kappa, log=False)
        ax.set_xlabel(KAPPA_LABEL)
        ax.set_ylabel(TRANSFER_LABEL)
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(title, pad=14)
        ax.legend(handles=handles, loc="best", fontsize=6)
        return save_figure(fig, base)


def _single_point_limits(ax, x: np.ndarray, log: bool) -> None:
    """One distinct x (a sweep of one temperature, one kappa): give the axis a width around it."""
    finite = np.unique(x[np.isfinite(x)])
    if len(finite) == 1:
        v = float(finite[0])
        half = max(1.0, 0.5 * abs(v))
        ax.set_xlim(*((v / 2, v * 2) if log and v > 0 else (v - half, v + half)))


def adversarial_examples(images: Mapping[str, Any], base: str | Path, cell_inches: float = 0.62) -> list[Path]:
    """A grid like the paper's Figs. 1 and 2: one row per source image, one column per target class.

    images: {
      "originals": (S, H, W, C) float in [-0.5, 0.5] (C = 1: grayscale, C = 3: RGB);
      "adversarial": (S, K, H, W, C) float in [-0.5, 0.5], cell (s, t) attacked towards target t;
      "labels": (S,) int true class; "success": (S, K) bool;
      optional "class_names": K strings (CIFAR-10), default the digits 0..K-1;
      optional "title": what the grid shows (attack, network) }.
    The cell of an image's own class shows the original (the diagonal when the rows are one
    image per class in order); a failed cell shows what the attack returned, framed and crossed.
    """
    originals = np.asarray(images["originals"], dtype=float)
    adversarial = np.asarray(images["adversarial"], dtype=float)
    labels = np.asarray(images["labels"]).astype(int)
    success = np.asarray(images["success"], dtype=bool)
    n_img, n_cls = adversarial.shape[:2]
    assert originals.shape == (n_img, *adversarial.shape[2:]), (originals.shape, adversarial.shape)
    assert labels.shape == (n_img,) and success.shape == (n_img, n_cls), (labels.shape, success.shape)
    names = list(images.get("class_names") or [str(k) for k in range(n_cls)])
    label_inches = 0.35 + 0.065 * max(len(name) for name in names)  # room for the row labels
    figsize = (n_cls * cell_inches + label_inches, n_img * cell_inches + 0.7)
    with plt.rc_context(STYLE):
        fig, axes = new_figure(n_img, n_cls, figsize=figsize, squeeze=False)
        fig.get_layout_engine().set(w_pad=0.01, h_pad=0.01, wspace=0.02, hspace=0.02)
        for s in range(n_img):
            for t in range(n_cls):
                ax = axes[s, t]
                own = t == labels[s]
                _show(ax, originals[s] if own else adversarial[s, t])
                if not own and not success[s, t]:
                    _mark_failed(ax, *originals.shape[1:3])
                if s == 0:
                    ax.set_title(f"→ {names[t]}", fontsize=7, pad=2)
                if t == 0:
                    ax.set_ylabel(names[labels[s]], fontsize=7, rotation=0, ha="right", va="center")
        if images.get("title"):
            fig.suptitle(images["title"], fontsize=8)
        fig.supxlabel("target class (own class: the original image; orange × : attack failed)", fontsize=7)
        fig.supylabel("true class", fontsize=7)
        return save_figure(fig, base)


def _show(ax, image: np.ndarray) -> None:
    """Draw one (H, W, C) image in [-0.5, 0.5] on its true scale (no per-image contrast stretch)."""
    shown = np.clip(image + 0.5, 0.0, 1.0)
    if shown.shape[-1] == 1:
        ax.imshow(shown[..., 0], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(shown, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)


def _mark_failed(ax, height: int, width: int) -> None:
    """Frame the image itself (data coordinates, not the axes box, which may be wider) and cross it."""
    ax.add_patch(Rectangle((-0.5, -0.5), width, height, fill=False, edgecolor=FAILED, linewidth=2.5, clip_on=False))
    ax.text(
        0.5,
        0.5,
        "×",
        transform=ax.transAxes,
        ha="center",
        va="center",
        color=FAILED,
        fontsize=16,
        fontweight="bold",
        path_effects=[patheffects.withStroke(linewidth=3, foreground="white")],
    )


def _dataset_name(dataset: str) -> str:
    return {"mnist": "MNIST", "cifar10": "CIFAR-10"}.get(dataset, dataset)
