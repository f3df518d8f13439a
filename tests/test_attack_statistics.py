"""The intervals of Tables IV and VI: the average case over all targets, successes within the bound, paired ratios."""

import numpy as np
import pytest

from cw_distillation.attacks.result import AttackResult
from cw_distillation.outputs.attack_statistics import paired_ratio, per_image_cases, result_rows
from cw_distillation.outputs.temperature import effect_sizes


def result(images, targets, l2, success=None) -> AttackResult:
    n = len(images)
    l2 = np.asarray(l2, np.float32)
    return AttackResult(
        x_adv=np.zeros((n, 2, 2, 1), np.float32), success=np.ones(n, bool) if success is None else np.array(success),
        l0=l2, l2=l2, linf=l2, iterations=np.zeros(n, int), seconds=np.zeros(n), image_index=np.array(images),
        target=np.array(targets), label=np.zeros(n, int),
    )


def test_the_average_case_is_each_images_mean_over_its_targets():
    r = result([0, 0, 1, 1], [1, 2, 1, 2], [1.0, 3.0, 2.0, 4.0])
    cases = per_image_cases(r, "l2", r.success)
    assert cases["average"].tolist() == [2.0, 3.0] and cases["best"].tolist() == [1.0, 2.0]


def test_a_success_past_the_bound_counts_as_a_failure():
    r = result([0, 1, 2], [1, 1, 1], [1.0, 20.0, 30.0])
    pair = next(row for row in result_rows("cifar10", "distilled", "deepfool_softmax", r, "l2", 2.8, targeted=False)
                if row["statistic"] == "pair_success")
    assert (pair["k"], pair["n"], pair["beyond_bound"]) == (1, 3, 2)


def test_the_distilled_to_standard_ratio_uses_only_pairs_attacked_on_both():
    standard = result([0, 0, 1, 1, 2], [1, 2, 1, 2, 1], [1.0, 1.0, 2.0, 2.0, 50.0])
    distilled = result([0, 0, 1, 1, 3], [1, 2, 1, 2, 1], [2.0, 2.0, 4.0, 4.0, 0.1])
    est = paired_ratio(distilled, standard, "l2", bound=100.0)
    assert est.value == pytest.approx(2.0) and est.n == 2 and est.lo == pytest.approx(2.0)


def test_fig8_effect_sizes_are_paired_across_temperatures():
    images = list(range(10))
    base = np.linspace(1.0, 2.0, 10)
    runs = [(t, result(images, [1] * 10, base * (1 + 0.1 * np.log10(t)))) for t in (1, 10, 100)]
    eff = effect_sizes(runs)
    assert eff["ratio"] == pytest.approx(1.2) and eff["ratio_images"] == 10
    assert eff["slope_lo"] < eff["slope"] < eff["slope_hi"] or eff["slope_lo"] == pytest.approx(eff["slope_hi"])
    assert 0.05 < eff["slope"] < 0.1


def test_jsma_failures_are_counted_by_why_they_failed():
    """A JSMA row that does not hold says how many failed pairs spent the whole feature budget and
    how many stopped with no qualifying pair; a result made under a cap says so."""
    from cw_distillation.outputs.attack_statistics import budget_rows

    n = 4
    result = AttackResult(
        x_adv=np.zeros((n, 2, 2, 1), np.float32), success=np.array([True, False, False, False]),
        l0=np.array([2.0, np.nan, np.nan, np.nan]), l2=np.ones(n), linf=np.ones(n),
        iterations=np.array([1, 5, 2, 5]), seconds=np.zeros(n), image_index=np.zeros(n, np.int64),
        target=np.arange(n), label=np.full(n, 9), meta={"max_pair_steps": 5, "gamma": 0.145},
    )
    (row,) = budget_rows("mnist", "standard", "jsma_z", result)
    assert (row["statistic"], row["n"], row["k"], row["value"]) == ("budget_spent", 3, 2, 10.0)
    assert "gamma = 0.145" in row["why"]
    result.meta = {"max_pair_steps": 5, "gamma": 1.0}
    assert budget_rows("mnist", "standard", "jsma_z", result)[0]["why"] is None
    result.meta = {}
    assert budget_rows("mnist", "standard", "jsma_z", result) == []


def test_a_jsma_rows_why_names_how_its_pairs_failed(tmp_path):
    from cw_distillation.outputs.claims import Inputs
    from cw_distillation.outputs.section8 import jsma_failures

    row = {"dataset": "mnist", "network": "distilled", "attack": "jsma_z", "statistic": "budget_spent",
           "case": None, "n": 12, "k": 3, "value": 784.0, "why": None}
    inputs = Inputs(tmp_path, {}, None, cache={"attack_statistics": [row]})
    assert jsma_failures(inputs, "mnist", "distilled", "jsma_z") == (
        "12 pairs failed: 3 used the whole budget of 784 features, 9 stopped with no pair of features "
        "passing the saliency test")
    assert jsma_failures(inputs, "mnist", "standard", "jsma_z") is None
