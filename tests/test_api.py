"""cw_distillation.api.run: one call for every attack, in the caller's box, untargeted by default.

Small dense models on 6x6 images: a model on [0, 1] (or [0, 255]) attacked through ``run`` gives
what the attack module gives on the same model moved to [-0.5, 0.5], with L2 and L-inf in the
caller's units; untargeted runs of a targeted attack keep the closest success over every class.
"""

import cw_distillation.autodiff  # noqa: F401 (first: it sets KERAS_BACKEND)

# isort: split
import runpy

import keras
import numpy as np
import pytest
from conftest import REPO

from cw_distillation.api import entries, run
from cw_distillation.attacks import cw_l2, fgs

CW = {"binary_search_steps": 3, "max_iterations": 60, "initial_const": 1.0}


def model_on(lo: float, hi: float) -> keras.Model:
    """The same function of the image, on inputs in [lo, hi]."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6, 6, 1))
    scaled = keras.layers.Rescaling(1 / (hi - lo), offset=-lo / (hi - lo) - 0.5)(inputs)  # onto [-0.5, 0.5]
    outputs = keras.layers.Dense(4, kernel_initializer=keras.initializers.RandomNormal(0, 1.0, seed=1))(
        keras.layers.Flatten()(scaled))
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def images():
    x = np.random.default_rng(0).uniform(0, 1, (5, 6, 6, 1)).astype(np.float32)
    y = np.argmax(keras.ops.convert_to_numpy(model_on(0, 1)(x)), 1)
    return x, y


def test_a_model_on_0_1_attacked_through_run_matches_the_module_on_the_box(images):
    x, y = images
    target = (y + 1) % 4
    ours = run("fgs", model_on(0, 1), x, y, target=target, bounds=(0, 1))
    direct = fgs.attack(model_on(-0.5, 0.5), x - 0.5, target, label=y)
    np.testing.assert_array_equal(ours.success, direct.success)
    np.testing.assert_allclose(ours.linf, direct.linf, rtol=1e-5)
    np.testing.assert_allclose(ours.x_adv[ours.success], direct.x_adv[direct.success] + 0.5, atol=1e-6)


def test_distances_come_back_in_the_caller_units(images):
    x, y = images
    target = (y + 1) % 4
    unit = run("fgs", model_on(0, 1), x, y, target=target, bounds=(0, 1))
    bytes_ = run("fgs", model_on(0, 255), x * 255, y, target=target, bounds=(0, 255))
    np.testing.assert_array_equal(unit.success, bytes_.success)
    np.testing.assert_allclose(bytes_.linf, unit.linf * 255, rtol=1e-4)
    np.testing.assert_allclose(bytes_.l2, unit.l2 * 255, rtol=1e-4)
    np.testing.assert_array_equal(bytes_.l0, unit.l0)
    assert bytes_.x_adv.min() >= 0 and bytes_.x_adv.max() <= 255


def test_untargeted_cw_keeps_the_closest_success_over_every_other_class(images):
    """The same pairs the module attacks together (each image with every other class: C&W L2's
    pairs of one image abort together), then per image the closest success."""
    x, y = images
    any_class = run("l2", model_on(0, 1), x, y, bounds=(0, 1), **CW)
    rows = np.repeat(np.arange(len(x)), 3)
    others = np.array([[c for c in range(4) if c != label] for label in y]).reshape(-1)
    every = cw_l2.attack(model_on(-0.5, 0.5), x[rows] - 0.5, others, label=y[rows], image_index=rows, **CW)
    for i in range(len(x)):
        found = [(every.l2[j], others[j]) for j in np.flatnonzero(rows == i) if every.success[j]]
        assert any_class.success[i] == bool(found)
        if found:
            assert any_class.l2[i] == pytest.approx(min(found)[0], rel=1e-4)
            assert any_class.target[i] == min(found)[1] != y[i]
    predicted = np.argmax(keras.ops.convert_to_numpy(model_on(0, 1)(any_class.x_adv)), 1)
    assert np.all((predicted != y) == any_class.success)


def test_apgd_and_fmn_run_untargeted_natively(images):
    x, y = images
    apgd = run("apgd", model_on(0, 1), x, y, bounds=(0, 1), eps=0.3, iterations=20)
    fmn = run("fmn", model_on(0, 1), x, y, bounds=(0, 1), steps=20)
    assert apgd.success.any() and fmn.success.any()
    assert np.nanmax(apgd.linf) <= 0.3 + 1e-5
    assert set(entries()) >= {"l0", "l2", "linf", "jsma_z", "jsma_f", "deepfool", "lbfgs", "fgs", "igs", "apgd", "fmn"}


@pytest.mark.parametrize("call, named", [
    (lambda x, y: run("nope", model_on(0, 1), x, y, bounds=(0, 1)), "name:"),
    (lambda x, y: run("fgs", model_on(0, 1), x, y, bounds=(1, 0)), "bounds:"),
    (lambda x, y: run("fgs", model_on(0, 1), x * 2, y, bounds=(0, 1)), "x: values in bounds [0, 1]"),
    (lambda x, y: run("fgs", model_on(0, 1), x, y[:2], bounds=(0, 1)), "y:"),
    (lambda x, y: run("fgs", model_on(0, 1), x, y, target=y[:2], bounds=(0, 1)), "target:"),
    (lambda x, y: run("deepfool", model_on(0, 1), x, y, target=y, bounds=(0, 1)), "target: deepfool is untargeted"),
    (lambda x, y: run("fgs", model_on(0, 1), x[0], y, bounds=(0, 1)), "x: (N, H, W, C)"),
], ids=["name", "bounds", "x out of bounds", "y", "target shape", "deepfool target", "x shape"])
def test_bad_input_names_the_argument(images, call, named):
    x, y = images
    with pytest.raises(ValueError) as err:
        call(x, y)
    assert str(err.value).startswith(named), err.value


def test_the_foolbox_style_example_runs():
    path = REPO / "examples/like_foolbox.py"
    assert len(path.read_text().splitlines()) <= 32
    got = runpy.run_path(str(path))["main"]()
    assert got["cw_success"] == 1.0 and got["apgd_success"] > 0.5
