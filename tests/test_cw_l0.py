"""The C&W L0 attack: as few pixels as an exhaustive search, a pixel counted once."""

from __future__ import annotations

import itertools

import cw_distillation.autodiff  # noqa: F401  (sets KERAS_BACKEND before keras loads)

# isort: split
import keras
import numpy as np
import pytest

from cw_distillation.attacks import cw_l0
from cw_distillation.attacks.cw_l0 import freeze_pixels

# Fewer steps per c, and give up at c = 1e3 rather than 2e6: these problems are solved at
# far smaller c, so only the last (failing) round gets shorter.
QUICK = {"max_iterations": 200, "largest_const": 1e3}


def linear_model(w: np.ndarray, b: np.ndarray, shape: tuple) -> keras.Model:
    """z = x.ravel() @ w + b: a network whose minimal adversarial pixel sets are known."""
    model = keras.Sequential(
        [keras.Input(shape), keras.layers.Flatten(), keras.layers.Dense(w.shape[1])]
    )
    model.set_weights([w.astype(np.float32), b.astype(np.float32)])
    return model


def fewest_pixels(x0: np.ndarray, a: np.ndarray, margin: float) -> int:
    """Exhaustive search: the smallest set of pixels whose change, inside the box, can add
    ``margin`` to x @ a (x0, a: (H, W, C)); a pixel's channels change together."""
    gain = (np.abs(a) * np.where(a > 0, 0.5 - x0, 0.5 + x0)).sum(-1).ravel()
    for k in range(len(gain) + 1):
        if any(gain[list(s)].sum() > margin for s in itertools.combinations(range(len(gain)), k)):
            return k
    raise AssertionError("no adversarial example exists")


def problem(shape: tuple, strengths: np.ndarray, k: int, seed: int, share: float = 0.85):
    """A linear model where class 0 leads target 1 by ``share`` of what the strongest k
    pixels can give (so the optimum leaves the box edges alone); strengths: |a| per
    input value, shuffled over the image, with random signs."""
    rng = np.random.default_rng(seed)
    a = (rng.permutation(strengths.reshape(-1, shape[-1])).ravel()
         * rng.choice([-1, 1], size=strengths.size)).reshape(shape)
    x0 = rng.uniform(-0.05, 0.05, size=shape)
    gain = np.sort((np.abs(a) * np.where(a > 0, 0.5 - x0, 0.5 + x0)).sum(-1).ravel())[::-1]
    margin = share * gain[:k].sum()
    w = np.zeros((a.size, 10))
    w[:, 1], w[:, 0] = a.ravel() / 2, -a.ravel() / 2
    b = np.full(10, -100.0)
    b[0] = (margin + x0.ravel() @ a.ravel()) / 2  # z_0 - z_1 = margin at x0
    b[1] = -b[0]
    return linear_model(w, b, shape), x0.astype(np.float32), a, margin


@pytest.mark.backends
@pytest.mark.parametrize("k", [2, 3, 4])
def test_l0_matches_exhaustive_search_on_linear_models(k):
    strengths = np.array([2.0, 2.2, 1.8, 2.1, 0.3, 0.3, 0.2, 0.2, 0.1])
    strengths[k:4] = 0.25
    model, x0, a, margin = problem((3, 3, 1), strengths, k, seed=k)
    assert fewest_pixels(x0, a, margin + cw_l0.MARGIN) == k
    result = cw_l0.attack(model, x0[None], np.array([1]), **QUICK)
    assert result.success.all()
    assert result.l0[0] == k


def test_l0_counts_a_colour_pixel_once():
    strengths = np.array([[1.5, 1.4, 1.6], [1.5, 1.5, 1.5], [0.3, 0.2, 0.2], [0.2, 0.1, 0.1]])
    model, x0, a, margin = problem((2, 2, 3), strengths, 2, seed=0, share=0.7)
    result = cw_l0.attack(model, x0[None], np.array([1]), **QUICK)
    assert result.success.all()
    assert result.l0[0] == fewest_pixels(x0, a, margin + cw_l0.MARGIN) == 2
    changed_channels = np.sum(np.abs(result.x_adv[0] - x0) > 1e-6)
    assert changed_channels > result.l0[0]


def frozen_after(free: np.ndarray, x_new: np.ndarray, grad: float) -> np.ndarray:
    """freeze_pixels on one grey image: which pixels are frozen afterwards (H, W)."""
    x_new = x_new[None, ..., None].astype(np.float32)
    out = freeze_pixels(free[None, ..., None].astype(np.float32), np.zeros_like(x_new), x_new,
                        np.full_like(x_new, grad))
    return keras.ops.convert_to_numpy(out)[0, ..., 0] == 0


def test_freeze_pixels_freezes_the_least_important_first():
    x_new = np.array([[0.1, 0.3], [0.0, 0.2]])
    # Scores 0.001, 0.003, 0, 0.002: all <= 0.01, and 0.3 sqrt(3 changed) ~ 0.52: one goes.
    np.testing.assert_array_equal(frozen_after(np.ones((2, 2)), x_new, 0.01), [[0, 0], [1, 0]])
    # A frozen pixel is skipped; the next least important goes.
    np.testing.assert_array_equal(
        frozen_after(np.array([[1, 1], [0, 1]]), x_new, 0.01), [[1, 0], [1, 0]])
    # 100 changed pixels: up to 0.3 sqrt(100) = 3 frozen while the scores stay small ...
    x_new = np.linspace(0.01, 1.0, 100).reshape(10, 10)
    assert frozen_after(np.ones((10, 10)), x_new, 1e-3).sum() == 3
    assert frozen_after(np.ones((9, 10)), x_new[:9], 1e-3).sum() == 3  # 0.3 sqrt(90) = 2.8
    # ... and the first that scored above 0.01 is the last one frozen.
    assert frozen_after(np.ones((10, 10)), x_new, 0.6).sum() == 2  # 0.006, then 0.012
    assert frozen_after(np.ones((10, 10)), x_new, 2.0).sum() == 1


