"""Fast and iterative gradient sign: targeted L-infinity attacks with the smallest eps searched
per pair; they reach the target on a standard network and not on a distilled-like one."""

import cw_distillation.autodiff  # noqa: F401 (first: it sets KERAS_BACKEND)

# isort: split
from functools import partial

import numpy as np
import pytest
from conftest import every_other_target

from cw_distillation.attacks import fgs, igs
from cw_distillation.attacks.pairs import predict_class
from cw_distillation.fragility import scale_logits

DISTILLATION_T = 100.0


@pytest.fixture(scope="module")
def pairs(toy):
    _, x, y = toy
    return every_other_target(x[:4], y[:4])


@pytest.fixture(scope="module")
def fgs_result(toy, pairs):
    x, target, label = pairs
    return fgs.attack(toy[0], x, target, label=label)


@pytest.fixture(scope="module")
def igs_result(toy, pairs):
    x, target, label = pairs
    return igs.attack(toy[0], x, target, label=label, step_size=0.01)


@pytest.mark.parametrize("attack", ["fgs_result", "igs_result"])
def test_gradient_sign_reaches_the_target_on_an_undistilled_toy(attack, request, toy, pairs):
    result = request.getfixturevalue(attack)
    x, target, _ = pairs
    assert result.success.mean() >= 0.8
    assert result.x_adv.min() >= -0.5 and result.x_adv.max() <= 0.5
    np.testing.assert_array_equal(result.success, predict_class(toy[0], result.x_adv) == target)
    assert np.all(np.isnan(result.linf[~result.success]))
    np.testing.assert_array_equal(result.x_adv[~result.success], x[~result.success])


def test_iterative_gradient_sign_needs_a_smaller_eps_than_fast_gradient_sign(
    fgs_result, igs_result
):
    both = fgs_result.success & igs_result.success
    assert igs_result.success.all()
    assert np.mean(igs_result.linf[both]) < np.mean(fgs_result.linf[both])


def test_fgs_eps_search_finds_the_success_boundary(toy, pairs, fgs_result):
    """Just below the found eps, the same FGS step does not reach the target."""
    model, (x, target, _) = toy[0], pairs
    hit = fgs_result.success
    step = fgs_result.x_adv[hit] - x[hit]
    shrunk = x[hit] + 0.98 * step
    assert np.mean(predict_class(model, shrunk) == target[hit]) < 0.5


@pytest.mark.parametrize("attack", [fgs.attack, partial(igs.attack, step_size=0.01)], ids=["fgs", "igs"])
def test_gradient_sign_fails_on_scaled_logits_until_they_are_divided_by_T(attack, toy, pairs):
    x, target, label = pairs
    distilled_like = scale_logits(toy[0], DISTILLATION_T)
    assert not attack(distilled_like, x, target, label=label).success.any()
    fixed = attack(distilled_like, x, target, label=label, output_temperature=DISTILLATION_T)
    assert fixed.success.mean() >= 0.8
