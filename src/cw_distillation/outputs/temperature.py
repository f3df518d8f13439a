"""Rows of Section VIII.C: the distillation temperature against JSMA and against our L2 attack (Fig. 8).

The paper's claim: raising T makes JSMA fail more often (the original distillation paper:
91% at T = 1, 24% at T = 5, 0.5% at T = 100 on MNIST), yet the mean distance of our L2 attack
to a random target is uncorrelated with T (rho = -0.05). The paper does not say which JSMA it
reran, so a row per T carries the success rates of both (JSMA-F on the softmax, JSMA-Z on the
logits), the L2 average-case mean distance and the network's accuracy; ``correlation`` gives
the Pearson coefficient beside the paper's, with a bootstrap interval over the attacked images.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from cw_distillation.evaluate import binomial_interval
from cw_distillation.reference import lookup

TEMPERATURE_COLUMNS = [
    "dataset",
    "temperature",
    "test_accuracy",
    *(f"{v}_{field}" for v in ("jsma_f", "jsma_z") for field in ("pairs", "success", "success_lo", "success_hi")),
    "paper_jsma_success",
    "l2_images",
    "l2_mean",
    "l2_mean_lo",
    "l2_mean_hi",
    "l2_success",
]
JSMA_VARIANTS = ("jsma_f", "jsma_z")
EFFECT_COLUMNS = ["ratio_t", "ratio", "ratio_lo", "ratio_hi", "ratio_images",
                  "slope", "slope_lo", "slope_hi", "slope_images"]
CORRELATION_COLUMNS = ["dataset", "quantity", "n_temperatures", "rho", "rho_lo", "rho_hi", "rho_log_t", "paper_rho",
                       *EFFECT_COLUMNS]


def pearson(x: ArrayLike, y: ArrayLike) -> float:
    """Pearson's correlation coefficient of x and y; NaN when it is undefined.

    Pairs where either value is NaN are dropped first (a temperature whose attack never
    succeeded has no mean distance); fewer than 2 pairs left, or a constant x or y, give NaN
    rather than a warning and a meaningless number.
    """
    xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    assert xs.shape == ys.shape and xs.ndim == 1, (xs.shape, ys.shape)
    keep = ~(np.isnan(xs) | np.isnan(ys))
    xs, ys = xs[keep], ys[keep]
    if len(xs) < 2 or np.all(xs == xs[0]) or np.all(ys == ys[0]):
        return float("nan")
    dx, dy = xs - xs.mean(), ys - ys.mean()
    denom = math.sqrt(float(dx @ dx) * float(dy @ dy))
    return float(np.clip((dx @ dy) / denom, -1.0, 1.0))


def paper_jsma_success(temperature: float, dataset: str = "mnist") -> float | None:
    """The original distillation paper's JSMA success rate at this T (MNIST, T in {1, 5, 100}), else None."""
    if dataset != "mnist":
        return None
    table = lookup("temperature_effect.jsma_success_rate_mnist")
    return table.get(f"T{temperature:g}")


def temperature_rows(sweep: Sequence[Mapping[str, Any]], dataset: str = "mnist") -> list[dict[str, Any]]:
    """One row per temperature (ascending), keys TEMPERATURE_COLUMNS.

    sweep: one dict per network distilled at temperature T, with
      "temperature": float T;
      "test_accuracy": float, the distilled network's accuracy at T = 1;
      "jsma_f", "jsma_z": (N,) bool, that JSMA's success per (image, target) pair
        (``AttackResult.success``);
      "l2": ``evaluate.best_average_worst`` of our L2 attack; its ["l2"]["average"] case
        (one random target per image) is Fig. 8's "mean distance ... with random target";
      "l2_interval": optional (lo, hi), its 95% bootstrap interval over images (``evaluate.precision``).
    Any of the last four may be None (not run); its cells are then None.
    """
    rows = []
    for entry in sorted(sweep, key=lambda e: float(e["temperature"])):
        t = float(entry["temperature"])
        row: dict[str, Any] = {"dataset": dataset, "temperature": t, "test_accuracy": entry.get("test_accuracy")}
        for variant in JSMA_VARIANTS:
            if entry.get(variant) is None:
                continue
            ok = np.asarray(entry[variant], dtype=bool)
            lo, hi = binomial_interval(int(ok.sum()), len(ok))
            row |= {
                f"{variant}_pairs": len(ok),
                f"{variant}_success": float(ok.mean()) if len(ok) else float("nan"),
                f"{variant}_success_lo": lo,
                f"{variant}_success_hi": hi,
            }
        row["paper_jsma_success"] = paper_jsma_success(t, dataset)
        l2 = entry.get("l2")
        if l2 is not None:
            average = l2["l2"]["average"]
            row |= {"l2_images": average["n_images"], "l2_mean": average["mean"], "l2_success": average["prob"]}
        if entry.get("l2_interval") is not None:
            row["l2_mean_lo"], row["l2_mean_hi"] = entry["l2_interval"]
        rows.append({c: row.get(c) for c in TEMPERATURE_COLUMNS})
    return rows


