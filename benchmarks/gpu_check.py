"""The prepared GPU check (issue 20): C&W step throughput by batch size, then a Table VI slice.

Run by benchmarks/gpu_check.sh on a machine with JAX and a GPU (no TensorFlow, no network);
``prepare`` runs here first, with the project's environment, and writes what travels:

    python benchmarks/gpu_check.py prepare --network store/mnist10/models/mnist/distilled_T100.keras \\
        --data results/mnist10/data/mnist.npz --out .gpu_check
    KERAS_BACKEND=jax python benchmarks/gpu_check.py run --inputs .gpu_check --out gpu_check_out

``run`` prints (and writes as JSON) the pair-iterations per second of the C&W L2 step at
batch sizes 100 to 10,000; then the three C&W attacks at the released settings on the first
50 correctly classified images x 9 targets, each in its own process under a share of the time
budget, with wall time, success and mean distance; then the projected time of the paper's
MNIST Table VI (1,000 images), from the slice's wall time and from its optimiser steps over the
best measured throughput. ``--dry`` runs the same code at tiny sizes (the test suite's check);
``--throughput-only --batches 9 90 450`` on this CPU gives the baseline the GPU is compared with.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

PAPER_IMAGES = 1000  # MNIST Table VI: 1,000 images x 9 targets
BATCHES = (100, 300, 1000, 3000, 10000)
THROUGHPUT_STEPS = 200
DRY = {"batches": (4, 8), "steps": 5, "images": 1,
       "settings": {"l2": {"binary_search_steps": 2, "max_iterations": 20},
                    "l0": {"max_iterations": 10}, "linf": {"max_iterations": 10}}}


def prepare(network: str, data: str | None, out: Path, n_images: int) -> None:
    """The network and its first n correctly classified test images (or, with no data, random
    images labelled by the network: the dry run's inputs)."""
    import cw_distillation.autodiff  # noqa: F401  (sets KERAS_BACKEND before keras loads)

    # isort: split
    import keras

    from cw_distillation.evaluate import select_images
    from cw_distillation.models import predict_logits

    model = keras.models.load_model(network, compile=False)
    if data:
        from cw_distillation.data.prepare import load_dataset

        arrays = load_dataset(data)
        x, y = arrays["x_test"].astype(np.float32), np.asarray(arrays["y_test"])
        index, _ = select_images(np.argmax(predict_logits(model, x[: 3 * n_images]), 1), y[: 3 * n_images], n_images)
        x, y = x[index], y[index]
    else:
        x = np.random.default_rng(0).uniform(-0.5, 0.5, (n_images, *model.input_shape[1:])).astype(np.float32)
        y = np.argmax(predict_logits(model, x), 1)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "network.keras")
    np.savez(out / "inputs.npz", x=x, y=y, network=np.array(network))
    print(f"wrote {out}/network.keras and {out}/inputs.npz ({len(x)} images)")


def load(inputs: Path):
    import cw_distillation.autodiff  # noqa: F401  (sets KERAS_BACKEND before keras loads)

    # isort: split
    import keras

    from cw_distillation.evaluate import all_targets

    model = keras.models.load_model(inputs / "network.keras", compile=False)
    with np.load(inputs / "inputs.npz") as z:
        x, y = z["x"], z["y"]
    return model, x, y, all_targets


def throughput(inputs: Path, batches: tuple[int, ...], steps: int) -> list[dict]:
    """Pair-iterations per second of the C&W L2 step: ``steps`` Adam steps of B pairs (one value
    of c, no early abort), timed on the second call (the first compiles)."""
    from cw_distillation.attacks import cw_l2

    model, x, y, all_targets = load(inputs)
    image, target = all_targets(y)
    rows = []
    for b in batches:
        pick = np.resize(np.arange(len(image)), b)
        settings = {"binary_search_steps": 1, "max_iterations": steps, "abort_early": False, "batch_size": b}
        cw_l2.attack(model, x[image[pick]], target[pick], **settings)
        start = time.perf_counter()
        cw_l2.attack(model, x[image[pick]], target[pick], **settings)
        wall = time.perf_counter() - start
        rows.append({"batch": b, "seconds": wall, "pair_iterations_per_s": b * steps / wall})
        print(f"  batch {b:>6}: {b * steps / wall:>12,.0f} pair-iterations/s ({wall:.2f} s)", flush=True)
    return rows


def one_attack(inputs: Path, attack: str, n_images: int, settings: dict, out: Path) -> None:
    """One attack of the slice at the released settings (the attack's defaults) on the first
    n images x 9 targets, all pairs in one batch; writes its summary to ``out``."""
    from cw_distillation.attacks import cw_l0, cw_l2, cw_linf

    model, x, y, all_targets = load(inputs)
    image, target = all_targets(y[:n_images])
    fn = {"l2": cw_l2.attack, "l0": cw_l0.attack, "linf": cw_linf.attack}[attack]
    start = time.perf_counter()
    result = fn(model, x[image], target, batch_size=len(image), **settings)
    wall = time.perf_counter() - start
    distance = getattr(result, attack)
    out.write_text(json.dumps({
        "attack": attack, "images": n_images, "pairs": len(image), "seconds": wall,
        "success": float(result.success.mean()), "mean_distance": float(np.nanmean(distance)),
        "optimiser_steps": int(result.iterations.sum()), "settings": result.meta,
    }))


