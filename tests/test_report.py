"""REPORT.md: each claim beside the paper's, with a verdict that follows the stated tolerance."""

import copy

import pytest
from conftest import REPO

from cw_distillation.config import workflow_config
from cw_distillation.outputs.report import FAILS, HOLDS, NOT_AT_SCALE, build_report, scale
from cw_distillation.outputs.tables import write_table

SCHEMA = REPO / "workflow/schemas/config.schema.yaml"


def config(profile: str) -> dict:
    """The profile's config as a run sees it (config/<profile>.yaml over the schema's defaults)."""
    path = REPO / "config" / ("config.yaml" if profile == "quick" else f"{profile}.yaml")
    return workflow_config([path], SCHEMA)


def table6(tmp_path, l2_best_mean: float, l2_best_success: float, fgs_success: float) -> None:
    rows = [
        {
            "attack": "l2",
            "name": "L2",
            "metric": "l2",
            "mnist_best_mean": l2_best_mean,
            "mnist_best_success": l2_best_success,
            "mnist_best_paper_mean": 1.7,
            "mnist_best_paper_success": 1.0,
        },
        {
            "attack": "fgs",
            "name": "FGS",
            "metric": "linf",
            "mnist_best_mean": None,
            "mnist_best_success": fgs_success,
            "mnist_best_paper_mean": None,
            "mnist_best_paper_success": 0.0,
        },
    ]
    write_table(rows, list(rows[0]), tmp_path / "table6_distilled", formats=("csv",))


def row_of(report: str, text: str) -> str:
    return next(line for line in report.splitlines() if text in line)


def test_paper_profile_is_comparable_and_quick_is_not():
    assert scale(config("paper"))["paper_training"] and scale(config("paper"))["paper_attacks"]
    quick = scale(config("quick"))
    assert not quick["paper_training"] and not quick["paper_attacks"]


@pytest.mark.parametrize("mean, success, expected", [(1.8, 1.0, HOLDS), (2.5, 1.0, FAILS), (1.7, 0.9, FAILS)])
def test_table_vi_cell_verdict_follows_the_25_percent_tolerance(tmp_path, mean, success, expected):
    table6(tmp_path, mean, success, 0.0)
    report = build_report(tmp_path, config("paper"))
    assert f"**{expected}**" in row_of(report, "mnist: L2, best case")


def test_reduced_attack_settings_are_not_judged(tmp_path):
    table6(tmp_path, 1.8, 1.0, 0.0)
    report = build_report(tmp_path, config("quick"))
    assert f"**{NOT_AT_SCALE}**" in row_of(report, "mnist: L2, best case")
    assert "comparable with the paper overall: **no**" in report


@pytest.mark.parametrize("rate, expected", [(0.0, HOLDS), (0.08, HOLDS), (0.4, FAILS)])
def test_earlier_attack_fails_only_below_ten_percent(tmp_path, rate, expected):
    table6(tmp_path, 1.7, 1.0, rate)
    report = build_report(tmp_path, config("paper"))
    assert f"**{expected}**" in row_of(report, "mnist: FGS fails on the distilled network")


def test_paper_values_come_from_the_reference_file_not_the_report_code(tmp_path, monkeypatch):
    from cw_distillation import reference

    table6(tmp_path, 1.8, 1.0, 0.0)
    changed = copy.deepcopy(reference.reference())
    changed["models"]["mnist"]["test_accuracy"] = 0.123
    monkeypatch.setattr(reference, "reference", lambda: changed)
    write_table(
        [{"dataset": "mnist", "model": "standard", "test_accuracy": 0.99}],
        ["dataset", "model", "test_accuracy"],
        tmp_path / "model_accuracy",
        formats=("csv",),
    )
    assert "12.3%" in row_of(build_report(tmp_path, config("paper")), "test accuracy of the standard network")


def test_transfer_claim_needs_kappa_40_and_a_high_rate(tmp_path):
    rows = [
        {"dataset": "mnist", "target_kind": kind, "kappa": k, "n": 100, "targeted": t, "untargeted": u}
        for kind in ("standard", "distilled")
        for k, t, u in ((0, 0.1, 0.3), (40, 0.7, 0.95))
    ]
    write_table(rows, list(rows[0]), tmp_path / "transfer", formats=("csv",))
    report = build_report(tmp_path, config("paper"))
    assert f"**{HOLDS}**" in row_of(report, "transfer to the distilled network (untargeted, kappa = 40)")


