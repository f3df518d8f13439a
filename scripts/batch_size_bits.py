"""Does a row's input gradient keep its bits when the batch around it changes size?

Why a rerun of a few C&W pairs is only "close" (cw_distillation.rerun): TensorFlow's CPU
kernels pick their algorithm by batch size. For test image 0 of the prepared data, this prints,
per batch size b, whether its logits and the gradient of sum(z^2) with respect to the input
equal those computed in a batch of 450 (the other rows: the next test images).

    python scripts/batch_size_bits.py results/mnist10/models/mnist/standard.keras \\
        results/mnist10/data/mnist.npz mnist
"""

from __future__ import annotations

import argparse

import cw_distillation.autodiff  # noqa: F401 (first: it sets KERAS_BACKEND)

# isort: split
import numpy as np


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("data")
    p.add_argument("dataset")
    p.add_argument("--sizes", type=int, nargs="+", default=[*range(1, 21), 31, 32, 33, 64, 100, 256, 449])
    args = p.parse_args()
    import tensorflow as tf

    from cw_distillation.data.prepare import load_dataset
    from cw_distillation.models import load_model

    model = load_model(args.model, args.dataset)
    x = load_dataset(args.data)["x_test"][:450]

    def grads(xb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xb = tf.constant(xb)
        with tf.GradientTape() as tape:
            tape.watch(xb)
            z = model(xb, training=False)
            loss = tf.reduce_sum(z * z)
        return z.numpy(), tape.gradient(loss, xb).numpy()

    z_ref, g_ref = grads(x)
    print("batch  logits-equal  gradient-equal  max|gradient difference|")
    for b in args.sizes:
        z, g = grads(x[:b])
        print(f"{b:5d}  {np.array_equal(z[0], z_ref[0])!s:12}  {np.array_equal(g[0], g_ref[0])!s:14}  "
              f"{float(np.abs(g[0] - g_ref[0]).max()):.3g}")


if __name__ == "__main__":
    main()
