"""The attacks as a library: every attack of this project on a Keras 3 model of your own.

Any Keras 3 model that maps images in [-0.5, 0.5] (N, H, W, C) to logits Z (N, K) will do;
here a small one is trained for a few seconds on synthetic 10-class patterns, so that the
example needs no download. Every attack has the same call shape,

    result = module.attack_function(model, x, target_or_label, **options) -> AttackResult

with x (N, H, W, C) float32 in [-0.5, 0.5] and target (N,) int (DeepFool, untargeted, takes the
true labels); the result holds x_adv, success, and the L0 / L2 / L-infinity distances per pair.

    .venv/bin/python examples/attack_any_keras_model.py            # released settings, 4 pairs
    .venv/bin/python examples/attack_any_keras_model.py --quick    # small budgets (seconds)
"""

from __future__ import annotations

import argparse

import keras
import numpy as np

from cw_distillation.attacks import cw_l0, cw_l2, cw_linf, deepfool, fgs, igs, jsma, lbfgs


def synthetic_digits(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n images (28, 28, 1) in [-0.5, 0.5]: one fixed random pattern per class, plus noise."""
    rng = np.random.default_rng(seed)
    templates = np.random.default_rng(1234).uniform(-0.5, 0.5, size=(10, 28, 28, 1))
    y = rng.integers(0, 10, size=n)
    x = np.clip(0.6 * templates[y] + rng.normal(0, 0.15, size=(n, 28, 28, 1)), -0.5, 0.5)
    return x.astype(np.float32), y


def small_logit_model(seed: int = 0) -> keras.Model:
    """Not the paper's network: any model whose last layer has no softmax works."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(10),  # logits
        ]
    )
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small attack budgets: the whole example in seconds")
    args = p.parse_args(argv)
    x_train, y_train = synthetic_digits(1000)
    model = small_logit_model()
    model.fit(x_train, y_train, epochs=2, batch_size=64, verbose=0)

    x, y = synthetic_digits(4, seed=1)
    target = (y + 1) % 10  # one wrong target per image
    quick = args.quick
    runs = {
        # quick: fewer values of c, so start nearer the c that works (the released start is 1e-3)
        "C&W L2": lambda: cw_l2.attack(
            model,
            x,
            target,
            binary_search_steps=4 if quick else 9,
            max_iterations=200 if quick else 10000,
            initial_const=1.0 if quick else 1e-3,
        ),
        "C&W L0": lambda: cw_l0.attack(model, x, target, max_iterations=50 if quick else 1000),
        "C&W L-inf": lambda: cw_linf.attack(model, x, target, max_iterations=50 if quick else 1000),
        "FGS": lambda: fgs.attack(model, x, target),
        "IGS": lambda: igs.attack(model, x, target),
        "JSMA-Z": lambda: jsma.attack(model, x, target, variant="z", gamma=0.145),
        "L-BFGS": lambda: lbfgs.attack(model, x, target, search_steps=3 if quick else 10),
        "DeepFool": lambda: deepfool.attack(model, x, None, label=y),
    }
    summary = {}
    for name, run in runs.items():
        result = run()
        ok = result.success
        summary[name] = {
            "success": float(ok.mean()),
            **{m: float(getattr(result, m)[ok].mean()) if ok.any() else float("nan") for m in ("l0", "l2", "linf")},
        }
        row = summary[name]
        print(
            f"{name:10s} success {row['success']:.0%}  mean L0 {row['l0']:.1f}  L2 {row['l2']:.3f}  "
            f"L-inf {row['linf']:.3f}"
        )
    return summary


if __name__ == "__main__":
    main()
