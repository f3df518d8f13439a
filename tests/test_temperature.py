"""Section VIII.C rows: temperature against JSMA success and L2 distance, and Pearson's rho."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cw_distillation.outputs.temperature import (
    TEMPERATURE_COLUMNS,
    correlation,
    paper_jsma_success,
    pearson,
    rho_interval,
    temperature_rows,
)


def test_pearson_matches_numpy_corrcoef():
    rng = np.random.default_rng(0)
    x = rng.normal(size=13)
    y = 0.3 * x + rng.normal(size=13)
    assert pearson(x, y) == pytest.approx(np.corrcoef(x, y)[0, 1], abs=1e-12)
    assert pearson(x, -2 * x + 1) == pytest.approx(-1.0)


def test_pearson_is_nan_when_undefined_instead_of_warning():
    assert math.isnan(pearson([1.0], [2.0]))
    assert math.isnan(pearson([], []))
    assert math.isnan(pearson([1.0, 2.0, 3.0], [0.1, 0.1, 0.1]))  # constant: no correlation to speak of
    assert math.isnan(pearson([0.1, 0.1, 0.1], [1.0, 2.0, 3.0]))


def test_pearson_drops_temperatures_without_a_distance():
    x = [1.0, 2.0, 3.0, 4.0]
    y = [1.0, float("nan"), 2.5, 4.2]
    assert pearson(x, y) == pytest.approx(np.corrcoef([1, 3, 4], [1, 2.5, 4.2])[0, 1])


def summary(mean: float, prob: float = 1.0) -> dict:
    case = {"mean": mean, "prob": prob, "n_images": 20}
    return {m: {"best": case, "average": case, "worst": case} for m in ("l0", "l2", "linf")}


def test_temperature_rows_carry_both_jsmas_beside_the_original_papers_rates():
    sweep = [
        {"temperature": 100, "test_accuracy": 0.99, "jsma_f": np.zeros(200, bool), "l2": summary(2.1)},
        {"temperature": 1, "test_accuracy": 0.99, "jsma_f": np.ones(200, bool), "l2": summary(1.9)},
        {"temperature": 5, "test_accuracy": 0.99, "jsma_f": np.arange(200) < 50, "l2": None},
        {"temperature": 20, "test_accuracy": 0.98, "jsma_f": None, "l2": summary(2.0)},
    ]
    sweep[0]["jsma_z"] = np.arange(200) < 20
    rows = temperature_rows(sweep)
    assert [r["temperature"] for r in rows] == [1, 5, 20, 100]
    assert [r["paper_jsma_success"] for r in rows] == [0.91, 0.24, None, 0.005]
    assert [r["jsma_f_success"] for r in rows] == [1.0, 0.25, None, 0.0]
    assert [r["jsma_z_success"] for r in rows] == [None, None, None, 0.1]
    assert rows[3]["jsma_z_pairs"] == 200 and rows[0]["jsma_z_pairs"] is None
    assert rows[1]["jsma_f_success_lo"] < 0.25 < rows[1]["jsma_f_success_hi"]
    assert rows[1]["l2_mean"] is None and rows[2]["l2_mean"] == 2.0 and rows[2]["l2_images"] == 20
    assert all(list(r) == TEMPERATURE_COLUMNS for r in rows)


def test_cifar_has_no_paper_jsma_rate():
    assert paper_jsma_success(1, "cifar10") is None
    assert paper_jsma_success(1.0) == 0.91


def test_correlation_reports_rho_beside_the_papers():
    sweep = [
        {"temperature": t, "test_accuracy": 0.99, "jsma_f": None, "l2": summary(m)}
        for t, m in [(1, 2.0), (10, 2.2), (50, 1.9), (100, 2.1)]
    ]
    out = correlation(temperature_rows(sweep))
    assert out["paper_rho"] == -0.05 and out["n_temperatures"] == 4
    assert out["rho"] == pytest.approx(np.corrcoef([1, 10, 50, 100], [2.0, 2.2, 1.9, 2.1])[0, 1])
    assert out["rho_log_t"] == pytest.approx(np.corrcoef(np.log([1, 10, 50, 100]), [2.0, 2.2, 1.9, 2.1])[0, 1])
    assert correlation(temperature_rows(sweep), quantity="test_accuracy")["paper_rho"] is None
    assert out["rho_lo"] is None and out["rho_hi"] is None  # no per-image samples: no interval


def test_rho_interval_is_seeded_and_brackets_rho_of_the_means():
    rng = np.random.default_rng(1)
    temps = [1, 2, 5, 10, 20, 50, 100]
    samples = [rng.normal(2.0, 0.5, size=50) for _ in temps]
    rho = pearson(temps, [s.mean() for s in samples])
    lo, hi = rho_interval(temps, samples, seed=3)
    assert lo < rho < hi and -1 <= lo < hi <= 1
    assert (lo, hi) == rho_interval(temps, samples, seed=3)
    assert (lo, hi) != rho_interval(temps, samples, seed=4)
    # a strong trend with little noise: the interval excludes 0
    trend = [rng.normal(1.0 + 0.02 * t, 0.05, size=50) for t in temps]
    assert rho_interval(temps, trend)[0] > 0.9


def test_rho_interval_needs_three_temperatures_with_samples():
    assert all(math.isnan(v) for v in rho_interval([1, 2, 5], [[1.0, 2.0], [], [3.0]]))


def test_correlation_with_samples_carries_the_interval():
    temps, rng = [1, 10, 50, 100], np.random.default_rng(2)
    samples = [rng.normal(2.0, 0.3, size=30) for _ in temps]
    sweep = [
        {"temperature": t, "test_accuracy": 0.99, "l2": summary(float(s.mean()))}
        for t, s in zip(temps, samples, strict=True)
    ]
    out = correlation(temperature_rows(sweep), samples=samples)
    assert out["rho_lo"] < out["rho"] < out["rho_hi"]
