"""FMN (Pintor et al. 2021): on a linear model it finds the closed-form minimal L2 and L-inf
distances and the exhaustive-search minimal L0, its examples sit on the decision boundary of a
trained toy, scaling the logits changes nothing, and batching changes nothing."""

from __future__ import annotations

import cw_distillation.autodiff  # noqa: F401  (sets KERAS_BACKEND before keras loads)

# isort: split
import numpy as np
import pytest
from conftest import every_other_target
from test_apgd import linf_minimum
from test_cw_l2 import one_competitor_problem

from cw_distillation.attacks import fmn
from cw_distillation.attacks.pairs import predict_class
from cw_distillation.fragility import scale_logits


def l0_minimum(model, x: np.ndarray, label: int, target: int) -> np.ndarray:
    """The minimal number of pixels to change for ``target`` to overtake ``label`` on a linear
    model, in the box: each pixel can gain |a_i| room_i at most, so the k largest gains decide."""
    w, b = model.get_weights()
    a = w[:, target] - w[:, label]
    flat = x.reshape(len(x), -1).astype(np.float64)
    gap = flat @ -a + b[label] - b[target]
    gains = -np.sort(-np.abs(a) * np.where(a > 0, 0.5 - flat, flat + 0.5), axis=1)
    return (np.cumsum(gains, axis=1) < gap[:, None]).sum(axis=1) + 1


@pytest.mark.backends
@pytest.mark.parametrize("targeted", [True, False], ids=["targeted", "untargeted"])
@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_fmn_matches_the_closed_form_minimum_on_a_linear_model(norm, targeted):
    model, x, target, d = one_competitor_problem(6)
    minimum = d if norm == "l2" else linf_minimum(model, x, 0, 1)
    result = fmn.attack(model, x, target if targeted else None, norm=norm, escape_boundary=True)
    assert result.success.all()
    found = getattr(result, norm)
    assert np.all(found >= minimum * (1 - 1e-4)), "closer than the optimum: wrong distance"
    np.testing.assert_allclose(found, minimum, rtol=1e-3)


@pytest.mark.backends
def test_fmn_l0_matches_exhaustive_search_on_a_linear_model():
    model, x, target, _ = one_competitor_problem(6)
    minimum = l0_minimum(model, x, 0, 1)
    result = fmn.attack(model, x, target, norm="l0")
    assert result.success.all()
    assert np.all(result.l0 >= minimum)
    np.testing.assert_array_equal(result.l0, minimum)


@pytest.mark.backends
@pytest.mark.parametrize("norm", ["l2", "linf", "l0"])
def test_fmn_examples_lie_on_the_boundary_of_a_trained_toy(toy, norm):
    """With the paper's settings: every pair broken, and 5% less of the perturbation no longer is."""
    model, x, y = toy
    xs, target, label = every_other_target(x[:2], y[:2])
    result = fmn.attack(model, xs, target, label=label, norm=norm)
    assert result.success.all()
    np.testing.assert_array_equal(predict_class(model, result.x_adv), target)
    assert result.x_adv.min() >= -0.5 and result.x_adv.max() <= 0.5
    if norm != "l0":
        shrunk = xs + 0.95 * (result.x_adv - xs)
        assert np.mean(predict_class(model, shrunk) == target) <= 0.1


@pytest.mark.backends
@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_scaling_the_logits_changes_nothing(toy, norm):
    """The margin and its gradient scale together, the step is normalised and the boundary
    estimate is their ratio: FMN on a distilled-like network finds the same examples."""
    model, x, y = toy
    xs, target, label = every_other_target(x[:2], y[:2])
    plain = fmn.attack(model, xs, target, label=label, norm=norm)
    scaled = fmn.attack(scale_logits(model, 100.0), xs, target, label=label, norm=norm)
    np.testing.assert_array_equal(scaled.success, plain.success)
    np.testing.assert_allclose(getattr(scaled, norm), getattr(plain, norm), rtol=1e-3)


@pytest.mark.backends
def test_batching_changes_nothing(toy):
    model, x, y = toy
    xs, target, label = every_other_target(x[:2], y[:2])
    batched = fmn.attack(model, xs, target, label=label, batch_size=18)
    alone = fmn.attack(model, xs, target, label=label, batch_size=1)
    np.testing.assert_array_equal(batched.success, alone.success)
    np.testing.assert_allclose(batched.l2, alone.l2, rtol=1e-5)


@pytest.mark.parametrize("bad, name", [
    ({"norm": "l1"}, "norm"), ({"steps": 0}, "steps"), ({"gamma_init": 0.0}, "gamma"),
])
def test_bad_settings_are_named_before_any_step(toy, bad, name):
    model, x, y = toy
    with pytest.raises(ValueError, match=name):
        fmn.attack(model, x[:1], np.array([(y[0] + 1) % 10]), **bad)
