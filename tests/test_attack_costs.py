"""benchmarks/attack_costs.py projects each attack job of a profile from a few measured pairs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import cw_distillation.autodiff  # noqa: F401  (sets KERAS_BACKEND before keras loads)

# isort: split
import numpy as np
from conftest import REPO

from cw_distillation.data.prepare import scale
from cw_distillation.models import build_model, predict_logits, save_model


def test_every_job_gets_a_projection_from_its_measured_pairs(tmp_path: Path):
    model = build_model("mnist", seed=0)
    save_model(model, tmp_path / "standard.keras")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(12, 28, 28, 1), dtype=np.uint8)
    y = predict_logits(model, scale(x)).argmax(1)  # every test image "correctly classified"
    np.savez(tmp_path / "mnist.npz", x_train=x, y_train=y, x_test=x, y_test=y)
    reference = tmp_path / "reference/attacks/mnist/standard"
    reference.mkdir(parents=True)
    (reference / "l2.json").write_text(json.dumps({"mean_iterations": 1000.0}))
    done = subprocess.run(
        [sys.executable, "benchmarks/attack_costs.py", "--configfile", "config/tiny.yaml",
         "--model", str(tmp_path / "standard.keras"), "--data", str(tmp_path / "mnist.npz"),
         "--reference", str(tmp_path / "reference"), "--steps", "3", "--pairs", "2", "--only", "l2", "linf", "fgs",
         "deepfool"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {m[0]: m[1:] for m in re.findall(r"^\| standard/(\w+) \| (\d+) \| (.*?) \| (\S+) \|$", done.stdout, re.M)}
    assert set(rows) == {"l2", "linf", "fgs", "deepfool"}, done.stdout
    # the tiny profile attacks 2 images: 18 targeted pairs, 2 untargeted ones
    assert {name: int(r[0]) for name, r in rows.items()} == {"l2": 18, "linf": 18, "fgs": 18, "deepfool": 2}
    assert "ms per pair per Adam step (batch 18); reference 1000 steps per pair" in rows["l2"][1]
    assert float(rows["l2"][2]) > 0 and float(rows["fgs"][2]) > 0
    assert rows["linf"][2] == "?"  # no reference result: no projection, and it says so
    assert rows["fgs"][1].endswith("s for 2 pairs")
