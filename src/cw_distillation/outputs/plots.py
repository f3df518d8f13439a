"""Every figure of the replication, one function per figure, each from plain data to ``base.pdf`` + ``base.png``.

The functions take rows / arrays (never results files or models), so a figure rule reads
its inputs, calls one function here, and imports neither TensorFlow nor Snakemake. Where the
paper gives a number, it is drawn in REFERENCE_STYLE (grey, dashed or open markers) beside ours.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import patheffects
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import NullFormatter

from cw_distillation.datasets import display
from cw_distillation.outputs.figures import PALETTE, REFERENCE_STYLE, STYLE, new_figure, save_figure
from cw_distillation.reference import lookup

L2_LABEL = "mean L2 distance (inputs in [-0.5, 0.5])"
TEMPERATURE_LABEL = "distillation temperature T"
KAPPA_LABEL = "κ, confidence of the L2 attack (logit margin)"
TRANSFER_LABEL = "probability the example transfers"
OURS, SECOND, FAILED = PALETTE[0], PALETTE[1], PALETTE[1]
REFERENCE_MARKER = {"color": REFERENCE_STYLE["color"], "marker": "s", "markerfacecolor": "none", "linestyle": "none"}


def fig8_distance_vs_temperature(
    temps: Sequence[float] | np.ndarray,
    mean_l2: Sequence[float | None] | np.ndarray,
    rho: float,
    base: str | Path,
    dataset: str = "mnist",
    rho_interval: tuple[float | None, float | None] | None = None,
    lo: Sequence[float | None] | None = None,
    hi: Sequence[float | None] | None = None,
) -> list[Path]:
    """Fig. 8: mean L2 distance to a random-target adversarial example against T, rho in the title.

    temps, mean_l2: (M,) one point per distilled network (``temperature_rows``' l2_mean);
    lo, hi: (M,) optional 95% bootstrap interval of each mean over its images (l2_mean_lo /
    _hi), drawn as error bars: whether the points differ is read against them. T on a log
    axis, so that a sweep like 1, 2, 5, ..., 100 does not crowd T <= 10 into a tenth of it.
    rho: Pearson's coefficient of the two (``temperature.correlation``), rho_interval its
    bootstrap interval (shown when given and finite). The paper's rho
    (MNIST) goes beside ours in the title, and its Table VI average case at T = 100 is drawn
    as a reference point: the same quantity on the main distilled network.
    """
    temps, mean_l2 = np.asarray(temps, dtype=float), _floats(mean_l2)
    order = np.argsort(temps)
    yerr = _error_bars(mean_l2, lo, hi)
    paper_l2 = lookup(f"table_vi_distilled.{dataset}.l2.average")
    with plt.rc_context(STYLE):
        fig, ax = new_figure()
        ax.errorbar(
            temps[order],
            mean_l2[order],
            yerr=None if yerr is None else yerr[:, order],
            fmt="o-",
            color=OURS,
            capsize=2,
            label="ours: C&W L2, random target" + ("" if yerr is None else " (95% bootstrap interval over images)"),
        )
        ax.plot([100], [paper_l2], **REFERENCE_MARKER, markersize=8, label="paper, Table VI (T = 100, average case)")
        ax.set_title(_fig8_title(dataset, rho, rho_interval, int(np.sum(np.isfinite(mean_l2)))))
        _log_temperature_axis(ax, temps)
        ax.set_ylabel(L2_LABEL)
        top = np.nanmax(np.concatenate([mean_l2, [paper_l2], _floats(hi) if hi is not None else []]))
        ax.set_ylim(0, 1.3 * top if np.isfinite(top) and top > 0 else 1)
        ax.legend(loc="lower right")
        return save_figure(fig, base)


def _floats(values: Iterable[float | None]) -> np.ndarray:
    """A table column as floats, an empty cell (None) as NaN."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _error_bars(
    value: np.ndarray, lo: Sequence[float | None] | None, hi: Sequence[float | None] | None
) -> np.ndarray | None:
    """(2, M) distances below and above each value for ``errorbar``; a missing bound draws no bar,
    and None where no bound is given at all (a table without the columns: no interval to claim)."""
    if lo is None or hi is None:
        return None
    low, high = _floats(lo), _floats(hi)
    if not (np.isfinite(low) & np.isfinite(high)).any():
        return None
    return np.nan_to_num(np.clip(np.vstack([value - low, high - value]), 0, None))


