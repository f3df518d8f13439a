#!/usr/bin/env python3
"""Issue 33: how the size of the logits depends on training, for VIII.A's logit-size rows.

The paper's "mean L1 norm of Z" (5.8 +- 6.4 undistilled, 482 +- 457 distilled at T = 100; in
the reading the report judges, the absolute value of each logit) is compared with the stored
MNIST networks: several trained 10 epochs from different starts (standard; teacher and student
at T = 1, which start from the 1-epoch init network; the two halves of the transfer
experiment, each on half the data), so the spread between runs of one training length, and the
same networks trained 50 epochs. Writes the statistics (on the 10,000 test images) as JSON.

    python scripts/logit_sizes.py --data results/mnist50/data/mnist.npz \\
        --out docs/measurements/logit_sizes.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cw_distillation.data.prepare import load_dataset
from cw_distillation.logits import logit_statistics
from cw_distillation.models import load_model

NETWORKS = {
    "mnist10": ("standard", "teacher_T1", "distilled_T1", "half_a", "half_b", "teacher_T100", "distilled_T100"),
    "mnist50": ("standard", "teacher_T100", "distilled_T100"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, type=Path, help="the prepared MNIST dataset (.npz)")
    parser.add_argument("--store", default=Path("store"), type=Path, help="the store holding the profiles' networks")
    parser.add_argument("--out", type=Path, help="JSON of the statistics")
    args = parser.parse_args()
    x = load_dataset(args.data)["x_test"]
    sizes = {}
    for profile, names in NETWORKS.items():
        for name in names:
            path = args.store / profile / "models" / "mnist" / f"{name}.keras"
            stats = logit_statistics(load_model(path, "mnist").predict(x, verbose=0, batch_size=1000))
            sizes[str(path)] = {"abs_component_mean": stats["abs_component_mean"],
                                "abs_component_std": stats["abs_component_std"], "test_images": stats["n"]}
            print(f"{path}: {stats['abs_component_mean']:.3f} +- {stats['abs_component_std']:.3f}", flush=True)
    if args.out:
        args.out.write_text(json.dumps(sizes, indent=1) + "\n")


if __name__ == "__main__":
    main()
