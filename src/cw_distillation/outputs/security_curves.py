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
POINTS = 41  # distances per curve: 0 and 40 steps up to the largest successful distance of its panel


def grid(largest: float, points: int = POINTS) -> np.ndarray:
    """0, ..., largest in ``points`` even steps (one point at 0 when nothing succeeded)."""
    return np.linspace(0.0, largest, points) if largest > 0 else np.zeros(1)


def broken_within(result: AttackResult, metric: str, distances: np.ndarray) -> np.ndarray:
    """(len(distances),) fraction of the result's pairs that succeeded within each distance."""
    d = np.where(np.asarray(result.success, bool), getattr(result, metric).astype(np.float64), np.inf)
    return (d[None, :] <= distances[:, None]).mean(axis=1) if len(d) else np.zeros(len(distances))


def curve_rows(results: Mapping[tuple[str, str, str], AttackResult], metrics: Mapping[str, str],
               points: int = POINTS) -> list[dict[str, Any]]:
    """Every curve. results: (dataset, network, attack) -> result; metrics: attack -> its metric.
    The curves of one (dataset, metric) panel share their distances, up to the largest successful
    distance any of them reached."""
    largest: dict[tuple[str, str], float] = {}
    for (dataset, _, attack), r in results.items():
        ok = getattr(r, metrics[attack])[np.asarray(r.success, bool)]
        key = (dataset, metrics[attack])
        largest[key] = max(largest.get(key, 0.0), float(np.max(ok)) if len(ok) else 0.0)
    rows = []
    for (dataset, network, attack), r in sorted(results.items()):
        metric = metrics[attack]
        distances = grid(largest[(dataset, metric)], points)
        for d, f in zip(distances, broken_within(r, metric, distances), strict=True):
            rows.append({"dataset": dataset, "network": network, "attack": attack, "metric": metric,
                         "distance": float(d), "broken": float(f), "pairs": len(r.success)})
    return rows