def _fig8_title(dataset: str, rho: float, interval: tuple[float | None, float | None] | None, points: int) -> str:
    if points < 3:  # two points always give rho = +-1: say so rather than print it
        title = f"{display(dataset)}: ρ not meaningful with {points} temperatures"
    else:
        title = f"{display(dataset)}: ρ = {rho:.2f}"
    if points >= 3 and interval is not None and all(v is not None and np.isfinite(v) for v in interval):
        title += f" (95% CI {interval[0]:.2f} to {interval[1]:.2f})"
    if dataset == "mnist":
        title += f" (paper: ρ = {lookup('temperature_effect.l2_mean_distance_vs_T_correlation'):.2f})"
    return title


def _log_temperature_axis(ax, temps: np.ndarray) -> None:
    """T on a log axis with plain tick labels (1, 2, 5, 10, ...): the sweeps are spaced geometrically."""
    ax.set_xscale("log")
    ax.set_xticks(TEMPERATURE_TICKS, labels=[f"{t:g}" for t in TEMPERATURE_TICKS])
    ax.xaxis.set_minor_formatter(NullFormatter())
    _single_point_limits(ax, temps, log=True)
    ax.set_xlabel(TEMPERATURE_LABEL + " (log scale)")


TEMPERATURE_TICKS = [1, 2, 5, 10, 20, 50, 100]


JSMA_LABELS = {"jsma_f": ("JSMA-F (softmax)", "o"), "jsma_z": ("JSMA-Z (logits)", "s")}


