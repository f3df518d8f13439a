"""Statistics of the logits Z(x) for Section VIII.A's size claim.

The paper reports "the mean value of the L1 norm of Z(.)": 5.8 +- 6.4 undistilled and
482 +- 457 distilled at T=100. The phrase has two readings, so both are computed:

* ``l1_norm``: the L1 norm of each logit vector, sum_i |Z(x)_i|, one value per image;
* ``abs_component``: the absolute value of each logit, |Z(x)_i|, ten values per image.

``closer_reading`` says which of the two matches a reported (mean, std) better.
"""

from __future__ import annotations

from typing import Any

import numpy as np

READINGS = ("l1_norm", "abs_component")


def logit_statistics(logits: np.ndarray) -> dict[str, float]:
    """Mean and (population) std of both readings. logits: (N, K) raw Z(x), any float.

    Keys: ``l1_norm_mean``, ``l1_norm_std``, ``abs_component_mean``, ``abs_component_std``,
    and ``n`` (number of vectors).
    """
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 2 or len(z) == 0:
        raise ValueError(f"logits must be a non-empty (N, K) array, got shape {z.shape}")
    norms = np.abs(z).sum(axis=1)  # (N,)
    comps = np.abs(z).ravel()  # (N * K,)
    return {
        "n": len(z),
        "l1_norm_mean": float(norms.mean()),
        "l1_norm_std": float(norms.std()),
        "abs_component_mean": float(comps.mean()),
        "abs_component_std": float(comps.std()),
    }


def relative_error(value: float, reference: float) -> float:
    """|value - reference| / |reference|."""
    if reference == 0:
        raise ValueError("reference value must be non-zero")
    return abs(value - reference) / abs(reference)


def closer_reading(
    stats: dict[str, float], reference_mean: float, reference_std: float
) -> dict[str, Any]:
    """Which reading of "mean L1 norm" matches the paper's (mean, std) better.

    A reading's error is the mean of the relative errors of its mean and its std.
    Returns ``{"closer": name, "<reading>": {"mean_rel_error", "std_rel_error", "error"}}``.
    """
    out: dict[str, Any] = {}
    for reading in READINGS:
        mean_err = relative_error(stats[f"{reading}_mean"], reference_mean)
        std_err = relative_error(stats[f"{reading}_std"], reference_std)
        out[reading] = {
            "mean_rel_error": mean_err,
            "std_rel_error": std_err,
            "error": (mean_err + std_err) / 2,
        }
    out["closer"] = min(READINGS, key=lambda r: out[r]["error"])
    return out
