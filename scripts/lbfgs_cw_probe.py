#!/usr/bin/env python3
"""Why L-BFGS with the C&W objective needs a margin: rerun it on the first pairs of a stored
L-BFGS-with-the-C&W-objective result, with a chosen kappa and with or without keeping the best
successful iterate, and print success and L2 beside the stored result's, pair by pair.

    python scripts/lbfgs_cw_probe.py --pairs 18 --kappa 1 --keep-best \\
        --stored store/mnist10/attacks/mnist/distilled_T100/lbfgs_cw.npz \\
        --model store/mnist10/models/mnist/distilled_T100.keras --data results/mnist10/data/mnist.npz

(docs/measurements/lbfgs_cw_fix.md has the numbers of issue 33.)
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from cw_distillation.attacks import lbfgs
from cw_distillation.data.prepare import load_dataset
from cw_distillation.datasets import NAMES
from cw_distillation.models import load_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stored", required=True, help="a stored lbfgs_cw .npz (its pairs are rerun)")
    parser.add_argument("--model", required=True, help="the network it attacked (.keras)")
    parser.add_argument("--data", required=True, help="the prepared dataset (.npz)")
    parser.add_argument("--dataset", default="mnist", choices=NAMES)
    parser.add_argument("--pairs", type=int, default=18, help="the first N pairs of the stored result")
    parser.add_argument("--kappa", type=float, default=0.0, help="margin of the C&W objective")
    parser.add_argument("--keep-best", action="store_true", help="keep the best successful evaluated point")
    args = parser.parse_args()

    old = np.load(args.stored)
    n = args.pairs
    model = load_model(args.model, args.dataset)
    index, target, label = old["image_index"][:n], old["target"][:n], old["label"][:n]
    x = load_dataset(args.data)["x_test"][index]
    start = time.perf_counter()
    new = lbfgs.attack(model, x, target, label=label, image_index=index, objective="cw", kappa=args.kappa,
                keep_best=args.keep_best)
    print(f"kappa {args.kappa:g}, keep_best {args.keep_best}: {time.perf_counter() - start:.0f} s")
    print(f"stored: {int(old['success'][:n].sum())}/{n} succeed, mean L2 {np.nanmean(old['l2'][:n]):.3f}")
    print(f"now:    {int(new.success.sum())}/{n} succeed, mean L2 {np.nanmean(new.l2):.3f}")
    for i in range(n):
        print(f"  image {index[i]} target {target[i]}: stored L2 {old['l2'][i]:.3f}, now {new.l2[i]:.3f}")


if __name__ == "__main__":
    main()
