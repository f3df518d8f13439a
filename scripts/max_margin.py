"""How confident can an adversarial example on this network be? (on demand; explains Figs. 9-10).

The transfer experiment asks the L2 attack for examples whose target logit beats every
other by kappa. Whether kappa is reachable at all is a property of the network: its logits
are piecewise linear in x and x is boxed in [-0.5, 0.5]. This script maximises the margin
Z_t - max_{i != t} Z_i alone (no distance term, Adam in the attacks' tanh space, the L2
attack's learning rate) for the pairs the workflow's transfer step attacks, and prints how
many pairs reach each kappa. The attack's loss at a large c is this one plus a distance
term, so a kappa that this ascent does not reach is, in practice, out of the attack's reach
too (gradient ascent finds a local maximum, not a proof that none is higher).

    python scripts/max_margin.py --data results/mnist10/data/mnist.npz \
        --model results/mnist10/models/mnist/half_a.keras --n-images 100 --targets random
"""

from __future__ import annotations

import argparse
import time

import cw_distillation.autodiff as autodiff

# isort: split
import numpy as np
from keras import ops

from cw_distillation.attacks.box import EPS_L2, from_tanh_space, to_tanh_space
from cw_distillation.attacks.cw_batch import adam_step, fresh_adam, target_and_other
from cw_distillation.datasets import NAMES
from cw_distillation.steps.attacking import network_and_images
from cw_distillation.transfer import transfer_pairs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="the workflow's prepared <dataset>.npz")
    ap.add_argument("--model", required=True, help="the source network (.keras)")
    ap.add_argument("--dataset", default="mnist", choices=NAMES)
    ap.add_argument("--n-images", type=int, default=100)
    ap.add_argument("--targets", default="random", choices=["all", "random"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--learning-rate", type=float, default=1e-2)
    ap.add_argument("--kappas", type=float, nargs="+", default=[0, 10, 20, 30, 40])
    args = ap.parse_args()

    model, arrays, images, _ = network_and_images(args)  # the transfer step's images
    image_index, target, _ = transfer_pairs(images, arrays["y_test"][images], [0.0], args.targets, args.seed)
    x = arrays["x_test"][image_index].astype(np.float32)
    onehot = ops.convert_to_tensor(np.eye(10, dtype=bool)[target])

    def negative_margin(w):
        real, other = target_and_other(model(from_tanh_space(w), training=False), onehot)
        return other - real

    def step(s):
        """One Adam step; returns -margin at the point it started from, and the new state."""
        value, grad = autodiff.value_and_grad(negative_margin, s["w"])
        return value, adam_step(s, grad, ops.ones(len(x), "bool"), args.learning_rate)

    step = autodiff.compile_fn(step)
    state = {k: ops.convert_to_tensor(v) for k, v in fresh_adam(ops.convert_to_numpy(to_tanh_space(x, EPS_L2))).items()}
    start = time.perf_counter()
    best = np.full(len(x), -np.inf)
    print(f"{len(x)} pairs ({args.n_images} images, targets {args.targets}) on {args.model}")
    print("step  seconds  margin percentiles 0/10/50/90/100   " + "  ".join(f">= {k:g}" for k in args.kappas))
    for i in range(args.steps + 1):  # the margin at each of the steps + 1 points, from one forward pass each
        if i < args.steps:
            value, state = step(state)
        else:
            value = negative_margin(state["w"])
        best = np.maximum(best, -ops.convert_to_numpy(value))
        if i % max(1, args.steps // 6) == 0 or i == args.steps:
            pct = np.percentile(best, [0, 10, 50, 90, 100])
            reach = "  ".join(f"{np.mean(best >= k):6.1%}" for k in args.kappas)
            print(f"{i:5d}  {time.perf_counter() - start:7.0f}  {' '.join(f'{p:6.1f}' for p in pct)}   {reach}",
                  flush=True)


if __name__ == "__main__":
    main()
