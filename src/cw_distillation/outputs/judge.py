"""A verdict from an interval and a band: the whole interval decides, never the point estimate alone."""

from __future__ import annotations

from cw_distillation.intervals import Estimate

HOLDS = "holds"
FAILS = "does not hold"
INCONCLUSIVE = "inconclusive at this scale"


def judge(est: Estimate, band: tuple[float, float]) -> tuple[str, str]:
    """(verdict, why): holds if [lo, hi] lies inside the band, does not hold if wholly outside it,
    inconclusive if it straddles an edge or cannot be computed. ``why`` is empty when it holds."""
    bounds = est.bounds()
    if bounds is None:
        return INCONCLUSIVE, f"statistic not computable: {est.why or 'no data'}"
    _, lo, hi = bounds
    low, high = band
    if low <= lo and hi <= high:
        return HOLDS, ""
    if hi < low:
        return FAILS, f"the whole interval {lo:.3g} to {hi:.3g} lies below {low:.3g}"
    if lo > high:
        return FAILS, f"the whole interval {lo:.3g} to {hi:.3g} lies above {high:.3g}"
    edge = low if lo < low else high
    return INCONCLUSIVE, (f"the interval {lo:.3g} to {hi:.3g} straddles the band's edge {edge:.3g} "
                          f"({est.n} {est.unit}): more would decide")


def combine(verdicts: list[str]) -> str:
    """One claim judged by several statistics: does not hold if any does not, holds if all hold."""
    if FAILS in verdicts:
        return FAILS
    if all(v == HOLDS for v in verdicts):
        return HOLDS
    return INCONCLUSIVE
