"""Robustness curves and masking flags (issue 35): a curve never rises with eps and starts at the
clean accuracy; on a linear model the one-step and iterative attacks break an image exactly above its
closed-form distance; logits scaled as distillation scales them stop the cross-entropy of F and not
the margin, DLR or F' = softmax(Z/T); bad grids and norms are refused by name."""

from __future__ import annotations

import cw_distillation.autodiff  # noqa: F401  (sets KERAS_BACKEND before keras loads)

# isort: split
import numpy as np
import pytest
from conftest import REPO
from test_cw_l2 import one_competitor_problem

from cw_distillation import robustness
from cw_distillation.attacks import apgd
from cw_distillation.attacks.objective import value_hit_and_grad
from cw_distillation.attacks.pairs import predict_class
from cw_distillation.config import ConfigError, load_schema, validate_config, workflow_config
from cw_distillation.fragility import scale_logits

DISTILLATION_T = 100.0
SCHEMA = REPO / "workflow/schemas/config.schema.yaml"
FAST = {"igs_steps": 10, "apgd_options": {"iterations": 20}}


def with_wrong_labels(toy):
    """The toy's ten images, two of them labelled with a class the toy does not give them."""
    model, x, y = toy
    label = y.copy()
    label[[2, 7]] = (label[[2, 7]] + 1) % 10
    return model, x, label


@pytest.mark.parametrize("norm", ["linf", "l2"])
@pytest.mark.parametrize("method", ["fgs_ce", "igs_margin", "apgd_dlr", "apgd_ce_divT"])
def test_a_curve_never_rises_and_starts_at_the_clean_accuracy(toy, method, norm):
    model, x, label = with_wrong_labels(toy)
    grid = [0, 0.05, 0.1, 0.2, 0.4] if norm == "linf" else [0, 0.25, 0.5, 1.0, 2.0]
    c = robustness.curve(model, x, label, method=method, norm=norm, eps=grid, **FAST)
    accuracy = c.robust_accuracy
    assert accuracy[0] == np.mean(predict_class(model, x) == label) == 0.8
    assert np.all(np.diff(accuracy) <= 0), accuracy
    assert not np.any(c.robust[1:] & ~c.robust[:-1]), "an image broken at one eps stands again at a larger one"
    assert accuracy[-1] < accuracy[0], "the largest budget breaks something"


def test_the_grid_is_sorted_and_repeats_dropped(toy):
    model, x, y = toy
    c = robustness.curve(model, x, y, method="fgs_margin", norm="linf", eps=[0.2, 0, 0.1, 0.1])
    assert c.eps.tolist() == [0.0, 0.1, 0.2] and c.robust.shape == (3, len(x))


@pytest.mark.parametrize("method", ["fgs_margin", "igs_margin", "fgs_ce", "igs_dlr"])
def test_l2_attacks_break_a_linear_model_exactly_above_the_closed_form_distance(method):
    """One competitor (class 1) per image: the gradient of every loss points along w_1 - w_0, so one
    step of L2 length eps crosses the boundary exactly when eps exceeds the distance d."""
    model, x, _, d = one_competitor_problem(4)
    label = np.zeros(len(x), int)
    for i in range(len(x)):
        c = robustness.curve(model, x[i:i + 1], label[i:i + 1], method=method, norm="l2",
                             eps=[d[i] * 0.98, d[i] * 1.02], igs_steps=20)
        assert c.robust[:, 0].tolist() == [True, False], (method, i, d[i])


def test_distillation_scaled_logits_stop_the_cross_entropy_of_f_and_no_other_loss(toy):
    """Section VIII.A on a toy: logits x100 make the float32 gradient of CE(F) zero, so FGS and IGS with
    it break nothing at any budget; with F' = softmax(Z/T), the margin or DLR they break as on the
    undistilled toy."""
    model, x, y = toy
    distilled_like = scale_logits(model, DISTILLATION_T)
    grid = [0, 0.1, 0.3]
    kw = {"norm": "linf", "eps": grid, "temperature": DISTILLATION_T, **FAST}
    for method in ("fgs_ce", "igs_ce"):
        assert robustness.curve(distilled_like, x, y, method=method, **kw).robust_accuracy.tolist() == [1, 1, 1]
    for method in ("fgs_ce_divT", "igs_ce_divT", "igs_margin", "apgd_dlr", "apgd_margin"):
        scaled = robustness.curve(distilled_like, x, y, method=method, **kw)
        plain = robustness.curve(model, x, y, method=method, **{**kw, "temperature": 1.0})
        assert scaled.robust_accuracy[-1] < 1, method
        assert scaled.robust_accuracy[-1] <= plain.robust_accuracy[-1] + 0.2, method