def test_transfer_claim_uses_the_largest_kappa_the_source_reached(tmp_path):
    """A kappa with no source examples has no rate: the claim reads the largest kappa with
    examples, says which were not reached, and is not judged below kappa = 40."""
    rows = [
        {"dataset": "mnist", "target_kind": kind, "kappa": k, "n": n, "targeted": t, "untargeted": u}
        for kind in ("standard", "distilled")
        for k, n, t, u in ((0, 100, 0.1, 0.3), (30, 11, 1.0, 1.0), (40, 0, None, None))
    ]
    write_table(rows, list(rows[0]), tmp_path / "transfer", formats=("csv",))
    report = build_report(tmp_path, config("paper"))
    shown = row_of(report, "transfer to the distilled network at kappa = 30")
    assert "untargeted 100.0% (n = 11); no source examples at kappa = 40" in shown
    assert f"**{NOT_AT_SCALE}**" in row_of(report, "transfer to the distilled network (untargeted, kappa = 40)")


def test_distillation_effects_are_not_judged_on_barely_trained_networks(tmp_path):
    table6(tmp_path, 1.7, 1.0, 0.9)
    report = build_report(tmp_path, config("tiny"))
    assert f"**{NOT_AT_SCALE}**" in row_of(report, "mnist: FGS fails on the distilled network")


def test_transfer_claim_with_only_kappa_0_reached_is_one_row(tmp_path):
    rows = [
        {"dataset": "mnist", "target_kind": kind, "kappa": k, "n": n, "targeted": t, "untargeted": u}
        for kind in ("standard", "distilled")
        for k, n, t, u in ((0, 12, 0.1, 0.9), (40, 0, None, None))
    ]
    write_table(rows, list(rows[0]), tmp_path / "transfer", formats=("csv",))
    report = build_report(tmp_path, config("paper"))
    assert report.count("transfer to the distilled network at kappa") == 1
    assert "90.0% at kappa = 0" in row_of(report, "transfer to the distilled network (untargeted, kappa = 40)")


def table4(tmp_path, l2_average: float, fgs_average_success: float) -> None:
    rows = [
        {
            "attack": "l2",
            "name": "Our L2",
            "metric": "l2",
            "mnist_average_mean": l2_average,
            "mnist_average_success": 1.0,
            "mnist_average_paper_mean": 1.76,
            "mnist_average_paper_success": 1.0,
        },
        {
            "attack": "fgs",
            "name": "Fast Gradient Sign",
            "metric": "linf",
            "mnist_average_mean": 0.3,
            "mnist_average_success": fgs_average_success,
            "mnist_average_paper_mean": 0.26,
            "mnist_average_paper_success": 0.42,
        },
    ]
    write_table(rows, list(rows[0]), tmp_path / "table4_undistilled", formats=("csv",))


@pytest.mark.parametrize("l2, fgs, l2_verdict, fgs_verdict", [(1.8, 0.42, HOLDS, HOLDS), (2.4, 0.6, FAILS, FAILS)])
def test_table_iv_judges_our_distances_and_the_earlier_attacks_success(tmp_path, l2, fgs, l2_verdict, fgs_verdict):
    table4(tmp_path, l2, fgs)
    report = build_report(tmp_path, config("mnist10"))
    assert f"**{l2_verdict}**" in row_of(report, "mnist: Our L2 on the standard network, average case")
    fgs_row = row_of(report, "mnist: Fast Gradient Sign on the standard network, average case")
    assert f"**{fgs_verdict}**" in fgs_row and "42.0%" in fgs_row


@pytest.mark.parametrize("distilled, expected", [(2.0, HOLDS), (4.0, FAILS)])
def test_distilled_to_standard_distance_ratio_is_judged(tmp_path, distilled, expected):
    table4(tmp_path, 1.6, 0.42)
    rows = [{"attack": "l2", "name": "Our L2", "metric": "l2", "mnist_average_mean": distilled}]
    write_table(rows, list(rows[0]), tmp_path / "table6_distilled", formats=("csv",))
    row = row_of(build_report(tmp_path, config("mnist10")), "Our L2: distilled / standard mean distance")
    assert f"**{expected}**" in row and "1.25x" in row  # the paper's 2.2 / 1.76


