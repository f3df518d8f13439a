"""A verdict follows the whole 95% interval against the band, never the point estimate alone."""

import math

import numpy as np
import pytest

from cw_distillation import intervals
from cw_distillation.intervals import Estimate
from cw_distillation.outputs.judge import FAILS, HOLDS, INCONCLUSIVE, combine, judge


@pytest.mark.parametrize("lo, hi, expected", [(1.0, 1.5, HOLDS), (2.1, 2.6, FAILS), (1.9, 2.3, INCONCLUSIVE)])
def test_interval_inside_outside_or_across_the_band(lo, hi, expected):
    assert judge(Estimate((lo + hi) / 2, lo, hi, 50), (-math.inf, 2.0))[0] == expected


def test_a_point_inside_the_band_with_an_interval_across_its_edge_is_inconclusive_and_says_why():
    verdict, why = judge(Estimate(2.16, 2.04, 2.28, 50), (-math.inf, 2.2))
    assert verdict == INCONCLUSIVE and "2.2" in why and "50 images" in why


def test_a_statistic_that_cannot_be_computed_is_inconclusive_never_holds():
    verdict, why = judge(intervals.mean(np.array([1.3])), (0.0, 2.0))
    assert verdict == INCONCLUSIVE and "one image" in why


def test_no_successful_pair_is_inconclusive_with_its_reason():
    verdict, why = judge(intervals.mean(np.array([np.nan, np.nan])), (0.0, 2.0))
    assert verdict == INCONCLUSIVE and "not computable" in why


def test_exact_binomial_interval_matches_scipy_and_judges_zero_of_450():
    est = intervals.rate(0, 450)
    assert est.lo == 0 and est.hi == pytest.approx(0.00816, abs=1e-4)
    assert judge(est, (-math.inf, 0.10))[0] == HOLDS


def test_mean_interval_is_seeded_and_covers_the_mean():
    values = np.random.default_rng(0).normal(2.0, 0.3, size=40)
    a, b = intervals.mean(values), intervals.mean(values)
    assert (a.lo, a.hi) == (b.lo, b.hi) and a.lo < values.mean() < a.hi


def test_several_statistics_hold_only_if_all_hold():
    assert combine([HOLDS, HOLDS]) == HOLDS
    assert combine([HOLDS, INCONCLUSIVE]) == INCONCLUSIVE
    assert combine([INCONCLUSIVE, FAILS]) == FAILS
