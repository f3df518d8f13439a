"""Rows of the Section VIII.A table: the earlier attacks on the T = 100 network, why they fail, what fixes them.

Each row is one attack in one variant, with its success rate and the float32 effect the paper
blames for the failure, measured on the same pairs (``fragility.fragility_report``): how many
gradient components of the loss of F are exactly 0, and how many images have a softmax whose
largest component is exactly 1.0. A column says, in words, what the paper expects.

Variants (the attacks' keyword arguments in parentheses):
- "plain": the attack as the paper ran it, on F = softmax(Z) at T = 1 (DeepFool: output="softmax").
- "divide_by_T": the paper's fix F'(x) = softmax(Z(x) / T) (output_temperature=T).
- "cw_objective": L-BFGS minimising C&W's objective on the logits (objective="cw").
- "logits": DeepFool on Z, as its authors' code does (output="logits").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cw_distillation.evaluate import binomial_interval
from cw_distillation.outputs.attack_tables import ATTACK_NAMES

FRAGILITY_COLUMNS = [
    "dataset",
    "attack",
    "name",
    "variant",
    "differentiates",
    "pairs",
    "success_rate",
    "success_lo",
    "success_hi",
    "zero_gradient_fraction",
    "zero_gradient_image_fraction",
    "saturated_softmax_fraction",
    "paper_outcome",
    "paper_says",
    "consistent",
]

VARIANT_NAMES = {
    "plain": "as published",
    "divide_by_T": "F' = softmax(Z/T)",
    "cw_objective": "C&W objective",
    "logits": "on logits Z",
}

# (attack, variant) -> (paper outcome, the paper's words / our note). Outcome None: the paper is silent.
PAPER_EXPECTATION: dict[tuple[str, str], tuple[str | None, str]] = {
    ("fgs", "plain"): ("fails", "fails: the gradient is almost always zero (as for L-BFGS)"),
    ("fgs", "divide_by_T"): ("fails", "still fails with the fix; the paper could not explain why"),
    ("igs", "plain"): ("fails", "fails (VIII.B: all previous attacks fail); not analysed in VIII.A"),
    ("igs", "divide_by_T"): (None, "not in the paper"),
    ("jsma_f", "plain"): ("fails", "fails: softmax is a hard max, its gradient vanishes (as for L-BFGS)"),
    ("jsma_f", "divide_by_T"): (None, "not in the paper"),
    ("jsma_z", "plain"): ("fails", "fails: logits T times larger magnify JSMA-Z's equal weighting of logit changes"),
    ("lbfgs", "plain"): ("fails", "fails: the gradient of F is zero, L-BFGS makes no progress and terminates"),
    ("lbfgs", "divide_by_T"): ("recovers", "does not fail: the gradients no longer vanish"),
    ("lbfgs", "cw_objective"): ("recovers", "does not fail with the stable objective"),
    ("deepfool", "plain"): ("fails", "fails: the gradient of F is zero almost always"),
    ("deepfool", "divide_by_T"): (None, "not in the paper"),
    ("deepfool", "logits"): (None, "not in the paper (the original DeepFool differentiates Z)"),
}
ROW_ORDER = list(PAPER_EXPECTATION)

# What each row differentiates: the loss of F at T = 1, of F' at T, or the logits (no softmax to saturate).
_ON_LOGITS = {("jsma_z", "plain"), ("lbfgs", "cw_objective"), ("deepfool", "logits")}


def fragility_rows(
    success: Mapping[tuple[str, str], np.ndarray],
    reports: Sequence[Mapping[str, float]],
    temperature: float,
    dataset: str = "mnist",
    fail_at_most: float = 0.1,
    recover_at_least: float = 0.5,
) -> list[dict[str, Any]]:
    """One row per (attack, variant) run, in ROW_ORDER, keys FRAGILITY_COLUMNS.

    success: (attack, variant) -> (N,) bool per (image, target) pair (``AttackResult.success``);
        attacks as in attack_tables (fgs, igs, jsma_f, jsma_z, lbfgs, deepfool), variants as above.
    reports: ``fragility.fragility_report`` dicts of the same network and pairs, one per
        output_temperature: 1 (F itself) and ``temperature`` (F'), the distillation T.
    The diagnosis columns are the report of the function the row differentiates: T = 1 for
    "plain", T for "divide_by_T", none for rows on the logits (their failure, if any, is not
    a softmax effect). saturated_softmax_fraction is F's at T = 1 in every row with a report.
    consistent: success <= fail_at_most where the paper says "fails", >= recover_at_least where
    it says "recovers", None where the paper is silent (thresholds are ours, not the paper's).
    """
    by_t = {float(r["output_temperature"]): r for r in reports}
    unknown = [key for key in success if key not in PAPER_EXPECTATION]
    if unknown:
        raise ValueError(f"no expectation for {unknown}; known: {ROW_ORDER}")
    rows = []
    for attack, variant in (key for key in ROW_ORDER if key in success):
        ok = np.asarray(success[(attack, variant)], dtype=bool)
        k, n = int(ok.sum()), len(ok)
        lo, hi = binomial_interval(k, n)
        rate = k / n if n else float("nan")
        outcome, words = PAPER_EXPECTATION[(attack, variant)]
        if (attack, variant) in _ON_LOGITS:
            t, differentiates = None, "Z"
        else:
            t = float(temperature) if variant == "divide_by_T" else 1.0
            differentiates = "F' = softmax(Z/T)" if variant == "divide_by_T" else "F = softmax(Z)"
        report = by_t.get(t, {}) if t is not None else {}
        rows.append(
            {
                "dataset": dataset,
                "attack": attack,
                "name": f"{ATTACK_NAMES[attack]}, {VARIANT_NAMES[variant]}",
                "variant": variant,
                "differentiates": differentiates,
                "pairs": n,
                "success_rate": rate,
                "success_lo": lo,
                "success_hi": hi,
                "zero_gradient_fraction": report.get("zero_gradient_fraction"),
                "zero_gradient_image_fraction": report.get("zero_gradient_image_fraction"),
                "saturated_softmax_fraction": report.get("saturated_softmax_fraction"),
                "paper_outcome": outcome,
                "paper_says": words,
                "consistent": _consistent(outcome, rate, fail_at_most, recover_at_least),
            }
        )
    return rows


def _consistent(outcome: str | None, rate: float, fail_at_most: float, recover_at_least: float) -> bool | None:
    if outcome is None or np.isnan(rate):
        return None
    return rate <= fail_at_most if outcome == "fails" else rate >= recover_at_least