def run(inputs: Path, out: Path, dry: bool, budget_s: float, batches: tuple[int, ...] | None = None,
        steps: int | None = None, throughput_only: bool = False) -> dict:
    import cw_distillation.autodiff as autodiff

    out.mkdir(parents=True, exist_ok=True)
    batches = batches or (DRY["batches"] if dry else BATCHES)
    steps = steps or (DRY["steps"] if dry else THROUGHPUT_STEPS)
    n_images = DRY["images"] if dry else 50
    start = time.perf_counter()
    print(f"backend {autodiff.BACKEND}, GPU: {autodiff.gpu_available()}; C&W L2 step throughput:", flush=True)
    report = {"backend": autodiff.BACKEND, "gpu": autodiff.gpu_available(), "dry": dry,
              "throughput": throughput(inputs, batches, steps), "slice": []}
    best = max(r["pair_iterations_per_s"] for r in report["throughput"])
    attacks = () if throughput_only else ("l2", "linf", "l0")
    for i, attack in enumerate(attacks):
        left = budget_s - (time.perf_counter() - start)
        share = left / (len(attacks) - i)
        target = out / f"slice_{attack}.json"
        settings = json.dumps(DRY["settings"][attack] if dry else {})
        print(f"Table VI slice, {attack}: {n_images} images x 9 targets, at most {share:.0f} s ...", flush=True)
        try:
            subprocess.run([sys.executable, __file__, "slice", "--inputs", str(inputs), "--attack", attack,
                            "--images", str(n_images), "--settings", settings, "--out", str(target)],
                           check=True, timeout=max(share, 1))
            row = json.loads(target.read_text())
            # Projections for 1,000 images: the slice's wall time x 20 (batches of this size, one
            # after another), and its optimiser steps x 20 over the best measured throughput (one
            # large batch; for L0 and L-inf an estimate, since their step costs about L2's).
            scale = PAPER_IMAGES / n_images
            row["projected_paper_s_linear"] = row["seconds"] * scale
            row["projected_paper_s_at_best_throughput"] = row["optimiser_steps"] * scale / best
        except subprocess.TimeoutExpired:
            row = {"attack": attack, "images": n_images, "seconds": None,
                   "note": f"did not finish within its {share:.0f} s share of the budget"}
        except subprocess.CalledProcessError as err:
            row = {"attack": attack, "images": n_images, "seconds": None, "note": f"failed (exit {err.returncode})"}
        report["slice"].append(row)
        print("  " + json.dumps(row), flush=True)
    report["seconds"] = time.perf_counter() - start
    (out / "gpu_check.json").write_text(json.dumps(report, indent=1))
    print(f"wrote {out / 'gpu_check.json'} ({report['seconds']:.0f} s)")
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="write the network and images that travel to the GPU machine")
    p.add_argument("--network", required=True)
    p.add_argument("--data", help="a prepared mnist.npz; without it, random images (for --dry)")
    p.add_argument("--images", type=int, default=PAPER_IMAGES)
    p.add_argument("--out", type=Path, default=Path(".gpu_check"))
    r = sub.add_parser("run", help="throughput by batch size, then the Table VI slice")
    r.add_argument("--inputs", type=Path, default=Path(".gpu_check"))
    r.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "gpu_check_out")))
    r.add_argument("--dry", action="store_true", help="tiny sizes (a CPU check of the script itself)")
    r.add_argument("--budget-s", type=float, default=420.0, help="seconds for the whole check")
    r.add_argument("--batches", type=int, nargs="*", help=f"batch sizes of the throughput part (default {BATCHES})")
    r.add_argument("--steps", type=int, help=f"Adam steps per timed call (default {THROUGHPUT_STEPS})")
    r.add_argument("--throughput-only", action="store_true", help="no Table VI slice (the CPU baseline)")
    s = sub.add_parser("slice", help=argparse.SUPPRESS)
    s.add_argument("--inputs", type=Path, required=True)
    s.add_argument("--attack", required=True)
    s.add_argument("--images", type=int, required=True)
    s.add_argument("--settings", default="{}")
    s.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    if args.command == "prepare":
        prepare(args.network, args.data, args.out, args.images)
    elif args.command == "run":
        run(args.inputs, args.out, args.dry, args.budget_s, tuple(args.batches or ()), args.steps,
            args.throughput_only)
    else:
        one_attack(args.inputs, args.attack, args.images, json.loads(args.settings), args.out)


if __name__ == "__main__":
    main()
