#!/usr/bin/env python3
"""Issue 33's two attack fixes, before -> after, pair by pair: each stored JSMA and L-BFGS-with-C&W-
objective result of mnist10 and cifar10 as the commit before the fixes stored it, against the store
now, on the (image, target) pairs both hold (pairing, issue 32, changed some images).

    python scripts/fixes_before_after.py fa4040b^ > docs/measurements/issue33_fixes_before_after.md
"""

from __future__ import annotations

import argparse
import io
import subprocess
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
PROFILES = {"mnist10": "mnist", "cifar10": "cifar10"}
NETWORKS = ("standard", "distilled_T100")
ATTACKS = {"jsma_z": "l0", "jsma_f": "l0", "jsma_f_divT": "l0", "lbfgs_cw": "l2"}  # result -> its distance


def stored_at(ref: str, path: str) -> dict[str, np.ndarray] | None:
    """The arrays of a stored result at a git commit, or None where it had none."""
    run = subprocess.run(["git", "show", f"{ref}:{path}"], cwd=REPO, capture_output=True)
    if run.returncode:
        return None
    with np.load(io.BytesIO(run.stdout), allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def on_pairs(result: dict[str, np.ndarray], pairs: set[tuple[int, int]]) -> dict[str, np.ndarray]:
    keep = np.array([p in pairs for p in zip(result["image_index"].tolist(), result["target"].tolist(), strict=True)])
    return {k: v[keep] for k, v in result.items() if v.ndim and len(v) == len(keep)}  # per-pair arrays


def summary(result: dict[str, np.ndarray], metric: str) -> str:
    """Successes of all pairs, and the mean distance of the successful ones."""
    ok = result["success"].astype(bool)
    mean = f", mean {metric} {np.mean(result[metric][ok]):.3g}" if ok.any() else ""
    return f"{int(ok.sum())} of {len(ok)} ({100 * ok.mean():.1f}%){mean}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before", help="the commit before the fixes (fa4040b^)")
    args = parser.parse_args()
    print(f"Before: the store at {args.before}; after: the store now. Same pairs: those both results hold.\n")
    print("| profile | network | result | same pairs | before | after | after, every pair |")
    print("|---|---|---|---|---|---|---|")
    for profile, dataset in PROFILES.items():
        for network in NETWORKS:
            for attack, metric in ATTACKS.items():
                path = f"store/{profile}/attacks/{dataset}/{network}/{attack}.npz"
                old = stored_at(args.before, path)
                if old is None or not (REPO / path).exists():
                    continue
                with np.load(REPO / path, allow_pickle=False) as data:
                    new = {k: data[k] for k in data.files}
                pairs = {*zip(old["image_index"].tolist(), old["target"].tolist(), strict=True)} & {
                    *zip(new["image_index"].tolist(), new["target"].tolist(), strict=True)}
                print(f"| {profile} | {network} | {attack} | {len(pairs)} | {summary(on_pairs(old, pairs), metric)} "
                      f"| {summary(on_pairs(new, pairs), metric)} | {summary(new, metric)} |")


if __name__ == "__main__":
    main()