def rho_interval(
    temperatures: Sequence[float] | np.ndarray,
    samples: Sequence[Sequence[float]],
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of Pearson's rho between T and the mean of each T's samples.

    samples[i]: the per-image values at temperatures[i] (for Fig. 8, the L2 distance of each
    image's successful random-target attack). Each resample redraws every temperature's images
    with replacement, independently, and recomputes the means and rho: the interval says how
    much of rho is the sampling noise of 50 images per network rather than an effect of T.
    NaN, NaN when fewer than 3 temperatures have samples.
    """
    rng = np.random.default_rng(seed)
    kept = [(float(t), np.asarray(s, np.float64)) for t, s in zip(temperatures, samples, strict=True) if len(s)]
    if len(kept) < 3:
        return float("nan"), float("nan")
    t = np.array([k[0] for k in kept])
    means = np.stack([s[rng.integers(0, len(s), size=(n_boot, len(s)))].mean(1) for _, s in kept], axis=1)
    rhos = np.array([pearson(t, m) for m in means])
    rhos = rhos[~np.isnan(rhos)]
    if not len(rhos):
        return float("nan"), float("nan")
    tail = 100 * (1 - level) / 2
    return float(np.percentile(rhos, tail)), float(np.percentile(rhos, 100 - tail))


def correlation(
    rows: Sequence[Mapping[str, Any]],
    quantity: str = "l2_mean",
    samples: Sequence[Sequence[float]] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Pearson's rho of T against a column of ``temperature_rows`` (default Fig. 8's mean L2 distance).

    rho is on T itself (the paper's Fig. 8 has a linear T axis); rho_log_t on log T, since a
    sweep like 1, 2, 5, 10, ..., 100 crowds its points at small T. paper_rho only for l2_mean.
    samples: per row, the values whose mean is ``quantity``; given, rho_lo / rho_hi are the 95%
    bootstrap interval of ``rho_interval`` (seeded), else None.
    """
    t = np.array([r["temperature"] for r in rows], dtype=np.float64)
    v = np.array([np.nan if r.get(quantity) is None else r[quantity] for r in rows], dtype=np.float64)
    lo, hi = rho_interval(t, samples, seed=seed) if samples is not None else (None, None)
    return {
        "dataset": rows[0]["dataset"] if rows else None,
        "quantity": quantity,
        "n_temperatures": int(np.sum(~np.isnan(v))),
        "rho": pearson(t, v),
        "rho_lo": lo,
        "rho_hi": hi,
        "rho_log_t": pearson(np.log(t), v),
        "paper_rho": lookup("temperature_effect.l2_mean_distance_vs_T_correlation") if quantity == "l2_mean" else None,
    }


def effect_sizes(results: Sequence[tuple[float, Any]], bound: float = math.inf, seed: int = 0) -> dict[str, Any]:
    """Fig. 8's claim as sizes, keys EFFECT_COLUMNS: how much the L2 distance changes with T.

    results: (T, ``AttackResult`` of the L2 attack on the network distilled at T), any order; the
    sweep attacks the same images with the same target at every T, so pairs match by
    (image_index, target). ratio: mean distance at the highest T over that at the lowest, on the
    pairs solved at both (paired bootstrap over images). slope: least-squares slope of the mean
    distance against log10 T, divided by the mean distance, on the pairs solved at every T (the
    same images resampled at every T): the relative change per tenfold T. Both None with fewer
    than 2 temperatures or no pair solved throughout.
    """
    from cw_distillation import intervals
    from cw_distillation.outputs.attack_statistics import bounded_success, paired_ratio

    runs = sorted(results, key=lambda r: float(r[0]))
    out: dict[str, Any] = dict.fromkeys(EFFECT_COLUMNS)
    if len(runs) < 2:
        return out
    (t_lo, low), (t_hi, high) = runs[0], runs[-1]
    ratio = paired_ratio(high, low, "l2", bound, seed)
    out |= {"ratio_t": f"T = {t_hi:g} / T = {t_lo:g}", "ratio": ratio.value, "ratio_lo": ratio.lo,
            "ratio_hi": ratio.hi, "ratio_images": ratio.n}
    solved = []
    for _, r in runs:
        ok = bounded_success(r, "l2", bound)
        solved.append({(int(i), int(t)): float(d) for i, t, d, s in zip(r.image_index, r.target, r.l2, ok, strict=True)
                       if s})
    common = sorted(set.intersection(*(set(s) for s in solved)))
    if not common:
        return out
    dist = np.array([[s[key] for s in solved] for key in common])  # (pairs, temperatures)
    log_t = np.log10([float(t) for t, _ in runs])

    def slope(idx: np.ndarray) -> float:
        m = dist[idx].mean(axis=0)
        return float(np.polyfit(log_t, m, 1)[0] / m.mean())

    est = intervals.over_images(len(common), slope, seed)  # one pair per image: pairs are images
    out |= {"slope": est.value, "slope_lo": est.lo, "slope_hi": est.hi, "slope_images": est.n}
    return out
