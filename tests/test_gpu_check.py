"""The prepared GPU check runs end to end in its dry mode (tiny sizes, JAX on this CPU)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cw_distillation.autodiff  # noqa: F401  (sets KERAS_BACKEND before keras loads)

# isort: split
from conftest import REPO

from cw_distillation.models import build_model, save_model


def test_the_gpu_check_dry_mode_runs_and_reports_every_part(tmp_path: Path):
    save_model(build_model("mnist", seed=0), tmp_path / "net.keras")
    inputs, out = tmp_path / "inputs", tmp_path / "out"
    subprocess.run([sys.executable, "benchmarks/gpu_check.py", "prepare", "--network", str(tmp_path / "net.keras"),
                    "--images", "3", "--out", str(inputs)], cwd=REPO, check=True, capture_output=True, timeout=300)
    env = {**os.environ, "GPU_CHECK_PYTHON": sys.executable, "GPU_CHECK_INPUTS": str(inputs), "OUT": str(out),
           "GPU_CHECK_BUDGET_S": "1500"}  # a loaded CPU must not time the slice out
    env.pop("KERAS_BACKEND", None)  # the script's own default: jax
    done = subprocess.run(["bash", "benchmarks/gpu_check.sh", "--dry"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((out / "gpu_check.json").read_text())
    assert report["backend"] == "jax" and report["dry"] is True
    assert [r["batch"] for r in report["throughput"]] == [4, 8]
    assert all(r["pair_iterations_per_s"] > 0 for r in report["throughput"])
    assert [r["attack"] for r in report["slice"]] == ["l2", "linf", "l0"]
    for row in report["slice"]:
        assert row.get("pairs") == 9 and row["seconds"] > 0, row
        assert row["projected_paper_s_linear"] == row["seconds"] * 1000
        assert row["projected_paper_s_at_best_throughput"] > 0
