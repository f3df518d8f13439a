"""Section VIII.A: scaling the logits as distillation does zeroes the float32 gradient of the
cross-entropy of F; dividing the logits by T brings it back."""

import cw_distillation.autodiff  # first: it sets KERAS_BACKEND

# isort: split
import keras
import numpy as np
import pytest

from cw_distillation import fragility
from cw_distillation.attacks.gradient_sign import predict_class

DISTILLATION_T = 100.0


@pytest.fixture(scope="module")
def toy():
    """A tiny undistilled classifier (6x6x1 inputs, 10 classes) trained on separable synthetic
    data, and its first ten training images (one per class)."""
    rng = np.random.default_rng(0)
    prototypes = rng.uniform(-0.4, 0.4, (10, 6, 6, 1))
    y = np.arange(300) % 10
    x = np.clip(prototypes[y] + rng.normal(0, 0.1, (300, 6, 6, 1)), -0.5, 0.5).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((6, 6, 1)), keras.layers.Flatten(),
        keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10),
    ])
    model.compile(keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy(True))
    model.fit(x, y, epochs=10, batch_size=50, verbose=0)
    return model, x[:10], y[:10]


def every_other_target(x, y):
    """One row per (image, wrong class) pair: x (9N, H, W, C), target (9N,), label (9N,)."""
    target = np.array([[t for t in range(10) if t != label] for label in y]).ravel()
    return np.repeat(x, 9, axis=0), target, np.repeat(y, 9)


def test_toy_classifies_its_images_correctly(toy):
    model, x, y = toy
    np.testing.assert_array_equal(predict_class(model, x), y)


def test_loss_gradient_has_no_zero_component_on_an_undistilled_toy(toy):
    model, x, y = toy
    x_pairs, target, _ = every_other_target(x, y)
    assert fragility.zero_gradient_fraction(model, x_pairs, target) == 0.0
    assert fragility.zero_gradient_image_fraction(model, x_pairs, target) == 0.0


def test_logits_scaled_by_100_make_most_of_the_gradient_exactly_zero(toy):
    model, x, y = toy
    x_pairs, target, _ = every_other_target(x, y)
    distilled_like = fragility.scale_logits(model, DISTILLATION_T)
    assert fragility.zero_gradient_fraction(distilled_like, x_pairs, target) > 0.5
    assert fragility.zero_gradient_image_fraction(distilled_like, x_pairs, target) > 0.5


def test_dividing_the_logits_by_T_restores_the_gradient(toy):
    model, x, y = toy
    x_pairs, target, _ = every_other_target(x, y)
    distilled_like = fragility.scale_logits(model, DISTILLATION_T)
    fixed = fragility.zero_gradient_fraction(distilled_like, x_pairs, target, DISTILLATION_T)
    assert fixed == pytest.approx(0.0, abs=0.01)


def test_scaled_logits_saturate_the_float32_softmax(toy):
    model, x, _ = toy
    distilled_like = fragility.scale_logits(model, DISTILLATION_T)
    assert fragility.saturated_softmax_fraction(model, x) == 0.0
    assert fragility.zero_softmax_fraction(model, x) == 0.0
    assert fragility.saturated_softmax_fraction(distilled_like, x) == 1.0
    assert fragility.zero_softmax_fraction(distilled_like, x) > 0.9


def test_underflowed_target_probability_gives_a_zero_gradient_not_nan():
    logits = np.array([[1000.0, 0.0, 0.0]], dtype=np.float32)  # F_1 = exp(-1000) = 0.0
    loss = keras.ops.convert_to_numpy(fragility.loss_f(logits, np.array([1])))
    assert loss[0] == pytest.approx(-np.log(fragility.PROB_EPSILON), rel=1e-5)
    _, grad = cw_distillation.autodiff.value_and_grad(
        lambda z: fragility.loss_f(z, np.array([1])), logits
    )
    assert np.all(keras.ops.convert_to_numpy(grad) == 0.0)


def test_fragility_report_collects_every_diagnostic(toy):
    model, x, y = toy
    x_pairs, target, _ = every_other_target(x, y)
    report = fragility.fragility_report(model, x_pairs, target)
    assert set(report) == {
        "output_temperature", "zero_gradient_fraction", "zero_gradient_image_fraction",
        "saturated_softmax_fraction", "zero_softmax_fraction",
    }