def test_apgd_with_an_objective_is_apgd_attack_itself_for_its_own_losses(toy):
    model, x, y = toy
    index = np.arange(len(x)) + 40
    for loss in ("dlr", "ce"):
        for norm, eps in (("linf", 0.08), ("l2", 0.4)):
            ours, used = robustness.apgd_with_objective(
                value_hit_and_grad(model, robustness.objective(loss), True), x, y, index, eps, norm, seed=3,
                batch_size=4, **{**robustness.APGD_DEFAULTS, "iterations": 30})
            theirs = apgd.attack(model, x, None, eps=eps, label=y, image_index=index, norm=norm, loss=loss, seed=3,
                                 batch_size=4, iterations=30)
            np.testing.assert_array_equal(ours, theirs.x_adv)
            np.testing.assert_array_equal(used, theirs.iterations)


def test_masking_flags_and_the_pair_by_pair_comparison(toy):
    model, x, y = toy
    plain = robustness.masking_flags(model, x, y)
    assert plain["zero_gradient_fraction"] == plain["one_hot_softmax_fraction"] == 0.0
    scaled = robustness.masking_flags(scale_logits(model, DISTILLATION_T), x, y)
    assert scaled["zero_gradient_fraction"] > 0.5 and scaled["one_hot_softmax_fraction"] > 0.5
    assert scaled["one_hot_softmax_fraction"] <= scaled["softmax_max_one_fraction"]
    assert scaled["zero_gradient"].shape == (len(x),) and scaled["images"] == len(x)
    assert robustness.beats([False, False, True, True], [True, False, True, False]) == (1, 1)


@pytest.mark.parametrize("kw, message", [
    ({"eps": []}, "eps: the epsilon grid is empty"),
    ({"eps": [0, -0.1]}, "eps: the epsilon grid has a negative value"),
    ({"eps": [0, float("nan")]}, "eps: the epsilon grid has a value that is not finite"),
    ({"norm": "l1"}, "norm: unsupported norm 'l1'"),
    ({"method": "pgd_ce"}, "method: no method is called 'pgd_ce'"),
    ({"method": "igs_xent"}, "method: no method is called 'igs_xent'"),
    ({"apgd_options": {"step": 1}}, "apgd_options: unknown option"),
])
def test_bad_input_is_refused_by_name_before_any_step(toy, kw, message):
    model, x, y = toy
    call = {"method": "fgs_ce", "norm": "linf", "eps": [0, 0.1], **kw}
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        robustness.curve(model, x, y, **call)


@pytest.mark.parametrize("robustness_cfg, message", [
    ({"curve_eps": {"mnist": {"linf": []}}}, "config key 'robustness.curve_eps.mnist.linf': [] should be non-empty"),
    ({"curve_eps": {"mnist": {"l2": [0, -1]}}},
     "config key 'robustness.curve_eps.mnist.l2[1]': -1 is less than the minimum of 0"),
    ({"curve_eps": {"mnist": {"l1": [0, 1]}}},
     "config key 'robustness.curve_eps.mnist': Additional properties are not allowed ('l1' was unexpected)"),
    ({"matrix_eps": {"mnist": {"linf": -0.1}}}, "config key 'robustness.matrix_eps.mnist.linf': -0.1 must be > 0"),
    ({"matrix_eps": {"mnist": {"l0": 3}}}, "config key 'robustness.matrix_eps.mnist'"),
    ({"curve_methods": ["pgd_ce"]}, "config key 'robustness.curve_methods[0]': 'pgd_ce' is not one of"),
])
def test_the_schema_names_the_key_of_a_bad_grid_or_norm(robustness_cfg, message):
    with pytest.raises(ConfigError) as err:
        validate_config({"robustness": robustness_cfg}, load_schema(SCHEMA))
    assert message in str(err.value), str(err.value)


