"""Security curves (issue 35): the fraction of pairs an attack broke within distance d."""

from __future__ import annotations

import numpy as np

from cw_distillation.attacks.result import AttackResult
from cw_distillation.outputs.security_curves import broken_within, curve_rows


def result(l2: list[float], success: list[bool]) -> AttackResult:
    n = len(l2)
    return AttackResult(
        x_adv=np.zeros((n, 2, 2, 1), np.float32), success=np.array(success), l0=np.ones(n),
        l2=np.array(l2, np.float32), linf=np.ones(n), iterations=np.zeros(n, np.int64), seconds=np.zeros(n),
        image_index=np.arange(n), target=np.zeros(n, np.int64), label=np.ones(n, np.int64), meta={},
    )


def test_a_pair_counts_as_broken_from_its_distance_on_and_a_failed_pair_never():
    r = result([1.0, 2.0, 3.0, 9.0], [True, True, True, False])
    np.testing.assert_allclose(broken_within(r, "l2", np.array([0.0, 1.0, 2.5, 3.0, 100.0])),
                               [0, 0.25, 0.5, 0.75, 0.75])


def test_curves_of_a_panel_share_log_spaced_distances_over_its_successes():
    results = {("mnist", "standard", "l2"): result([1.0, 2.0], [True, True]),
               ("mnist", "distilled", "l2"): result([8.0, 0.0], [True, False]),
               ("mnist", "distilled", "fgs"): result([0.5, 0.5], [False, False])}
    rows = curve_rows(results, {"l2": "l2", "fgs": "linf"}, points=5)
    by = {(r["network"], r["attack"]): r for r in rows}
    l2 = [r["distance"] for r in rows if r["attack"] == "l2" and r["network"] == "standard"]
    np.testing.assert_allclose(l2, [0.0, 1.0, 2.0, 4.0, 8.0])  # 0, then 1 to 8 evenly on a log scale
    assert [r["broken"] for r in rows if r["attack"] == "l2" and r["network"] == "standard"] == [0, 0.5, 1, 1, 1]
    assert [r["broken"] for r in rows if r["attack"] == "l2" and r["network"] == "distilled"] == [0, 0, 0, 0, 0.5]
    fgs = [r for r in rows if r["attack"] == "fgs"]
    assert len(fgs) == 1 and fgs[0]["broken"] == 0.0, "nothing succeeded: one point, at 0"
    assert by[("standard", "l2")]["pairs"] == 2
