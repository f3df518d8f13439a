"""FMN against C&W pair by pair (cw_distillation.crosscheck): the comparison's numbers on
results made by hand, FMN run on exactly a stored result's pairs, and a mismatch refused."""

import cw_distillation.autodiff  # noqa: F401 (first: it sets KERAS_BACKEND)

# isort: split
import numpy as np
import pytest

from cw_distillation.attacks.result import AttackResult
from cw_distillation.crosscheck import compare, fmn_on_pairs


def result(distance, success, iterations=10, seconds=1.0) -> AttackResult:
    n = len(distance)
    d = np.asarray(distance, np.float32)
    return AttackResult(x_adv=np.zeros((n, 2, 2, 1), np.float32), success=np.asarray(success), l0=d, l2=d, linf=d,
                        iterations=np.full(n, iterations), seconds=np.full(n, seconds),
                        image_index=np.arange(n) // 2, target=np.arange(n) % 2, label=np.full(n, 5))


def test_the_comparison_counts_pairs_both_break_and_their_ratios():
    cw = result([1.0, 2.0, 4.0, 1.0], [True, True, True, False], iterations=1000, seconds=2.0)
    fmn = result([1.02, 1.0, 8.0, 0.5], [True, True, True, True], iterations=100, seconds=0.1)
    row = compare(cw, fmn, "l2")
    assert row["pairs"] == 4 and row["both"] == 3 and row["cw_success"] == 0.75 and row["fmn_success"] == 1.0
    assert row["ratio_median"] == pytest.approx(1.02, rel=1e-5)  # ratios 1.02, 0.5, 2.0
    assert row["fmn_within_5pct"] == pytest.approx(2 / 3) and row["fmn_below"] == pytest.approx(1 / 3)
    assert (row["cw_steps"], row["fmn_steps"], row["cw_seconds"], row["fmn_seconds"]) == (1000, 100, 2.0, 0.1)


def test_l0_counts_one_pixel_more_as_reaching_cw():
    row = compare(result([10.0], [True]), result([11.0], [True]), "l0")
    assert row["fmn_within_5pct"] == 1.0 and row["fmn_below"] == 0.0


def test_results_on_other_pairs_are_refused():
    other = result([1.0, 1.0], [True, True])
    other.target = other.target[::-1].copy()
    with pytest.raises(ValueError, match="not on the C&W result's pairs"):
        compare(result([1.0, 1.0], [True, True]), other, "l2")


def test_fmn_runs_on_the_stored_pairs_of_a_result():
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2, 2, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
    x_test = np.random.default_rng(0).uniform(-0.5, 0.5, (4, 2, 2, 1)).astype(np.float32)
    labels = np.argmax(keras.ops.convert_to_numpy(model(x_test)), 1)
    stored = result([1.0, 1.0, 1.0], [True, True, True])
    stored.image_index, stored.label = np.array([3, 1, 3]), labels[[3, 1, 3]]
    stored.target = (stored.label + np.array([1, 1, 2])) % 3
    fmn = fmn_on_pairs(model, x_test, stored, "l2", steps=30, batch_size=2)
    np.testing.assert_array_equal(fmn.image_index, stored.image_index)
    np.testing.assert_array_equal(fmn.target, stored.target)
    assert fmn.meta["steps"] == 30 and np.all(fmn.iterations == 30)
