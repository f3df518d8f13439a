"""FMN against C&W, pair by pair: where does a 100-step minimum-norm attack reach the distances
C&W finds in up to 9 x 10,000 steps, and where not? (Issue 35, item 5.)

FMN (attacks/fmn.py, its paper's defaults) attacks exactly the (image, target) pairs of a stored
C&W result, in the same norm, on the same network; the comparison is per pair: both succeed,
the ratio of FMN's distance to C&W's, how often FMN is within 5% of C&W or below it, and what
each spent (gradient steps and seconds per pair).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from cw_distillation.attacks.result import AttackResult

CLOSE = 1.05  # "reaches C&W's distance": within 5% of it (L0: also within one pixel)


def fmn_on_pairs(model, x_test: np.ndarray, stored: AttackResult, norm: Literal["l2", "linf", "l0"], steps: int,
                 batch_size: int) -> AttackResult:
    """FMN, targeted, on the pairs of ``stored`` (its images, targets and labels)."""
    from cw_distillation.attacks import fmn

    x = x_test[stored.image_index]
    return fmn.attack(model, x, stored.target, norm=norm, label=stored.label, image_index=stored.image_index,
                      steps=steps, batch_size=batch_size)


def compare(cw: AttackResult, fmn: AttackResult, norm: str) -> dict[str, Any]:
    """One table row: FMN against C&W on the same pairs, in ``norm``."""
    if not (np.array_equal(cw.image_index, fmn.image_index) and np.array_equal(cw.target, fmn.target)):
        raise ValueError("the FMN result is not on the C&W result's pairs (image_index or target differ)")
    both = cw.success & fmn.success
    a, b = getattr(cw, norm)[both].astype(np.float64), getattr(fmn, norm)[both].astype(np.float64)
    slack = 1.0 if norm == "l0" else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(a > 0, b / a, np.where(b > 0, np.inf, 1.0))
    q = (lambda p: float(np.percentile(ratio, p))) if len(ratio) else (lambda p: float("nan"))
    return {
        "pairs": len(cw.success),
        "cw_success": float(cw.success.mean()),
        "fmn_success": float(fmn.success.mean()),
        "both": int(both.sum()),
        "ratio_median": q(50),
        "ratio_q25": q(25),
        "ratio_q75": q(75),
        "fmn_within_5pct": float(np.mean(b <= CLOSE * a + slack)) if len(a) else float("nan"),
        "fmn_below": float(np.mean(b < a)) if len(a) else float("nan"),
        "cw_steps": float(np.mean(cw.iterations)),
        "fmn_steps": float(np.mean(fmn.iterations)),
        "cw_seconds": float(np.mean(cw.seconds)),
        "fmn_seconds": float(np.mean(fmn.seconds)),
    }
