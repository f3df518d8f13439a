"""Transferability maths (Section VIII.D): margins, transfer rates and their exact intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from cw_distillation.evaluate import binomial_interval
from cw_distillation.transfer import (
    TRANSFER_COLUMNS,
    margin,
    transfer_curve,
    transfer_pairs,
    transfer_rates,
)


def test_margin_uses_max_of_other_logits_even_when_all_negative():
    # A one-hot product would put 0 where the target was; 0 beats every negative logit.
    logits = np.array([[-5.0, -1.0, -3.0], [2.0, 7.0, 4.0]])
    np.testing.assert_allclose(margin(logits, np.array([1, 1])), [-1.0 - -3.0, 7.0 - 4.0])
    np.testing.assert_allclose(margin(logits, np.array([0, 2])), [-5.0 - -1.0, 4.0 - 7.0])


def test_margin_is_at_least_kappa_exactly_when_the_target_wins_by_kappa():
    logits = np.array([[10.0, 0.0, 9.0]])
    assert margin(logits, np.array([0]))[0] == pytest.approx(1.0)


def test_clopper_pearson_matches_known_binomial_case():
    lo, hi = binomial_interval(5, 10)
    assert (round(lo, 3), round(hi, 3)) == (0.187, 0.813)


@pytest.mark.parametrize(
    ("k", "n", "level"), [(0, 7, 0.95), (7, 7, 0.95), (1, 50, 0.95), (37, 40, 0.9), (3, 1000, 0.99)]
)
def test_clopper_pearson_matches_scipy_binomtest_exact(k, n, level):
    expected = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    assert binomial_interval(k, n, level) == pytest.approx((expected.low, expected.high), abs=1e-9)


def test_clopper_pearson_edges_are_zero_and_one_and_empty_is_nan():
    assert binomial_interval(0, 20)[0] == 0.0
    assert binomial_interval(20, 20)[1] == 1.0
    # With no success in n trials the upper bound is 1 - (alpha/2)^(1/n).
    assert binomial_interval(0, 20)[1] == pytest.approx(1 - 0.025 ** (1 / 20))
    assert all(math.isnan(v) for v in binomial_interval(0, 0))
    with pytest.raises(ValueError):
        binomial_interval(3, 2)


def test_transfer_rates_from_hand_made_predictions():
    target = np.array([1, 2, 3, 4, 5])
    label = np.array([0, 0, 0, 0, 0])
    pred = np.array([1, 9, 0, 4, 5])  # targeted hits: 0, 3, 4; untargeted: all but 2
    valid = np.array([True, True, True, True, False])  # the last one's source attack failed
    rates = transfer_rates(pred, target, label, valid)
    assert rates["n"] == 4
    assert (rates["targeted_k"], rates["targeted"]) == (2, 0.5)
    assert (rates["untargeted_k"], rates["untargeted"]) == (3, 0.75)
    assert (rates["targeted_lo"], rates["targeted_hi"]) == pytest.approx(binomial_interval(2, 4))


def test_transfer_rates_are_nan_without_a_successful_source_attack():
    rates = transfer_rates(np.array([1]), np.array([1]), np.array([0]), np.array([False]))
    assert rates["n"] == 0 and math.isnan(rates["targeted"]) and math.isnan(rates["untargeted_lo"])


def test_transfer_curve_groups_batched_pairs_by_kappa():
    kappa = np.array([20.0, 0.0, 20.0, 0.0, 0.0])
    success = np.array([True, True, True, False, True])
    target = np.array([3, 3, 3, 3, 3])
    label = np.array([1, 1, 1, 1, 1])
    pred = np.array([3, 1, 7, 3, 3])
    rows = transfer_curve(kappa, success, target, label, pred)
    assert [r["kappa"] for r in rows] == [0.0, 20.0]
    low, high = rows
    assert (low["pairs"], low["n"], low["source_success"]) == (3, 2, pytest.approx(2 / 3))
    assert (low["targeted"], low["untargeted"]) == (0.5, 0.5)
    assert (high["targeted"], high["untargeted"]) == (0.5, 1.0)
    assert set(TRANSFER_COLUMNS) <= set(low)


def test_transfer_pairs_all_targets_repeat_every_image_pair_at_every_kappa():
    image_index, target, kappa = transfer_pairs(np.array([4, 7]), np.array([1, 3]), [0, 20], "all", seed=0)
    assert len(image_index) == 2 * 9 * 2
    np.testing.assert_array_equal(kappa, np.repeat([0.0, 20.0], 18))
    # The same 18 (image, target) pairs at each kappa, none targeting the true class.
    np.testing.assert_array_equal(image_index[:18], image_index[18:])
    np.testing.assert_array_equal(target[:18], target[18:])
    assert not np.any(target[image_index == 4] == 1) and not np.any(target[image_index == 7] == 3)
    assert sorted(target[:9]) == [0, 2, 3, 4, 5, 6, 7, 8, 9]


def test_transfer_pairs_random_target_is_one_wrong_class_per_image_fixed_by_its_index():
    images = np.arange(500)
    labels = images % 10
    image_index, target, kappa = transfer_pairs(images, labels, [0, 10, 40], "random", seed=3)
    assert len(image_index) == 3 * 500
    np.testing.assert_array_equal(kappa, np.repeat([0.0, 10.0, 40.0], 500))
    np.testing.assert_array_equal(image_index[:500], images)
    assert np.all(target != np.tile(labels, 3))
    np.testing.assert_array_equal(target[:500], target[1000:])  # the same example at every kappa
    # Uniform over the 9 wrong classes (the offset label -> target), and a function of the
    # image's index and the seed only: attacking a subset draws the same targets.
    counts = np.bincount((target[:500] - labels) % 10, minlength=10)
    assert counts[0] == 0 and counts[1:].min() > 30, counts
    _, sub_target, _ = transfer_pairs(images[250:260], labels[250:260], [0], "random", seed=3)
    np.testing.assert_array_equal(sub_target, target[250:260])
    _, other_seed, _ = transfer_pairs(images, labels, [0], "random", seed=4)
    assert np.mean(other_seed != target[:500]) > 0.5


def test_transfer_pairs_refuses_an_unknown_target_mode():
    with pytest.raises(ValueError, match="all' or 'random"):
        transfer_pairs(np.array([0]), np.array([0]), [0], "every", seed=0)
