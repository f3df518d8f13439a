"""The library example runs as a user would run it, and every attack in it succeeds on its model."""

import math
import runpy

from conftest import REPO


def test_the_library_example_attacks_a_model_of_its_own():
    example = runpy.run_path(str(REPO / "examples/attack_any_keras_model.py"))
    summary = example["main"](["--quick"])
    assert set(summary) == {"C&W L2", "C&W L0", "C&W L-inf", "FGS", "IGS", "JSMA-Z", "L-BFGS", "DeepFool"}
    for name, row in summary.items():
        assert row["success"] > 0, name
        assert all(not math.isnan(row[m]) for m in ("l0", "l2", "linf")), name
    # each attack is best in the distance it minimises, against the others here
    assert summary["C&W L0"]["l0"] < summary["C&W L2"]["l0"]
    assert summary["C&W L-inf"]["linf"] <= summary["FGS"]["linf"] + 1e-6
