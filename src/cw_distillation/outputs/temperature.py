"""Rows of Section VIII.C: the distillation temperature against JSMA and against our L2 attack (Fig. 8).

The paper's claim: raising T makes JSMA fail more often (the original distillation paper:
91% at T = 1, 24% at T = 5, 0.5% at T = 100 on MNIST), yet the mean distance of our L2 attack
to a random target is uncorrelated with T (rho = -0.05). So a row per T carries the JSMA
success rate, the L2 average-case mean distance and the network's accuracy; ``correlation``
gives the Pearson coefficient beside the paper's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cw_distillation.reference import lookup
from cw_distillation.transfer import binomial_interval

TEMPERATURE_COLUMNS = [
    "dataset",
    "temperature",
    "test_accuracy",
    "jsma_pairs",
    "jsma_success",
    "jsma_success_lo",
    "jsma_success_hi",
    "paper_jsma_success",
    "l2_images",
    "l2_mean",
    "l2_success",
]
CORRELATION_COLUMNS = ["dataset", "quantity", "n_temperatures", "rho", "rho_log_t", "paper_rho"]


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    """Pearson's correlation coefficient of x and y; NaN when it is undefined.

    Pairs where either value is NaN are dropped first (a temperature whose attack never
    succeeded has no mean distance); fewer than 2 pairs left, or a constant x or y, give NaN
    rather than a warning and a meaningless number.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    assert x.shape == y.shape and x.ndim == 1, (x.shape, y.shape)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    if len(x) < 2 or np.all(x == x[0]) or np.all(y == y[0]):
        return float("nan")
    dx, dy = x - x.mean(), y - y.mean()
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
      "jsma": (N,) bool, JSMA's success per (image, target) pair (``AttackResult.success``);
      "l2": ``evaluate.best_average_worst`` of our L2 attack; its ["l2"]["average"] case
        (one random target per image) is Fig. 8's "mean distance ... with random target".
    Any of the last three may be None (not run); its cells are then None.
    """
    rows = []
    for entry in sorted(sweep, key=lambda e: float(e["temperature"])):
        t = float(entry["temperature"])
        row: dict[str, Any] = {"dataset": dataset, "temperature": t, "test_accuracy": entry.get("test_accuracy")}
        jsma = entry.get("jsma")
        if jsma is not None:
            ok = np.asarray(jsma, dtype=bool)
            lo, hi = binomial_interval(int(ok.sum()), len(ok))
            row |= {
                "jsma_pairs": len(ok),
                "jsma_success": float(ok.mean()) if len(ok) else float("nan"),
                "jsma_success_lo": lo,
                "jsma_success_hi": hi,
            }
        row["paper_jsma_success"] = paper_jsma_success(t, dataset)
        l2 = entry.get("l2")
        if l2 is not None:
            average = l2["l2"]["average"]
            row |= {"l2_images": average["n_images"], "l2_mean": average["mean"], "l2_success": average["prob"]}
        rows.append({c: row.get(c) for c in TEMPERATURE_COLUMNS})
    return rows


def correlation(rows: Sequence[Mapping[str, Any]], quantity: str = "l2_mean") -> dict[str, Any]:
    """Pearson's rho of T against a column of ``temperature_rows`` (default Fig. 8's mean L2 distance).

    rho is on T itself (the paper's Fig. 8 has a linear T axis); rho_log_t on log T, since a
    sweep like 1, 2, 5, 10, ..., 100 crowds its points at small T. paper_rho only for l2_mean.
    """
    t = np.array([r["temperature"] for r in rows], dtype=np.float64)
    v = np.array([np.nan if r.get(quantity) is None else r[quantity] for r in rows], dtype=np.float64)
    return {
        "dataset": rows[0]["dataset"] if rows else None,
        "quantity": quantity,
        "n_temperatures": int(np.sum(~np.isnan(v))),
        "rho": pearson(t, v),
        "rho_log_t": pearson(np.log(t), v),
        "paper_rho": lookup("temperature_effect.l2_mean_distance_vs_T_correlation") if quantity == "l2_mean" else None,
    }
