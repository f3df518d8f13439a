"""L-BFGS (Szegedy et al.): reaches the target on a standard network; on logits scaled as
distillation scales them the cross-entropy's gradient is zero and it fails, while the paper's
two fixes -- the C&W objective, or dividing the logits by T -- make it succeed again."""

import cw_distillation.autodiff  # noqa: F401 (first: it sets KERAS_BACKEND)

# isort: split
import numpy as np
import pytest
from conftest import every_other_target

from cw_distillation.attacks import lbfgs
from cw_distillation.attacks.pairs import predict_class
from cw_distillation.fragility import scale_logits

DISTILLATION_T = 100.0
FAST = {"search_steps": 6, "max_iterations": 100}  # enough on the toy; keeps the tests short


@pytest.fixture(scope="module")
def pairs(toy):
    _, x, y = toy
    return every_other_target(x[:3], y[:3])


@pytest.fixture(scope="module")
def distilled_like(toy):
    return scale_logits(toy[0], DISTILLATION_T)


@pytest.fixture(scope="module")
def standard_result(toy, pairs):
    x, target, label = pairs
    return lbfgs.attack(toy[0], x, target, label=label, **FAST)


def test_lbfgs_reaches_every_target_on_an_undistilled_toy(toy, pairs, standard_result):
    _, target, _ = pairs
    assert standard_result.success.all()
    assert standard_result.x_adv.min() >= -0.5 and standard_result.x_adv.max() <= 0.5
    np.testing.assert_array_equal(predict_class(toy[0], standard_result.x_adv), target)


def test_lbfgs_with_cross_entropy_fails_on_scaled_logits_without_moving(pairs, distilled_like):
    x, target, label = pairs
    result = lbfgs.attack(distilled_like, x, target, label=label, **FAST)
    assert not result.success.any()
    np.testing.assert_array_equal(result.x_adv, x)


def test_lbfgs_with_the_cw_objective_succeeds_on_scaled_logits(pairs, distilled_like):
    x, target, label = pairs
    # At kappa = 0 the minimiser lies on the decision boundary, where the argmax is a tie that
    # float rounding decides (27 of 27 pairs on the Intel CPUs we ran before, 19 on an AMD
    # EPYC): it recovers as the paper says (the fragility table's threshold, >= 50%) ...
    result = lbfgs.attack(distilled_like, x, target, label=label, objective="cw", **FAST)
    assert result.success.mean() >= 0.5
    # ... and with a margin to win by, every pair succeeds on every CPU.
    result = lbfgs.attack(distilled_like, x, target, label=label, objective="cw", kappa=1.0, **FAST)
    assert result.success.all()


def test_lbfgs_on_logits_divided_by_T_matches_the_undistilled_attack(
    pairs, distilled_like, standard_result
):
    x, target, label = pairs
    result = lbfgs.attack(
        distilled_like, x, target, label=label, output_temperature=DISTILLATION_T,
        **FAST,
    )
    assert result.success.all()
    np.testing.assert_allclose(result.l2, standard_result.l2, rtol=0.05)


def test_joint_problem_finds_the_same_distances_as_per_pair_runs(toy, pairs, standard_result):
    """The joint objective is a sum of per-pair terms: optimising it jointly is a speed-up,
    not a different attack; the default (standard_result) is one problem per pair."""
    assert standard_result.meta["pairs_per_problem"] == 1
    x, target, label = (a[::7] for a in pairs)
    joint = lbfgs.attack(toy[0], x, target, label=label, **FAST, pairs_per_problem=len(x))
    assert joint.success.all()
    np.testing.assert_allclose(joint.l2, standard_result.l2[::7], rtol=0.1)


def test_lbfgs_with_the_cw_objective_keeps_the_closest_successful_point_it_evaluated(
    pairs, distilled_like, monkeypatch
):
    """At kappa = 0 the C&W objective's minimiser is the decision boundary, so L-BFGS-B's last
    point lands on either side by rounding; like the C&W attacks, the attack keeps the best
    successful point it evaluated. Forced here: the solver's last point is always the start
    (a failure), so only a kept iterate can succeed."""
    import scipy.optimize

    x, target, label = (a[::3] for a in pairs)
    real_minimize = scipy.optimize.minimize

    def last_point_fails(fun, x0, **kw):
        result = real_minimize(fun, x0, **kw)
        result.x = x0  # the last point judged: no move at all
        return result

    monkeypatch.setattr(scipy.optimize, "minimize", last_point_fails)
    kept = lbfgs.attack(distilled_like, x, target, label=label, objective="cw", **FAST)
    assert kept.meta["keep_best"] is True
    assert kept.success.all()
    last_only = lbfgs.attack(distilled_like, x, target, label=label, objective="cw", keep_best=False, **FAST)
    assert not last_only.success.any()
    # the cross-entropy attack, as published, judges the solver's result alone
    assert "keep_best" not in lbfgs.attack(distilled_like, x[:1], target[:1], label=label[:1], **FAST).meta
