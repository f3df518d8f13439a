"""The C&W L2 attack under two early-abort scopes and two start factors, on the same pairs.

Issue 15's fixes 2 and 3: the released l2_attack.py decides its early abort on the summed loss
of the batch it optimises and starts from w = arctanh(2x * 0.999999); we abort per image's
group of 9 targets by default ("image"; "pair" decides per pair) and start with the released
factor (eps 1e-6; before the fix, the L0/L-infinity factor, eps 5e-7). Each run attacks the
first N correctly classified test images x 9 targets at the released settings, in one batch, and
the JSON gives per run: success, the mean L2 distance over successful pairs, the mean Adam steps
per pair, the wall time, and per-pair relative differences against the first run.

    .venv/bin/python scripts/l2_abort_and_start.py results/mnist10/data/mnist.npz \\
        results/mnist10/models/mnist/distilled_T100.keras --n-images 10 --out docs/measurements/l2_abort_scope.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from cw_distillation import evaluate
from cw_distillation.attacks import cw_l2
from cw_distillation.data.prepare import load_dataset
from cw_distillation.files import sha256_file
from cw_distillation.models import load_model, predict_logits

RUNS = {  # name: (abort_scope, eps of the start)
    "image_eps1e-6": ("image", 1e-6),
    "pair_eps1e-6": ("pair", 1e-6),
    "image_eps5e-7": ("image", 5e-7),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data")
    p.add_argument("model")
    p.add_argument("--n-images", type=int, default=10)
    p.add_argument("--runs", nargs="+", default=list(RUNS), choices=list(RUNS))
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    arrays = load_dataset(args.data)
    x_test, y_test = arrays["x_test"], arrays["y_test"]
    model = load_model(args.model, "mnist")
    pred = predict_logits(model, x_test[:200]).argmax(1)
    images, _ = evaluate.select_images(pred, y_test[:200], args.n_images)
    index, target = evaluate.target_pairs(images, y_test[images], "all", 0)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    out = {
        "command": " ".join(sys.argv),
        "git_commit": commit,
        "model_sha256": sha256_file(args.model),
        "pairs": len(index),
        "images": images.tolist(),
        "settings": "binary_search_steps 9, max_iterations 10000, learning_rate 0.01, initial_const 0.001",
        "runs": {},
    }
    arrays_out = {}
    for name in args.runs:
        scope, eps = RUNS[name]
        cw_l2.EPS_L2 = eps  # the module-level factor the attack reads when it starts
        start = time.perf_counter()
        result = cw_l2.attack(
            model,
            x_test[index],
            target,
            abort_scope=scope,
            batch_size=len(index),
            image_index=index,
        )
        wall = time.perf_counter() - start
        ok = result.success
        out["runs"][name] = {
            "abort_scope": scope,
            "eps": eps,
            "success": float(ok.mean()),
            "mean_l2": float(result.l2[ok].mean()),
            "mean_adam_steps": float(result.iterations.mean()),
            "wall_s": round(wall, 1),
        }
        arrays_out[name] = (result.l2, ok, result.iterations)
        print(name, json.dumps(out["runs"][name]), flush=True)
    first = args.runs[0]
    l2_0, ok_0, _ = arrays_out[first]
    for name in args.runs[1:]:
        l2, ok, _ = arrays_out[name]
        both = ok & ok_0
        rel = (l2[both] - l2_0[both]) / l2_0[both]
        out["runs"][name][f"vs_{first}"] = {
            "mean_l2_ratio": out["runs"][name]["mean_l2"] / out["runs"][first]["mean_l2"],
            "pairwise_relative_difference_mean": float(rel.mean()),
            "pairwise_relative_difference_median": float(np.median(rel)),
            "pairwise_relative_difference_max_abs": float(np.abs(rel).max()),
            "success_differs_on_pairs": int((ok != ok_0).sum()),
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
