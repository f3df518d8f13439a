"""Security curves from the stored attack results (no new compute): for each dataset, network
and attack, the fraction of (image, target) pairs broken within distance d, against d.

A point estimate of one distance (Tables IV and VI) hides how the attacks compare at every
budget; the curve shows it, and the standard and distilled networks side by side show where
distillation's apparent robustness is the attack's failure (a flat curve at 0) rather than a
larger distance (a curve shifted right). Each attack is drawn in its own metric; a failed pair
is broken at no distance.

One long row per (dataset, network, attack, distance), CURVE_COLUMNS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from cw_distillation.attacks.result import AttackResult

CURVE_COLUMNS = ["dataset", "network", "attack", "metric", "distance", "broken", "pairs"]
POINTS = 41  # distances per curve: 0, then 40 log-spaced ones over its panel's successful distances


def grid(smallest: float, largest: float, points: int = POINTS) -> np.ndarray:
    """0, then ``points`` - 1 distances evenly spaced on a log scale from ``smallest`` to ``largest``
    (one point at 0 when nothing succeeded). Log-spaced because a panel's distances span orders of
    magnitude: C&W L2 breaks MNIST pairs near 1, an earlier attack on a distilled network succeeds at
    30 or not at all; an even grid up to 30 would put C&W's whole curve in its first two steps."""
    if largest <= 0:
        return np.zeros(1)
    return np.concatenate([[0.0], np.geomspace(smallest, largest, points - 1)])


def broken_within(result: AttackResult, metric: str, distances: np.ndarray) -> np.ndarray:
    """(len(distances),) fraction of the result's pairs that succeeded within each distance."""
    d = np.where(np.asarray(result.success, bool), getattr(result, metric).astype(np.float64), np.inf)
    return (d[None, :] <= distances[:, None]).mean(axis=1) if len(d) else np.zeros(len(distances))


def curve_rows(results: Mapping[tuple[str, str, str], AttackResult], metrics: Mapping[str, str],
               points: int = POINTS) -> list[dict[str, Any]]:
    """Every curve. results: (dataset, network, attack) -> result; metrics: attack -> its metric.
    The curves of one (dataset, metric) panel share their distances, from the smallest to the
    largest successful distance any of them reached."""
    reached: dict[tuple[str, str], list[np.ndarray]] = {}
    for (dataset, _, attack), r in results.items():
        ok = getattr(r, metrics[attack])[np.asarray(r.success, bool)].astype(np.float64)
        reached.setdefault((dataset, metrics[attack]), []).append(ok[ok > 0])
    span = {key: (float(np.min(d)), float(np.max(d))) if len(d := np.concatenate(parts)) else (0.0, 0.0)
            for key, parts in reached.items()}
    rows = []
    for (dataset, network, attack), r in sorted(results.items()):
        metric = metrics[attack]
        distances = grid(*span[(dataset, metric)], points)
        for d, f in zip(distances, broken_within(r, metric, distances), strict=True):
            rows.append({"dataset": dataset, "network": network, "attack": attack, "metric": metric,
                         "distance": float(d), "broken": float(f), "pairs": len(r.success)})
    return rows
