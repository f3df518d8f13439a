"""95% intervals for the report's statistics: exact binomial for rates, bootstrap over images for the rest.

Every verdict compares one of these intervals with a band (``outputs.judge``), so the interval,
not the point estimate, decides. Images are the unit of resampling: an image's targets share
its difficulty, so resampling pairs would understate the noise. A statistic that cannot be
computed (no image, one image, no success) returns None and says why, never a number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

LEVEL = 0.95
N_RESAMPLES = 2000


@dataclass(frozen=True)
class Estimate:
    """A point value with its interval [lo, hi]; value is None when it cannot be computed (``why`` says why)."""

    value: float | None
    lo: float | None = None
    hi: float | None = None
    n: int = 0
    why: str = ""
    unit: str = "images"  # what n counts: images (bootstrap), pairs or test images (binomial)

    @property
    def ok(self) -> bool:
        return self.value is not None and self.lo is not None and self.hi is not None

    def bounds(self) -> tuple[float, float, float] | None:
        """(value, lo, hi) when the estimate is ok, else None."""
        if self.value is None or self.lo is None or self.hi is None:
            return None
        return self.value, self.lo, self.hi


def missing(why: str, n: int = 0) -> Estimate:
    return Estimate(None, None, None, n, why)


def rate(k: int, n: int, unit: str = "pairs") -> Estimate:
    """k successes of n trials with the exact (Clopper-Pearson) interval: it never undercovers,
    which matters at 0% and 100%, where most of our rates sit."""
    k, n = int(k), int(n)
    if n == 0:
        return missing(f"no {unit}")
    ci = stats.binomtest(k, n).proportion_ci(LEVEL, method="exact")
    return Estimate(k / n, float(ci.low), float(ci.high), n, unit=unit)


def over_images(n: int, statistic: Callable[[np.ndarray], float], seed: int = 0) -> Estimate:
    """statistic(indices) on all n images, with a percentile bootstrap interval over images.

    statistic: takes an int array of image positions (with repeats in a resample) and returns
    a float (NaN where undefined on that resample). Resampling the same positions for every
    quantity the statistic reads is what makes a paired comparison paired.
    """
    if n == 0:
        return missing("no image")
    value = float(statistic(np.arange(n)))
    if not np.isfinite(value):
        return missing("not defined on these images", n)
    if n < 2:
        return missing("one image: no interval over images", n)
    res = stats.bootstrap(
        (np.arange(n),),
        lambda idx: statistic(idx.astype(int)),
        n_resamples=N_RESAMPLES,
        confidence_level=LEVEL,
        method="percentile",
        vectorized=False,
        rng=np.random.default_rng(seed),
    )
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return missing("the bootstrap interval is undefined (too few images)", n)
    return Estimate(value, lo, hi, n)


def mean(values: np.ndarray, seed: int = 0) -> Estimate:
    """The mean of per-image values (NaN entries dropped) with its bootstrap interval over images."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    return over_images(len(v), lambda idx: float(v[idx].mean()), seed)


def difference(a: Estimate, b: Estimate) -> Estimate:
    """a - b of two independent estimates, interval [a.lo - b.hi, a.hi - b.lo]: conservative
    (its coverage is at least that of each), for trends judged from two rates."""
    ta, tb = a.bounds(), b.bounds()
    if ta is None or tb is None:
        return missing(a.why or b.why or "a term is missing")
    (av, alo, ahi), (bv, blo, bhi) = ta, tb
    return Estimate(av - bv, alo - bhi, ahi - blo, min(a.n, b.n), unit=a.unit)


def quotient(a: Estimate, b: Estimate) -> Estimate:
    """a / b of two independent positive estimates, interval [a.lo / b.hi, a.hi / b.lo] (conservative)."""
    ta, tb = a.bounds(), b.bounds()
    if ta is None or tb is None or tb[1] <= 0:
        return missing(a.why or b.why or "the denominator's interval reaches 0")
    (av, alo, ahi), (bv, blo, bhi) = ta, tb
    return Estimate(av / bv, alo / bhi, ahi / blo, min(a.n, b.n), unit=a.unit)
