"""What each attack job of a profile will cost on this machine, before it is launched (on demand).

Measured on a few pairs of a trained network of the profile, projected to the profile's pairs:

- the C&W attacks (L0, L2, L-inf): the seconds of one pair's Adam step in a full batch (the
  job's pairs, up to its batch size), from a short run with a small budget, times the Adam
  steps per pair the attack took on a reference result (by default the same job of the mnist10
  store: how many steps the released settings need is a property of the search, which a short
  run cannot show);
- every other attack and fragility variant: the real attack, at the profile's settings, on the
  first ``--pairs`` pairs, scaled linearly to the job's pairs.

    python benchmarks/attack_costs.py --configfile config/cifar10.yaml \\
        --model results/cifar10/models/cifar10/standard.keras --data results/cifar10/data/cifar10.npz

Prints one markdown row per job: pairs, what was measured, the projected hours. A projection,
not a promise: other processes on the machine and a different step count change it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cw_distillation.autodiff  # noqa: F401  (sets KERAS_BACKEND before keras loads)

# isort: split
import numpy as np

from cw_distillation import evaluate, plan
from cw_distillation.attacks.registry import OUR_ATTACKS, RUNNERS
from cw_distillation.config import workflow_config
from cw_distillation.steps.attacking import network_and_images

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow/schemas/config.schema.yaml"
# A short C&W run: one value of c, no early abort (every pair takes the same steps), or a search
# that gives up at once; only the seconds per Adam step are read from it.
SHORT = {
    "l2": lambda steps: {"binary_search_steps": 1, "max_iterations": steps, "abort_early": False},
    "l0": lambda steps: {"max_iterations": steps, "largest_const": 1.5e-3},
    "linf": lambda steps: {"max_iterations": steps, "largest_const": 1.5e-5},
}


def jobs(config: dict, model: str) -> list[str]:
    """The attack variants the workflow runs on ``model`` (the table attacks; on the main distilled
    network also the fragility variants)."""
    attacks = config["attacks"]
    variants = list(attacks["table_attacks"])
    if model.startswith("distilled_T"):
        variants += attacks["fragility_variants"]
    return variants


def pairs_of(config: dict, model: str, variant: str, images: np.ndarray, labels: np.ndarray) -> tuple:
    """(test image index, target; None for an untargeted attack) of each of the job's pairs, as
    `cw-distillation attack` makes them from the first correctly classified test images."""
    attack, _, targets = plan.attack_spec(config, model, variant)
    n = plan.attack_images(config, config["datasets"][0], variant)
    if RUNNERS[attack].targeted:
        return evaluate.target_pairs(images[:n], labels[images[:n]], targets, config["seed"])
    return images[:n], None


def timed(fn, model, x: np.ndarray, target: np.ndarray | None, k: int, per_pair: dict, options: dict):
    """(result, wall seconds) of the attack ``fn`` on the first k pairs (``per_pair``: arrays of one
    entry per pair, cut to k like x and target)."""
    t0 = time.perf_counter()
    result = fn(model, x[:k], None if target is None else target[:k], **{key: v[:k] for key, v in per_pair.items()},
                **options)
    return result, time.perf_counter() - t0


def reference_steps(reference: Path, dataset: str, model: str, variant: str) -> float | None:
    path = reference / "attacks" / dataset / model / f"{variant}.json"
    return json.loads(path.read_text())["mean_iterations"] if path.is_file() else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configfile", required=True, type=Path, help="the profile, e.g. config/cifar10.yaml")
    ap.add_argument("--model", required=True, type=Path, help="a trained network of the profile (.keras)")
    ap.add_argument("--data", required=True, type=Path, help="the profile's prepared <dataset>.npz")
    ap.add_argument("--pairs", type=int, default=9, help="pairs each earlier attack runs for real")
    ap.add_argument("--steps", type=int, default=50, help="Adam steps per value of c of the short C&W runs")
    ap.add_argument("--reference", type=Path, default=REPO / "store/mnist10",
                    help="results whose mean Adam steps per pair the C&W projections use")
    ap.add_argument("--reference-dataset", default="mnist")
    ap.add_argument("--only", nargs="*", help="these variants only")
    args = ap.parse_args()

    config = workflow_config([args.configfile], SCHEMA)
    name = args.model.stem
    dataset = config["datasets"][0]
    # the attack step's own choice of images: the first n_images the network classifies correctly
    model, arrays, images, _ = network_and_images(argparse.Namespace(
        data=args.data, model=args.model, dataset=dataset, n_images=config["attacks"]["n_images"][dataset]))
    batch = config["attacks"]["batch_size"]
    print(f"{name} ({dataset}), batch size {batch}; C&W: {args.steps}-step runs x the Adam steps per pair of "
          f"{args.reference}; others: the real attack on {args.pairs} pairs")
    print("| job | pairs | measured | projected hours |\n|---|---|---|---|")
    for variant in args.only or jobs(config, name):
        attack, options, _ = plan.attack_spec(config, name, variant)
        index, target = pairs_of(config, name, variant, images, arrays["y_test"])
        runner = RUNNERS[attack]
        fn = runner.attack
        x, label = arrays["x_test"][index], arrays["y_test"][index]

        common = {"image_index": index, "label": label}  # as `cw-distillation attack` calls it
        if variant in OUR_ATTACKS:
            k = min(len(x), batch)
            short = {**options, **SHORT[attack](args.steps), "batch_size": k}
            result, wall = timed(fn, model, x, target, k, common, short)
            per_step = wall / float(np.sum(result.iterations))  # one pair's Adam step, in a batch of k
            steps = reference_steps(args.reference, args.reference_dataset, name, variant)
            hours = None if steps is None else per_step * steps * len(x) / 3600
            measured = (f"{per_step * 1000:.2f} ms per pair per Adam step (batch {k}); reference "
                        f"{'?' if steps is None else f'{steps:.0f}'} steps per pair")
        else:
            k = min(len(x), args.pairs)
            _, wall = timed(fn, model, x, target, k, common, {**options, "batch_size": batch})
            hours = wall / k * len(x) / 3600
            measured = f"{wall:.1f} s for {k} pairs"
        shown = "?" if hours is None else f"{hours:.3g}"
        print(f"| {name}/{variant} | {len(x)} | {measured} | {shown} |", flush=True)


if __name__ == "__main__":
    main()