@pytest.mark.backends
def test_examples_are_in_the_box_success_is_the_argmax_and_batching_changes_nothing():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((5, 5, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.Flatten(), keras.layers.Dense(10),
    ])
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.5, 0.5, size=(4, 5, 5, 1)).astype(np.float32)
    x[:, 0, 0] = -0.5
    pred = np.argmax(keras.ops.convert_to_numpy(model(x)), axis=1)
    target = (pred + np.array([1, 3, 5, 7])) % 10
    settings = dict(max_iterations=50, initial_const=0.1, largest_const=1e3)
    batched = cw_l0.attack(model, x, target, batch_size=4, **settings)
    alone = cw_l0.attack(model, x, target, batch_size=1, **settings)
    assert batched.x_adv.min() >= -0.5 and batched.x_adv.max() <= 0.5
    pred_adv = np.argmax(keras.ops.convert_to_numpy(model(batched.x_adv)), axis=1)
    np.testing.assert_array_equal(batched.success, pred_adv == target)
    assert batched.success.mean() >= 0.5
    assert np.all(batched.l0[batched.success] < 25)
    np.testing.assert_array_equal(batched.l0, alone.l0)


def test_reduce_const_halves_c_after_each_solved_round_and_still_finds_the_fewest_pixels():
    """The released REDUCE_CONST: after a round solves, the next starts at c / 2 (so it spends
    Adam steps growing c again). It is off by default, and the result's meta then does not name
    it, as before the option existed."""
    strengths = np.array([2.0, 2.2, 1.8, 2.1, 0.3, 0.3, 0.2, 0.2, 0.1])
    strengths[3:4] = 0.25
    model, x0, a, margin = problem((3, 3, 1), strengths, 3, seed=3)
    fixed = cw_l0.attack(model, x0[None], np.array([1]), **QUICK)
    halved = cw_l0.attack(model, x0[None], np.array([1]), reduce_const=True, **QUICK)
    assert fixed.success.all() and halved.success.all()
    assert halved.l0[0] == fixed.l0[0] == fewest_pixels(x0, a, margin + cw_l0.MARGIN)
    assert halved.meta["reduce_const"] is True and "reduce_const" not in fixed.meta
    assert halved.iterations[0] > fixed.iterations[0]


def test_reduce_const_owes_halvings_below_tiny_so_c_climbs_back_as_the_references_float64_c():
    """The released code keeps c in a Python float; a float32 c halved ~150 times is 0 and no
    doubling brings it back (two mnist50 pairs ran for hours at c = 0). Owed halvings keep
    c * 2**-debt equal to the float64 c, through 300 halvings and the doublings back."""
    c, debt = np.array([1e-3], np.float32), np.zeros(1, np.int32)
    reference = float(np.float32(1e-3))  # the released code's c, from our float32 start
    for step in ["halve"] * 300 + ["grow"] * 290 + ["halve"] * 5 + ["grow"] * 15:
        if step == "halve":
            c, debt = cw_l0.halve_const(c, debt)
            reference /= 2
        else:
            c, debt = cw_l0.grow_const(c, debt, 2.0)
            reference *= 2
        c, debt = keras.ops.convert_to_numpy(c), keras.ops.convert_to_numpy(debt)
        assert c[0] >= cw_l0.TINY / 2 and float(c[0]) * 2.0 ** -int(debt[0]) == reference
        effective = keras.ops.convert_to_numpy(cw_l0.effective_const(c, debt))[0]
        if reference >= np.finfo(np.float32).tiny:  # what the reference's float32 loss sees
            assert effective == np.float32(reference)
        else:  # subnormal there (or 0: TF flushes subnormals), here at most that
            assert 0 <= effective <= np.finfo(np.float32).tiny
    assert debt[0] == 0 and c[0] == np.float32(1e-3)


@pytest.mark.backends
def test_reduce_const_ends_a_pair_after_more_halvings_than_float32_c_survives():
    """167 rounds solve at once (each freezes one pixel that does not matter), halving c 167
    times; the round that then freezes a pixel that matters must grow c back from 1e-3 * 2**-167
    and solve with the last pixel. With a float32 c this pair never ended."""
    shape = (13, 13, 1)
    a = np.full(shape, 1e-6)
    a[3, 4, 0], a[9, 7, 0] = 1.0, -0.9  # two pixels matter; either alone is enough
    x0 = np.random.default_rng(0).uniform(-0.05, 0.05, size=shape)
    gain = (np.abs(a) * np.where(a > 0, 0.5 - x0, 0.5 + x0)).ravel()
    margin = 0.7 * np.sort(gain)[-2]
    w = np.zeros((a.size, 10))
    w[:, 1], w[:, 0] = a.ravel() / 2, -a.ravel() / 2
    b = np.full(10, -100.0)
    b[0] = (margin + x0.ravel() @ a.ravel()) / 2
    b[1] = -b[0]
    model = linear_model(w, b, shape)
    options = {"max_iterations": 50, "largest_const": 1e3}
    fixed = cw_l0.attack(model, x0[None].astype(np.float32), np.array([1]), **options)
    halved = cw_l0.attack(model, x0[None].astype(np.float32), np.array([1]), reduce_const=True, **options)
    assert halved.success.all() and halved.l0[0] == fixed.l0[0] == 1
    # the climb back: at least 167 doublings of 50 steps each
    assert halved.iterations[0] > fixed.iterations[0] + 167 * 50
