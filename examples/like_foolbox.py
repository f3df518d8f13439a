"""For a Foolbox, torchattacks or ART user: one call, images in [0, 1], untargeted by default.

    .venv/bin/python examples/like_foolbox.py
"""

import keras
import numpy as np

from cw_distillation.api import run


def main() -> dict[str, float]:
    rng = np.random.default_rng(0)
    templates = rng.uniform(0, 1, (10, 28, 28, 1))  # a toy task: one pattern per class, plus noise
    y_train = rng.integers(0, 10, 2000)
    x_train = np.clip(0.6 * templates[y_train] + rng.normal(0.2, 0.15, (2000, 28, 28, 1)), 0, 1).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])  # logits
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x_train, y_train, epochs=3, verbose=0)
    x, y = x_train[:8], y_train[:8]  # Foolbox: attack(fmodel, x, y, epsilons=...); ART: attack.generate(x, y)
    cw = run("l2", model, x, y, bounds=(0, 1), binary_search_steps=5, max_iterations=200)  # any wrong class
    apgd = run("apgd", model, x, y, bounds=(0, 1), eps=0.1, loss="dlr")  # L-inf ball of 0.1 in [0, 1]
    print(f"C&W L2: {cw.success.mean():.0%} broken, median L2 {np.nanmedian(cw.l2):.3f}")
    print(f"APGD-DLR, eps 0.1: robust accuracy {1 - apgd.success.mean():.0%}")
    return {"cw_success": float(cw.success.mean()), "cw_l2": float(np.nanmedian(cw.l2)),
            "apgd_success": float(apgd.success.mean())}


if __name__ == "__main__":
    main()
