"""Count the pixels an L0 result changed under two rules: issue 15's fix 1, before and after.

Before the fix a pixel counted as changed when some channel moved by more than 1e-6; the released
l0_attack.py (and we, since) treat a move below 1e-4 as no change. Prints the best / average /
worst mean L0 of each rule (evaluate.best_average_worst, seeded as the tables are).

    .venv/bin/python scripts/l0_recount.py results/mnist10/data/mnist.npz \\
        results/mnist10/attacks/mnist/distilled_T100/l0.npz
"""

from __future__ import annotations

import argparse
import dataclasses
import json

from cw_distillation import evaluate
from cw_distillation.attacks.result import AttackResult, distances
from cw_distillation.data.prepare import load_dataset

RULES = {"released_1e-4": 1e-4, "before_fix_1e-6": 1e-6}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data")
    p.add_argument("result")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    x_test = load_dataset(args.data)["x_test"]
    result = AttackResult.load(args.result)
    out = {}
    for name, threshold in RULES.items():
        l0, _, _ = distances(x_test[result.image_index], result.x_adv, l0_changed=threshold)
        cases = evaluate.best_average_worst(dataclasses.replace(result, l0=l0), rng_seed=args.seed)["l0"]
        out[name] = {case: round(v["mean"], 2) for case, v in cases.items()}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