def jsma_success_vs_temperature(
    temps: Sequence[float] | np.ndarray,
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
        _log_temperature_axis(ax, temps)
        ax.set_ylabel("JSMA success probability")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(f"{display(dataset)}: JSMA against the distillation temperature")
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
    with plt.rc_context(STYLE):
        fig, ax = new_figure()
        handles = draw_transfer(ax, rows, reference)
        ax.set_title(title, pad=14)
        ax.legend(handles=handles, loc="best", fontsize=6)
        return save_figure(fig, base)


# Room above 1 and below 0 for a marker drawn at either: a rate of 100% stays whole inside the axes.
TRANSFER_YLIM = (-0.04, 1.06)


def draw_transfer(ax, rows: Sequence[Mapping[str, Any]], reference: tuple[float, float] | None) -> list:
    """Both transfer rates against kappa on ``ax``, with their bands; the legend's handles.

    A kappa where the source attack made no example has no rate: it is shaded over the whole
    height and labelled, never drawn as a point (a point at 0 would read as 0% transfer).
    """
    kappa = np.array([r["kappa"] for r in rows], dtype=float)
    n = _floats([r.get("n") for r in rows])
    handles = []
    for name, colour, marker in (("untargeted", SECOND, "s"), ("targeted", OURS, "o")):
        rate, lo, hi = (_floats([r.get(k) for r in rows]) for k in (name, f"{name}_lo", f"{name}_hi"))
        ax.fill_between(kappa, lo, hi, color=colour, alpha=0.2, linewidth=0)
        (line,) = ax.plot(kappa, rate, marker=marker, markersize=4, color=colour, label=name)
        # each series' band in its own colour, so the swatch matches what it names
        handles += [line, Patch(color=colour, alpha=0.2, linewidth=0, label=f"{name}: 95% exact interval")]
    if (n == 0).any():
        handles.append(_mark_no_examples(ax, kappa, kappa[n == 0]))
    for k, count in zip(kappa, n, strict=True):
        if np.isfinite(count):  # how many examples each point rests on, just above the axes
            ax.annotate(
                f"n={int(count)}",
                (k, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
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
    ax.set_ylim(*TRANSFER_YLIM)
    return handles


NO_EXAMPLES_LABEL = "no source example at this κ: no rate"


def _mark_no_examples(ax, kappa: np.ndarray, empty: np.ndarray) -> Patch:
    """Shade each empty kappa over the axes' whole height (a column, not a point) and label it."""
    spacing = np.diff(np.unique(kappa))
    half = 0.3 * (spacing.min() if len(spacing) else 2.0)
    style: dict[str, Any] = {"facecolor": "none", "edgecolor": "#999999", "hatch": "///", "linewidth": 0}
    for k in empty:
        ax.axvspan(k - half, k + half, **style)
        ax.text(
            k,
            0.5,
            "no example",
            transform=ax.get_xaxis_transform(),
            rotation=90,
            ha="center",
            va="center",
            fontsize=6,
            color="#555555",
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1},
        )
    return Patch(**style, label=NO_EXAMPLES_LABEL)


def _single_point_limits(ax, x: np.ndarray, log: bool) -> None:
    """One distinct x (a sweep of one temperature, one kappa): give the axis a width around it."""
    finite = np.unique(x[np.isfinite(x)])
    if len(finite) == 1:
        v = float(finite[0])
        half = max(1.0, 0.5 * abs(v))
        ax.set_xlim(*((v / 2, v * 2) if log and v > 0 else (v - half, v + half)))


def one_source_per_class(image_index: np.ndarray, label: np.ndarray, n_sources: int = 10) -> np.ndarray:
    """The source images of a grid like the paper's Figs. 1 and 2: one per class, as the paper shows.

    image_index, label: (P,) per attacked (image, target) pair, its test image and true class
    (``AttackResult``). Returns (S,) test-image indices: the first attacked image of each
    class, classes ascending, the first ``n_sources`` classes (S < n_sources when the attacked
    images cover fewer classes). The first images alone repeat classes (two ships of three on
    CIFAR-10), which shows the attack on fewer kinds of image.
    """
    image_index, label = np.asarray(image_index), np.asarray(label)
    assert image_index.shape == label.shape and image_index.ndim == 1, (image_index.shape, label.shape)
    assert n_sources >= 1, n_sources
    first: dict[int, int] = {}
    for pair in np.argsort(image_index, kind="stable"):  # ascending image: the first of each class wins
        first.setdefault(int(label[pair]), int(image_index[pair]))
    return np.array([first[c] for c in sorted(first)[:n_sources]], dtype=int)


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


def security_curves(rows: Sequence[Mapping[str, Any]], base: str | Path) -> list[Path]:
    """The fraction of pairs broken within distance d against d: one row of panels per dataset,
    one panel per metric, each attack in its colour, the standard network solid and the
    distilled one dashed (outputs/security_curves.py), on a log distance axis (the grid's)."""
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    metrics = [m for m in ("l0", "l2", "linf") if any(r["metric"] == m for r in rows)]
    fig, axes = new_figure(len(datasets), len(metrics), squeeze=False,
                           figsize=(3.4 * len(metrics), 2.8 * len(datasets)))
    attacks = list(dict.fromkeys(r["attack"] for r in rows))
    colours = {a: plt.get_cmap("tab20")(i % 20) for i, a in enumerate(attacks)}
    for i, dataset in enumerate(datasets):
        for j, metric in enumerate(metrics):
            ax = axes[i][j]
            for (attack, network) in dict.fromkeys((r["attack"], r["network"]) for r in rows
                                                   if r["dataset"] == dataset and r["metric"] == metric):
                curve = [r for r in rows if r["dataset"] == dataset and r["attack"] == attack
                         and r["network"] == network]
                curve = [r for r in curve if r["distance"] > 0]  # the log axis starts at the smallest distance
                ax.plot([r["distance"] for r in curve], [r["broken"] for r in curve],
                        color=colours[attack], linestyle="-" if network == "standard" else "--",
                        label=f"{attack} ({network})")
            ax.set_xscale("log")
            ax.set_ylim(-0.02, 1.02)
            ax.set_xlabel({"l0": "L0 (pixels)", "l2": "L2", "linf": "L∞"}[metric] + " distance d (log scale)")
            ax.set_ylabel("pairs broken within d")
            ax.set_title(f"{display(dataset)}, {metric}", fontsize="medium")
            ax.legend(fontsize="xx-small", loc="lower right")
    return save_figure(fig, base)
