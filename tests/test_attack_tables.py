"""Rows of Tables IV and VI and of the Section VIII.A fragility table, ours beside the paper's."""

from __future__ import annotations

import numpy as np
import pytest

from cw_distillation.evaluate import CASES, METRICS
from cw_distillation.outputs.attack_tables import (
    ATTACK_METRIC,
    attack_columns,
    table_iv_rows,
    table_vi_rows,
    within_tolerance,
)
from cw_distillation.outputs.fragility_table import FRAGILITY_COLUMNS, fragility_rows
from cw_distillation.outputs.tables import to_markdown


def fake_summary(scale: float, prob: float = 1.0, n_images: int = 10) -> dict:
    """The shape of evaluate.best_average_worst: metric -> case -> {mean, prob, n_images}."""
    factor = {"best": 1.0, "average": 2.0, "worst": 3.0}
    return {
        m: {c: {"mean": scale * factor[c] * (1 + i), "prob": prob, "n_images": n_images} for c in CASES}
        for i, m in enumerate(METRICS)
    }


def by_attack(rows):
    return {r["attack"]: r for r in rows}


def test_table_vi_rows_carry_the_papers_values():
    rows = by_attack(table_vi_rows({("mnist", "l2"): fake_summary(1.0), ("mnist", "fgs"): fake_summary(1.0, 0.0)}))
    l2 = rows["l2"]
    assert [l2[f"mnist_{case}_paper_mean"] for case in CASES] == [1.7, 2.2, 2.9]
    assert l2["mnist_best_paper_success"] == 1.0
    assert l2["cifar10_average_paper_mean"] == 0.60 and l2["cifar10_average_mean"] is None
    # "All of the previous attacks fail to find adversarial examples": success 0, no distance.
    assert rows["fgs"]["mnist_worst_paper_success"] == 0.0 and rows["fgs"]["mnist_worst_paper_mean"] is None


def test_each_attack_is_read_in_the_distance_it_minimises():
    summary = fake_summary(1.0)  # l0 means 1/2/3, l2 2/4/6, linf 3/6/9
    rows = by_attack(table_iv_rows({("mnist", a): summary for a in ("jsma_z", "deepfool", "igs")}))
    assert rows["jsma_z"]["metric"] == "l0" and rows["jsma_z"]["mnist_worst_mean"] == 3.0
    assert rows["deepfool"]["metric"] == "l2" and rows["deepfool"]["mnist_best_mean"] == 2.0
    assert rows["igs"]["metric"] == "linf" and rows["igs"]["mnist_average_mean"] == 6.0
    assert rows["igs"]["mnist_images"] == 10


def test_table_iv_rows_carry_the_papers_mean_and_success_with_nulls():
    rows = by_attack(table_iv_rows({("mnist", "fgs"): fake_summary(1.0), ("cifar10", "jsma_z"): fake_summary(1.0)}))
    assert (rows["fgs"]["mnist_average_paper_mean"], rows["fgs"]["mnist_average_paper_success"]) == (0.26, 0.42)
    assert rows["fgs"]["mnist_worst_paper_mean"] is None and rows["fgs"]["mnist_worst_paper_success"] == 0.0
    assert rows["jsma_z"]["mnist_worst_paper_success"] == 0.98  # paper values fill in where we ran nothing
    assert rows["jsma_z"]["mnist_worst_mean"] is None


def test_deepfool_is_untargeted_so_only_its_best_case_exists():
    row = table_iv_rows({("mnist", "deepfool"): fake_summary(1.0)})[0]
    assert row["mnist_best_mean"] == 2.0 and row["mnist_best_paper_mean"] == 2.11
    for case in ("average", "worst"):
        assert all(row[f"mnist_{case}_{f}"] is None for f in ("mean", "success", "paper_mean", "paper_success"))


def test_lbfgs_has_no_table_iv_paper_value_but_still_gets_a_row():
    row = table_iv_rows({("mnist", "lbfgs"): fake_summary(1.0)})[0]
    assert row["name"] == "L-BFGS" and row["mnist_best_paper_mean"] is None and row["mnist_best_mean"] == 2.0


def test_rows_follow_the_papers_order_and_the_declared_columns():
    summaries = {("mnist", a): fake_summary(1.0) for a in ("igs", "l2", "l0", "jsma_f")}
    rows = table_vi_rows(summaries, datasets=("mnist",))
    assert [r["attack"] for r in rows] == ["l0", "jsma_f", "l2", "igs"]
    columns = attack_columns(("mnist",))
    assert all(set(r) == set(columns) for r in rows)
    assert "mnist_average_paper_success" in columns
    assert to_markdown(rows, columns).count("\n") == len(rows) + 2
    with pytest.raises(ValueError, match="unknown"):
        table_vi_rows(summaries, attacks=["cw_l7"])
    assert set(ATTACK_METRIC.values()) == set(METRICS)


def test_within_tolerance_is_relative_and_silent_about_missing_values():
    assert within_tolerance(1.8, 1.7, rel=0.1)
    assert not within_tolerance(2.0, 1.7, rel=0.1)
    assert within_tolerance(None, 1.7, rel=0.1) is None
    assert within_tolerance(float("nan"), 1.7, rel=0.1) is None
    assert not within_tolerance(0.01, 0.0, rel=0.5)
    assert within_tolerance(0.01, 0.0, rel=0.5, abs_tol=0.02)