def test_temperature_claims_judge_both_jsmas_and_show_rhos_interval(tmp_path):
    rows = [
        {"dataset": "mnist", "temperature": t, "jsma_f_success": f, "jsma_z_success": z, "l2_mean": 2.0}
        for t, f, z in ((1, 0.9, 0.8), (5, 0.4, 0.8), (10, 0.3, 0.8), (50, 0.1, 0.8), (100, 0.0, 0.85))
    ]
    write_table(rows, list(rows[0]), tmp_path / "temperature", formats=("csv",))
    corr = [{"dataset": "mnist", "rho": -0.1, "rho_lo": -0.7, "rho_hi": 0.6}]
    write_table(corr, list(corr[0]), tmp_path / "temperature_correlation", formats=("csv",))
    report = build_report(tmp_path, config("mnist10"))
    assert f"**{HOLDS}**" in row_of(report, "JSMA-F succeeds less as T grows")
    assert f"**{FAILS}**" in row_of(report, "JSMA-Z succeeds less as T grows")
    rho_row = row_of(report, "L2 distance uncorrelated with T")
    assert "-0.100 (95% bootstrap interval -0.700 to 0.600)" in rho_row and f"**{HOLDS}**" in rho_row


def test_the_header_says_what_kind_of_run_it_is_and_points_to_the_judged_report(tmp_path):
    tiny, quick, mnist10 = (build_report(tmp_path, config(p)) for p in ("tiny", "quick", "mnist10"))
    assert "smoke test" in tiny and "paper_outputs/mnist10/REPORT.md" in tiny
    assert "A reduced-scale run" in quick and "(mnist)" in quick and "smoke test" not in quick
    assert "smoke test" not in mnist10 and "reduced-scale" not in mnist10


def test_quick_judges_qualitative_claims_on_mnist_only(tmp_path):
    table6(tmp_path, 1.7, 1.0, 0.0)
    report = build_report(tmp_path, config("quick"))
    assert f"**{HOLDS}**" in row_of(report, "mnist: FGS fails on the distilled network")
    assert f"**{NOT_AT_SCALE}**" in row_of(report, "mnist: L2, best case")  # a distance: not at quick's budget


def test_our_attacks_success_is_judged_in_every_case(tmp_path):
    rows = [
        {"attack": "l2", "name": "Our L2", "metric": "l2", "mnist_images": 3.0,
         **{f"mnist_{c}_success": s for c, s in (("best", 1.0), ("average", 1.0), ("worst", worst))}}
        for worst in (1.0,)
    ]
    write_table(rows, list(rows[0]), tmp_path / "table6_distilled", formats=("csv",))
    rows[0]["mnist_worst_success"] = 2 / 3
    write_table(rows, list(rows[0]), tmp_path / "table4_undistilled", formats=("csv",))
    report = build_report(tmp_path, config("quick"))
    assert f"**{HOLDS}**" in row_of(report, "Our L2 succeeds on the distilled network for every image")
    standard = row_of(report, "Our L2 succeeds on the standard network for every image")
    assert f"**{FAILS}**" in standard and "66.7% (3 images)" in standard


def test_transfer_rising_with_kappa_is_judged_qualitatively(tmp_path):
    rows = [
        {"dataset": "mnist", "target_kind": kind, "kappa": k, "n": 18, "targeted": t, "untargeted": u}
        for kind in ("standard", "distilled")
        for k, t, u in ((0, 0.1, 0.2), (20, 0.5, 0.7), (40, 0.0, None))
    ]
    rows[-1]["n"] = 0
    write_table(rows, list(rows[0]), tmp_path / "transfer", formats=("csv",))
    report = build_report(tmp_path, config("quick"))
    row = row_of(report, "transfer to the distilled network rises with kappa")
    assert f"**{HOLDS}**" in row and "70.0% at kappa = 20" in row


