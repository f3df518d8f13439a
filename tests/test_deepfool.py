"""DeepFool: untargeted L2 by iterated linearisation. It changes the class of a standard
network; on the logits it does not care how large they are, while on the softmax -- the
version Section VIII.A says fails on distilled networks -- scaled logits stop it dead."""

import cw_distillation.autodiff  # noqa: F401 (first: it sets KERAS_BACKEND)

# isort: split
import keras
import numpy as np
import pytest

from cw_distillation.attacks import deepfool
from cw_distillation.attacks.deepfool import STEP_EPSILON
from cw_distillation.attacks.pairs import predict_class
from cw_distillation.fragility import scale_logits

DISTILLATION_T = 100.0


@pytest.mark.parametrize("output", ["logits", "softmax"])
def test_deepfool_changes_the_class_on_an_undistilled_toy(output, toy):
    model, x, y = toy
    result = deepfool.attack(model, x, label=y, output=output)
    assert result.success.all()
    assert result.x_adv.min() >= -0.5 and result.x_adv.max() <= 0.5
    assert np.all(predict_class(model, result.x_adv) != y)
    assert np.all(result.target == -1)


def test_deepfool_matches_the_closed_form_on_a_linear_model():
    """For an affine classifier one step reaches the nearest boundary exactly:
    ||r|| = (1 + overshoot) * (min_k |f_k - f_orig| / ||w_k - w_orig|| + 1e-4)."""
    rng = np.random.default_rng(2)
    weights, bias = rng.normal(size=(36, 10)), rng.normal(scale=0.1, size=10)
    model = keras.Sequential([
        keras.Input((6, 6, 1)), keras.layers.Flatten(), keras.layers.Dense(10),
    ])
    model.layers[-1].set_weights([weights.astype("float32"), bias.astype("float32")])
    x = np.zeros((1, 6, 6, 1), np.float32)
    original = int(np.argmax(bias))
    others = [k for k in range(10) if k != original]
    gaps = np.abs(bias[others] - bias[original])
    norms = np.linalg.norm(weights[:, others] - weights[:, [original]], axis=0)
    expected = (1 + 0.02) * (np.min(gaps / norms) + STEP_EPSILON)
    result = deepfool.attack(model, x, label=np.array([original]), overshoot=0.02)
    assert result.iterations[0] == 1
    assert result.l2[0] == pytest.approx(expected, rel=1e-4)


def test_deepfool_on_logits_is_blind_to_their_scale(toy):
    model, x, y = toy
    plain = deepfool.attack(model, x, label=y)
    scaled = deepfool.attack(scale_logits(model, DISTILLATION_T), x, label=y)
    assert scaled.success.all()
    np.testing.assert_allclose(scaled.l2, plain.l2, rtol=1e-3)


def test_deepfool_on_softmax_fails_on_scaled_logits_until_they_are_divided_by_T(toy):
    model, x, y = toy
    distilled_like = scale_logits(model, DISTILLATION_T)
    stuck = deepfool.attack(distilled_like, x, label=y, output="softmax")
    assert not stuck.success.any()
    assert np.all(stuck.iterations == 0)
    fixed = deepfool.attack(distilled_like, x, label=y, output="softmax", output_temperature=DISTILLATION_T)
    assert fixed.success.all()