def report(t: float, zero_grad: float) -> dict:
    """The keys of fragility.fragility_report."""
    return {
        "output_temperature": t,
        "zero_gradient_fraction": zero_grad,
        "zero_gradient_image_fraction": zero_grad,
        "saturated_softmax_fraction": 0.97,
        "zero_softmax_fraction": 0.9,
    }


def test_fragility_rows_pair_each_variant_with_the_diagnosis_of_what_it_differentiates():
    success = {
        ("lbfgs", "cw_objective"): np.ones(10, bool),
        ("fgs", "divide_by_T"): np.zeros(10, bool),
        ("lbfgs", "plain"): np.zeros(10, bool),
        ("lbfgs", "divide_by_T"): np.array([True] * 9 + [False]),
    }
    rows = fragility_rows(success, [report(1.0, 0.99), report(100.0, 0.01)], temperature=100)
    assert [(r["attack"], r["variant"]) for r in rows] == [
        ("fgs", "divide_by_T"),
        ("lbfgs", "plain"),
        ("lbfgs", "divide_by_T"),
        ("lbfgs", "cw_objective"),
    ]
    fgs_fix, plain, fix, cw = rows
    assert plain["zero_gradient_fraction"] == 0.99 and fix["zero_gradient_fraction"] == 0.01
    assert cw["zero_gradient_fraction"] is None and cw["differentiates"] == "Z"
    assert plain["saturated_softmax_fraction"] == 0.97
    assert fix["success_rate"] == 0.9 and fix["success_lo"] < 0.9 < fix["success_hi"]
    assert "could not explain" in fgs_fix["paper_says"] and fgs_fix["paper_outcome"] == "fails"
    assert (plain["consistent"], fix["consistent"], cw["consistent"], fgs_fix["consistent"]) == (True,) * 4
    assert all(set(r) == set(FRAGILITY_COLUMNS) for r in rows)


def test_fragility_rows_flag_a_result_that_contradicts_the_paper():
    rows = fragility_rows({("jsma_f", "plain"): np.ones(4, bool)}, [report(1.0, 0.5)], temperature=100)
    assert rows[0]["consistent"] is False
    with pytest.raises(ValueError, match="no expectation"):
        fragility_rows({("fgs", "sideways"): np.ones(4, bool)}, [], temperature=100)


def test_the_markdown_form_is_one_long_table_per_dataset():
    from cw_distillation.outputs.attack_tables import LONG_COLUMNS, attack_rows, long_rows, markdown_by_dataset

    case = {"mean": 1.5, "prob": 1.0, "n_images": 20}
    summary = {m: {"best": case, "average": case, "worst": case} for m in ("l0", "l2", "linf")}
    rows = attack_rows({("mnist", "l2"): summary, ("mnist", "deepfool"): summary}, "vi", datasets=("mnist", "cifar10"))
    mnist = long_rows(rows, "mnist")
    assert [(r["attack"], r["case"]) for r in mnist] == [
        ("Our L2", "best"), ("Our L2", "average"), ("Our L2", "worst"), ("DeepFool", "best")
    ]
    assert mnist[0]["images"] == 20 and mnist[0]["paper_mean"] == 1.7 and list(mnist[0]) == LONG_COLUMNS
    # cifar10: no result of ours, the paper's cells still shown
    assert all(r["mean"] is None for r in long_rows(rows, "cifar10"))
    md = markdown_by_dataset(rows, ("mnist", "cifar10"), "Table VI")
    assert "### mnist" in md and "### cifar10" in md
    assert max(line.count("|") for line in md.splitlines()) == len(LONG_COLUMNS) + 1


def test_an_untargeted_summary_gets_the_best_case_of_its_one_pair_per_image():
    """DeepFool's step writes no per-image cases (one attack per image); the table reads its best
    case from the success rate and mean distance, which is what best_average_worst gives on one
    pair per image."""
    from cw_distillation import evaluate
    from cw_distillation.attacks.result import AttackResult
    from cw_distillation.outputs.attack_tables import summary_cases

    n = 5
    success = np.array([True, True, False, True, True])
    dist = np.where(success, np.arange(1.0, 6.0), np.nan)
    result = AttackResult(
        x_adv=np.zeros((n, 2)), success=success, l0=dist * 10, l2=dist, linf=dist / 10,
        iterations=np.ones(n, int), seconds=np.ones(n), image_index=np.arange(n),
        target=np.full(n, -1), label=np.zeros(n, int),
    )
    step_summary = {  # the keys steps/attacking.py writes for an untargeted attack
        "targeted": False, "cases": None, "n_images": n, "success_rate": evaluate.success_rate(result),
        "mean_distance": {m: float(np.nanmean(getattr(result, m)[success])) for m in ("l0", "l2", "linf")},
    }
    cases = summary_cases(step_summary)
    expected = evaluate.best_average_worst(result, rng_seed=0)
    for metric in ("l0", "l2", "linf"):
        assert cases[metric]["best"]["prob"] == expected[metric]["best"]["prob"] == 0.8
        assert np.isclose(cases[metric]["best"]["mean"], expected[metric]["best"]["mean"])
        assert cases[metric]["best"]["n_images"] == expected[metric]["best"]["n_images"]
    row = table_iv_rows({("mnist", "deepfool"): cases})[0]
    assert np.isclose(row["mnist_best_mean"], 3.0) and row["mnist_best_success"] == 0.8
    assert row["mnist_average_mean"] is None
    targeted = {"targeted": True, "cases": None}
    assert summary_cases(targeted) is None  # random targets: no per-image cases, nothing invented