def test_cross_checks_name_the_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("robustness: {datasets: [cifar10]}\n")
    with pytest.raises(ConfigError, match=r"config key 'robustness.datasets'"):
        workflow_config([REPO / "config/tiny.yaml", bad], SCHEMA)
    bad.write_text("robustness: {matrix_methods: [fgs_ce], stronger_than: [[fgs_ce, apgd_dlr]]}\n")
    with pytest.raises(ConfigError, match=r"config key 'robustness.stronger_than\[0\]'"):
        workflow_config([REPO / "config/tiny.yaml", bad], SCHEMA)


def test_store_keys_of_robustness_jobs():
    from cw_distillation import store

    config = workflow_config([REPO / "config/tiny.yaml"], SCHEMA)
    curves = store.parts_for(config, "robustness/mnist/standard/curves.json")
    matrix = store.parts_for(config, "robustness/mnist/distilled_T1/matrix.json")
    assert curves["kind"] == matrix["kind"] == "robustness" and not curves["masking"] and matrix["masking"]
    # the curves pair the standard network with the main distilled one; the matrix with every network of it
    assert curves["images"]["also_correct_for"] == [store.key_of(store.model_parts(config, "mnist", "distilled_T100"))]
    assert len(matrix["images"]["also_correct_for"]) == 2 and matrix["temperature"] == 1.0
    assert store.parts_for(config, "robustness/mnist/distilled_T1/curves.json") is None  # no such job
    config["robustness"]["n_images"]["mnist"] += 1
    assert store.key_of(store.parts_for(config, "robustness/mnist/standard/curves.json")) != store.key_of(curves)
    config["robustness"]["datasets"] = []
    assert store.parts_for(config, "robustness/mnist/standard/curves.json") is None


def test_tables_from_reports():
    from cw_distillation.outputs import robustness_tables as tables

    def report(network, t, curves, masking=None):
        return {"dataset": "mnist", "network": network, "temperature": t, "n_images": 4, "curves": curves,
                "masking": masking}

    def c(method, norm, eps, robust):
        attack, loss = robustness.parse_method(method)
        return {"method": method, "attack": attack, "loss": loss, "norm": norm, "eps": eps, "robust": robust,
                "robust_accuracy": [r.count("1") / 4 for r in robust]}

    standard = report("standard", 1.0, [c("fgs_ce", "linf", [0.1], ["0011"]), c("apgd_dlr", "linf", [0.1], ["0001"])],
                      {"zero_gradient_fraction": 0.0, "one_hot_softmax_fraction": 0.0, "softmax_max_one_fraction": 0.0})
    distilled = report("distilled_T100", 100.0, [c("fgs_ce", "linf", [0.1], ["1111"]),
                                                 c("apgd_dlr", "linf", [0.1], ["0110"])],
                       {"zero_gradient_fraction": 1.0, "one_hot_softmax_fraction": 0.75, "softmax_max_one_fraction": 1})
    rows = tables.curve_rows([standard])
    assert [(r["method"], r["robust_accuracy"], r["robust"]) for r in rows] == [
        ("fgs_ce", 0.5, 2), ("apgd_dlr", 0.25, 1)]
    matrix = tables.matrix_rows([distilled, standard])
    assert [(r["network"], r["attack"], r["ce"], r["dlr"]) for r in matrix] == [
        ("standard", "fgs", 0.5, None), ("standard", "apgd", None, 0.25),
        ("distilled_T100", "fgs", 1.0, None), ("distilled_T100", "apgd", None, 0.5)]
    flags = tables.flag_rows([standard, distilled], [["fgs_ce", "apgd_dlr"]])
    column = tables.pair_column("fgs_ce", "apgd_dlr", "linf")
    assert [r[column] for r in flags] == [1, 2] and flags[1]["zero_gradient"] == 1.0
    assert "apgd_dlr breaks 2 that fgs_ce does not (L∞ 0.1)" in flags[1]["flags"]
    assert flags[1]["flags"].startswith("zero gradient of CE(F) on 100% of images")
    assert flags[0][tables.pair_column("fgs_ce", "apgd_dlr", "l2")] is None
