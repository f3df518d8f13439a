"""The C&W L-infinity attack: optimal on linear models, valid examples, per-pair state."""

from __future__ import annotations

import cw_distillation.autodiff  # noqa: F401  (sets KERAS_BACKEND before keras loads)

# isort: split
import keras
import numpy as np
import pytest

from cw_distillation.attacks import cw_linf

SHAPE = (4, 4, 1)


def one_competitor_problem(n: int, seed: int = 1):
    """Images of class 0 whose only competitor for target 1 is class 0, at L-inf distances
    d (n,) in [0.05, 0.2]: for z = x @ w + b the optimum moves every pixel by d along
    sign(w_1 - w_0), and d = (z_0 - z_1) / ||w_1 - w_0||_1."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(16, 10))
    b = np.full(10, -150.0)
    b[:2] = -50.0  # every logit negative
    a = w[:, 1] - w[:, 0]
    d = np.linspace(0.05, 0.2, n)
    x = rng.uniform(-0.1, 0.1, size=(n, 16))
    x -= ((x @ a + d * np.abs(a).sum()) / np.abs(a).sum())[:, None] * np.sign(a)
    assert np.abs(x + d[:, None] * np.sign(a)).max() < 0.45  # the box is not in the way
    model = keras.Sequential(
        [keras.Input(SHAPE), keras.layers.Flatten(), keras.layers.Dense(10)]
    )
    model.set_weights([w.astype(np.float32), b.astype(np.float32)])
    return model, x.reshape(n, *SHAPE).astype(np.float32), np.ones(n, int), d


@pytest.mark.backends
def test_linf_matches_closed_form_on_linear_model():
    model, x, target, d = one_competitor_problem(4)
    # Finer tau and Adam steps than the defaults, to see the optimum to 2%.
    result = cw_linf.attack(model, x, target, decrease_factor=0.99, learning_rate=2e-3,
                            max_iterations=300)
    assert result.success.all()
    assert np.all(result.linf >= d * (1 - 1e-3)), "closer than the optimum: wrong distance"
    np.testing.assert_allclose(result.linf, d, rtol=0.02)


@pytest.mark.backends
def test_linf_with_default_settings_is_within_one_tau_step_of_the_optimum():
    model, x, target, d = one_competitor_problem(4, seed=2)
    result = cw_linf.attack(model, x, target, max_iterations=200)
    assert result.success.all()
    # tau shrinks by 0.9 per success, so the answer can be 1/0.9 of the optimum.
    assert np.all((result.linf >= d * (1 - 1e-3)) & (result.linf <= d / 0.9))


@pytest.mark.backends
def test_examples_are_in_the_box_success_is_the_argmax_and_batching_changes_nothing():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((5, 5, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.Flatten(), keras.layers.Dense(10),
    ])
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.5, 0.5, size=(4, 5, 5, 1)).astype(np.float32)
    x[:, 0, 0], x[:, -1, -1] = -0.5, 0.5
    pred = np.argmax(keras.ops.convert_to_numpy(model(x)), axis=1)
    target = (pred + np.array([1, 3, 5, 7])) % 10
    settings = dict(max_iterations=100, initial_const=1e-2)
    batched = cw_linf.attack(model, x, target, batch_size=4, **settings)
    alone = cw_linf.attack(model, x, target, batch_size=1, **settings)
    assert batched.x_adv.min() >= -0.5 and batched.x_adv.max() <= 0.5
    pred_adv = np.argmax(keras.ops.convert_to_numpy(model(batched.x_adv)), axis=1)
    np.testing.assert_array_equal(batched.success, pred_adv == target)
    assert batched.success.all()
    np.testing.assert_allclose(batched.linf, alone.linf, rtol=1e-3)
    np.testing.assert_array_equal(batched.iterations, alone.iterations)