def test_the_count_line_counts_every_row_including_shown_ones(tmp_path):
    import re

    rows = [
        {"dataset": "mnist", "target_kind": kind, "kappa": k, "n": 100, "targeted": t, "untargeted": u}
        for kind in ("standard", "distilled")
        for k, t, u in ((0, 0.1, 0.3), (40, 0.7, 0.95))
    ]
    write_table(rows, list(rows[0]), tmp_path / "transfer", formats=("csv",))
    table6(tmp_path, 1.8, 1.0, 0.0)
    report = build_report(tmp_path, config("paper"))
    line = next(x for x in report.splitlines() if x.startswith("Verdicts ("))
    total, *parts = (int(n) for n in re.findall(r"\d+", line))
    claim_rows = [x for x in report.splitlines() if x.startswith("| ") and "**" in x]
    assert total == len(claim_rows) == sum(parts)
    assert "4 shown without a verdict" in line


def test_fragility_rows_say_the_papers_outcome_once(tmp_path):
    rows = [
        {"dataset": "mnist", "name": "FGS, as published", "variant": "plain", "paper_outcome": "fails",
         "paper_says": "fails: the gradient is almost always zero", "success_rate": 0.0,
         "zero_gradient_fraction": 1.0, "consistent": True},
        {"dataset": "mnist", "name": "L-BFGS, F' = softmax(Z/T)", "variant": "divide_by_T",
         "paper_outcome": "recovers", "paper_says": "does not fail", "success_rate": 1.0,
         "zero_gradient_fraction": 0.0, "consistent": True},
    ]
    write_table(rows, list(rows[0]), tmp_path / "fragility", formats=("csv",))
    report = build_report(tmp_path, config("mnist10"))
    assert "fails: fails" not in report and "as published plain" not in report
    assert "| mnist: FGS, as published | fails: the gradient" in report
    assert "recovers: does not fail" in row_of(report, "L-BFGS, F' = softmax(Z/T)")


def test_a_small_logit_ratio_keeps_its_digits(tmp_path):
    rows = [
        {"dataset": "mnist", "model": m, "reading": "l1_norm", "closer_reading": True, "mean": v, "std": 1.0,
         "ratio_to_standard": r}
        for m, v, r in (("standard", 5.0, None), ("distilled_T100", 0.175, 0.035))
    ]
    write_table(rows, list(rows[0]), tmp_path / "logit_norms", formats=("csv",))
    assert "| 0.0350x |" in build_report(tmp_path, config("quick"))


def test_the_cifar10_profile_judges_its_logit_ratio_and_leaves_out_the_sweep_and_transfer(tmp_path):
    rows = [
        {"dataset": "cifar10", "model": m, "reading": reading, "closer_reading": reading == "abs_component",
         "mean": v * (10 if reading == "l1_norm" else 1), "std": 1.0, "ratio_to_standard": r}
        for reading in ("l1_norm", "abs_component")
        for m, v, r in (("standard", 4.0, 1.0), ("distilled_T100", 36.0, 9.0))
    ]
    write_table(rows, list(rows[0]), tmp_path / "logit_norms", formats=("csv",))
    report = build_report(tmp_path, config("cifar10"))
    ratio = row_of(report, "cifar10: distillation makes the logits tens of times larger")
    assert "about T (measured on MNIST: 83x)" in ratio and "| 9.00x |" in ratio and f"**{FAILS}**" in ratio
    assert "mnist:" not in report
    assert "| temperatures of the sweep | none (no sweep) |" in report
    assert "| transfer experiment | none |" in report


def test_quick_judges_that_earlier_attacks_work_on_the_standard_network_not_their_rates(tmp_path):
    cells = {"best": (0.22, 1.0, 0.22, 1.0), "average": (0.3, 0.9, 0.26, 0.42)}
    row = {"attack": "fgs", "name": "Fast Gradient Sign", "metric": "linf"}
    for case, (mean, success, paper_mean, paper_success) in cells.items():
        row |= {f"mnist_{case}_mean": mean, f"mnist_{case}_success": success,
                f"mnist_{case}_paper_mean": paper_mean, f"mnist_{case}_paper_success": paper_success}
    write_table([row], list(row), tmp_path / "table4_undistilled", formats=("csv",))
    report = build_report(tmp_path, config("quick"))
    assert f"**{HOLDS}**" in row_of(report, "Fast Gradient Sign works on the standard network (best case)")
    assert f"**{NOT_AT_SCALE}**" in row_of(report, "Fast Gradient Sign on the standard network, average case")
