"""Attack throughput: (image, target) pairs per second, batched vs one pair at a time (on demand).

Every attack runs with the same reduced settings on the MNIST Table I network, on the
9 wrong targets of the first correctly classified test images: once with all pairs in one
batch, once with ``batch_size=1`` (one pair at a time, as the released L0 and L-inf code
runs) on the first ``--single-images`` images' pairs, and at the ``--scaling`` batch
sizes. Each timed call includes its one-off tracing. The network is trained for one
quick epoch on ``--data`` (the workflow's prepared mnist.npz) or, without it, keeps its
random weights and attacks random images.

    python benchmarks/bench_attacks.py --data results/quick/data/mnist.npz --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import cw_distillation.autodiff  # noqa: F401  (sets KERAS_BACKEND before keras loads)

# isort: split
import keras
import numpy as np

from cw_distillation.attacks import cw_l0, cw_l2, cw_linf
from cw_distillation.evaluate import all_targets, select_images
from cw_distillation.models import build_model

ATTACKS: dict[str, Callable] = {"l2": cw_l2.attack, "l0": cw_l0.attack, "linf": cw_linf.attack}


def network_and_images(data: str | None, n_images: int) -> tuple[keras.Model, np.ndarray]:
    """The Table I MNIST network and n correctly classified images (N, 28, 28, 1)."""
    model = build_model("mnist", seed=0)
    if data is None:
        rng = np.random.default_rng(0)
        return model, rng.uniform(-0.5, 0.5, size=(n_images, 28, 28, 1)).astype(np.float32)
    with np.load(data) as z:
        x_train = z["x_train"][:10000].astype(np.float32) / 255 - 0.5
        y_train, y_test = z["y_train"][:10000], z["y_test"]
        x_test = z["x_test"].astype(np.float32) / 255 - 0.5
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x_train, y_train, batch_size=128, epochs=1, verbose=0)
    pred = np.argmax(model.predict(x_test[:200], verbose=0), axis=1)
    index, _ = select_images(pred, y_test[:200], n_images)
    return model, x_test[index]


def timed(attack: Callable, model: keras.Model, x: np.ndarray, target: np.ndarray,
          batch_size: int, settings: dict) -> tuple[float, float, float, float]:
    """(pairs per wall second, pairs per CPU second, mean optimiser steps per pair,
    success rate) of one call. CPU seconds (this process, all threads) are less at the
    mercy of other processes than wall seconds, but undercount what threads add."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = attack(model, x, target, batch_size=batch_size, **settings)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return (len(x) / wall, len(x) / cpu, float(result.iterations.mean()),
            float(result.success.mean()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="prepared mnist.npz (x_train, y_train, x_test, y_test)")
    ap.add_argument("--images", type=int, default=10, help="images; 9 pairs each")
    ap.add_argument("--single-images", type=int, default=1,
                    help="images whose pairs run one at a time (slow)")
    ap.add_argument("--scaling", type=int, nargs="*", default=[30],
                    help="extra batch sizes to time on all pairs")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--attacks", nargs="*", default=list(ATTACKS), choices=list(ATTACKS))
    ap.add_argument("--l2-steps", type=int, default=100, help="L2 max_iterations")
    ap.add_argument("--l0-steps", type=int, default=20, help="L0 max_iterations")
    ap.add_argument("--linf-steps", type=int, default=20, help="L-inf max_iterations")
    args = ap.parse_args()

    model, images = network_and_images(args.data, args.images)
    pred = np.argmax(keras.ops.convert_to_numpy(model(images)), axis=1)
    image, target = all_targets(pred)
    x = images[image]
    n_single = 9 * args.single_images
    settings = {
        "l2": {"max_iterations": args.l2_steps, "binary_search_steps": 9},
        "l0": {"max_iterations": args.l0_steps},
        "linf": {"max_iterations": args.linf_steps},
    }
    print(f"{len(x)} pairs; one at a time: the first {n_single}; settings {settings}")
    print("attack  mode        batch  pairs/s: median (runs)     pairs/CPU-s  steps/pair  success")
    for name in args.attacks:
        # (mode, batch size, pairs); repeats are interleaved so that load from other
        # processes drifts over every mode alike.
        configs = [("batched", len(x), len(x)), ("one-by-one", 1, n_single)]
        configs += [("batched", b, len(x)) for b in args.scaling]
        outs: dict[tuple, list] = {c: [] for c in configs}
        for _ in range(args.repeats):
            for mode, batch, n in configs:
                outs[mode, batch, n].append(
                    timed(ATTACKS[name], model, x[:n], target[:n], batch, settings[name]))
        medians: dict[tuple[str, int], tuple[float, float]] = {}
        for (mode, batch, _), out in outs.items():
            wall = statistics.median(o[0] for o in out)
            cpu = statistics.median(o[1] for o in out)
            medians[mode, batch] = (wall, cpu)
            rates = ", ".join(f"{o[0]:.2f}" for o in out)
            print(f"{name:6}  {mode:10}  {batch:5}  {wall:7.2f} ({rates})  {cpu:11.2f}"
                  f"  {out[0][2]:10.0f}  {out[0][3]:.2f}", flush=True)
        sw, sc = medians["one-by-one", 1]
        for (mode, batch), (bw, bc) in medians.items():
            if mode == "batched":
                print(f"{name:6}  batch {batch} ({len(x)} pairs) / one at a time: {bw / sw:.1f}x per wall "
                      f"second, {bc / sc:.1f}x per CPU second", flush=True)


if __name__ == "__main__":
    main()
