"""APGD (Croce & Hein 2020): its step-size schedule is the paper's, its DLR loss ignores the
scale of the logits, it breaks a linear model exactly when eps exceeds the closed-form minimum,
and with DLR it breaks a network whose logits distillation has scaled, where cross-entropy fails."""

from __future__ import annotations

import cw_distillation.autodiff  # noqa: F401  (sets KERAS_BACKEND before keras loads)

# isort: split
import keras
import numpy as np
import pytest
from conftest import every_other_target
from test_cw_l2 import one_competitor_problem

from cw_distillation.attacks import apgd
from cw_distillation.attacks.losses import loss_f
from cw_distillation.attacks.pairs import predict_class
from cw_distillation.fragility import scale_logits

DISTILLATION_T = 100.0


def linf_minimum(model: keras.Model, x: np.ndarray, label: int, target: int) -> np.ndarray:
    """The exact minimal L-inf distance for ``target`` to overtake ``label`` on a linear model
    (the only competitor), inside the box: bisection on eps of the best achievable gain
    sum_i |a_i| min(eps, room_i), room_i the distance to the box edge in a_i's direction."""
    w, b = model.get_weights()
    a = w[:, target] - w[:, label]
    flat = x.reshape(len(x), -1).astype(np.float64)
    gap = flat @ -a + b[label] - b[target]
    room = np.where(a > 0, 0.5 - flat, flat + 0.5)
    lo, hi = np.zeros(len(x)), np.ones(len(x))
    for _ in range(60):
        mid = (lo + hi) / 2
        reached = (np.abs(a) * np.minimum(mid[:, None], room)).sum(axis=1) >= gap
        hi, lo = np.where(reached, mid, hi), np.where(reached, lo, mid)
    return hi


def test_checkpoints_are_the_papers_schedule():
    # p = 0, 0.22, 0.41, 0.57, 0.70, 0.80, 0.87, 0.93, 0.99: the period shrinks by 0.03 to 0.06.
    assert apgd.checkpoints(100) == [22, 41, 57, 70, 80, 87, 93, 99]
    assert apgd.checkpoints(1000)[:3] == [220, 410, 570]


def test_dlr_is_invariant_to_shifting_and_rescaling_the_logits():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(8, 10)).astype(np.float32)
    label, target = rng.integers(0, 10, 8), rng.integers(0, 10, 8)

    def losses(logits):
        logits = keras.ops.convert_to_tensor(logits.astype(np.float32))
        return [keras.ops.convert_to_numpy(v) for v in (
            apgd.dlr_loss(logits, label), apgd.dlr_loss_targeted(logits, label, target),
            loss_f(logits, label))]

    dlr, dlr_t, ce = losses(z)
    for factor, shift in [(100.0, 0.0), (0.01, 0.0), (1.0, 37.0), (100.0, -5.0)]:
        dlr2, dlr_t2, _ = losses(factor * z + shift)
        np.testing.assert_allclose(dlr2, dlr, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(dlr_t2, dlr_t, rtol=1e-4, atol=1e-6)
    assert not np.allclose(losses(100.0 * z)[2], ce)  # the cross-entropy is not


@pytest.mark.backends
@pytest.mark.parametrize("loss", ["dlr", "ce"])
@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_apgd_breaks_a_linear_model_above_the_closed_form_eps_and_not_below(norm, loss):
    model, x, target, d = one_competitor_problem(3)
    label = np.zeros(len(x), int)
    minimum = d if norm == "l2" else linf_minimum(model, x, 0, 1)
    for i in range(len(x)):
        pair = dict(model=model, x=x[i:i + 1], label=label[i:i + 1], norm=norm, loss=loss)
        above = apgd.attack(**pair, target=target[i:i + 1], eps=float(minimum[i]) * 1.02)
        below = apgd.attack(**pair, target=target[i:i + 1], eps=float(minimum[i]) * 0.98)
        assert above.success.all() and not below.success.any()
        assert getattr(above, norm)[0] <= minimum[i] * 1.02 * (1 + 1e-5)
        if loss == "dlr":  # the untargeted attack: class 1 is the only way out
            assert apgd.attack(**pair, target=None, eps=float(minimum[i]) * 1.02).success.all()


@pytest.mark.backends
def test_apgd_dlr_breaks_scaled_logits_where_cross_entropy_of_the_softmax_fails(toy):
    model, x, y = toy
    xs, target, label = every_other_target(x[:2], y[:2])
    distilled_like = scale_logits(model, DISTILLATION_T)
    assert apgd.attack(model, xs, target, label=label, eps=0.3, loss="ce").success.all()
    assert not apgd.attack(distilled_like, xs, target, label=label, eps=0.3, loss="ce").success.any()
    dlr = apgd.attack(distilled_like, xs, target, label=label, eps=0.3, loss="dlr")
    assert dlr.success.all()
    np.testing.assert_array_equal(predict_class(distilled_like, dlr.x_adv), target)
    assert np.all(dlr.linf <= 0.3 + 1e-6)
    assert dlr.x_adv.min() >= -0.5 and dlr.x_adv.max() <= 0.5


@pytest.mark.backends
@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_batching_changes_nothing(toy, norm):
    model, x, y = toy
    xs, target, label = every_other_target(x[:2], y[:2])
    eps = 0.2 if norm == "linf" else 1.0
    batched = apgd.attack(model, xs, target, label=label, eps=eps, norm=norm, restarts=2, batch_size=18)
    alone = apgd.attack(model, xs, target, label=label, eps=eps, norm=norm, restarts=2, batch_size=1)
    assert 0 < batched.success.sum() < len(xs)  # some pairs need the restart, some fail
    np.testing.assert_array_equal(batched.success, alone.success)
    np.testing.assert_array_equal(batched.iterations, alone.iterations)
    np.testing.assert_allclose(batched.x_adv, alone.x_adv, atol=1e-6)


def test_restarts_only_run_on_the_pairs_still_unbroken(toy):
    model, x, y = toy
    xs, target, label = every_other_target(x[:2], y[:2])
    once = apgd.attack(model, xs, target, label=label, eps=0.2, restarts=1)
    twice = apgd.attack(model, xs, target, label=label, eps=0.2, restarts=2)
    assert np.all(twice.success >= once.success)
    np.testing.assert_array_equal(twice.iterations[once.success], once.iterations[once.success])
    assert np.all(twice.iterations[~once.success] > once.iterations[~once.success])


@pytest.mark.parametrize("bad, name", [
    ({"eps": 0.0}, "eps"), ({"eps": -1.0}, "eps"), ({"eps": 0.1, "norm": "l1"}, "norm"),
    ({"eps": 0.1, "loss": "hinge"}, "loss"),
])
def test_bad_settings_are_named_before_any_step(toy, bad, name):
    model, x, y = toy
    with pytest.raises(ValueError, match=name):
        apgd.attack(model, x[:1], np.array([(y[0] + 1) % 10]), **bad)
