"""Section VIII.A: scaling the logits as distillation does zeroes the float32 gradient of the
cross-entropy of F; dividing the logits by T brings it back."""

import cw_distillation.autodiff  # first: it sets KERAS_BACKEND

# isort: split
import keras
import numpy as np
import pytest
from conftest import every_other_target

from cw_distillation import fragility
from cw_distillation.attacks import losses
from cw_distillation.attacks.pairs import predict_class

DISTILLATION_T = 100.0


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
    loss = keras.ops.convert_to_numpy(losses.loss_f(logits, np.array([1])))
    assert loss[0] == pytest.approx(-np.log(fragility.PROB_FLOOR), rel=1e-5)
    _, grad = cw_distillation.autodiff.value_and_grad(
        lambda z: losses.loss_f(z, np.array([1])), logits
    )
    assert np.all(keras.ops.convert_to_numpy(grad) == 0.0)


def test_loss_of_f_vanishes_only_where_f_t_really_underflows():
    """A standard network's gaps (here 30: F_t = 1e-13) keep a gradient; Keras' 1e-7 clip
    would zero it. A distilled network's gaps (200: F_t = 0.0 in float32) lose it."""
    target = np.array([1])
    for gap, zero in ((30.0, False), (80.0, False), (200.0, True)):
        logits = np.array([[gap, 0.0, 0.0]], dtype=np.float32)
        _, grad = cw_distillation.autodiff.value_and_grad(lambda z: losses.loss_f(z, target), logits)
        grad = keras.ops.convert_to_numpy(grad)
        assert np.all(np.isfinite(grad)) and np.all(grad == 0.0) == zero, gap
        assert zero or grad[0, 1] == pytest.approx(-1.0, abs=1e-6)  # d(-log F_1)/dZ_1 = F_1 - 1
    _, clipped = cw_distillation.autodiff.value_and_grad(
        lambda z: losses.loss_f(z, target, floor=losses.KERAS_EPSILON),
        np.array([[30.0, 0.0, 0.0]], dtype=np.float32),
    )
    assert np.all(keras.ops.convert_to_numpy(clipped) == 0.0), "Keras' clip zeroes a gap of 30"


def test_fragility_report_collects_every_diagnostic(toy):
    model, x, y = toy
    x_pairs, target, _ = every_other_target(x, y)
    report = fragility.fragility_report(model, x_pairs, target)
    assert set(report) == {
        "output_temperature", "zero_gradient_fraction", "zero_gradient_image_fraction",
        "saturated_softmax_fraction", "zero_softmax_fraction",
    }


def test_softmax_probabilities_are_the_nearest_float32_on_every_cpu():
    # a margin of 20 gives 1 - 2e-9 per other class: the nearest float32 is 1.0 and the others
    # are 2.06e-9 (not 0); a margin of 110 makes the others underflow to exactly 0.0
    logits = np.array([[20.0, 0, 0], [110.0, 0, 0], [1.0, 0, 0]], np.float32)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda z: z)])
    probs = fragility.softmax_probabilities(model, logits)
    assert probs.dtype == np.float32
    assert probs[0, 0] == 1.0 and probs[0, 1] == np.float32(np.exp(-20.0))
    assert probs[1, 0] == 1.0 and probs[1, 1] == 0.0
    assert probs[2, 0] == np.float32(np.e / (np.e + 2))
    assert fragility.saturated_softmax_fraction(model, logits) == pytest.approx(2 / 3)


def test_the_attacks_softmax_saturates_exactly_and_its_gradient_is_exactly_zero():
    # TensorFlow's fused kernel gives 1 - 2**-24 here on an AMD EPYC (and a gradient of ~6e-8)
    logits = np.array([[500.0, 60.0, 0.0], [1.0, 0.0, 0.0]], np.float32)
    probs = keras.ops.convert_to_numpy(losses.softmax(logits))
    assert probs[0, 0] == 1.0 and probs[0, 1] == 0.0
    np.testing.assert_allclose(probs[1], np.exp([1, 0, 0]) / np.exp([1, 0, 0]).sum(), rtol=1e-6)
    _, grad = cw_distillation.autodiff.value_and_grad(lambda z: losses.softmax(z)[:, 0], logits)
    grad = keras.ops.convert_to_numpy(grad)
    assert np.all(grad[0] == 0.0) and np.all(grad[1] != 0.0)
