"""How often the loss of F has an exactly zero gradient, under two readings of it.

Section VIII.A blames the earlier attacks' failure on distilled networks on a gradient of
the loss of F that is exactly 0 in float32. This measures, on a network and its first N
correctly classified test images x 9 targets, the fraction of (image, target) pairs whose
whole gradient is 0 with F_t floored at the smallest normal float32 (our loss_f) and with
Keras' 1e-7 clip.

    .venv/bin/python scripts/loss_f_zero_gradients.py results/mnist10/data/mnist.npz \\
        results/mnist10/models/mnist/standard.keras results/mnist10/models/mnist/distilled_T100.keras
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from cw_distillation import evaluate, fragility
from cw_distillation.data.prepare import load_dataset
from cw_distillation.models import load_model, predict_logits


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data")
    p.add_argument("models", nargs="+")
    p.add_argument("--n-images", type=int, default=50)
    args = p.parse_args()
    arrays = load_dataset(args.data)
    x_test, y_test = arrays["x_test"], arrays["y_test"]
    out = {}
    for path in args.models:
        model = load_model(path, "mnist")
        pred = predict_logits(model, x_test[:200]).argmax(1)
        images, _ = evaluate.select_images(pred, y_test[:200], args.n_images)
        index, target = evaluate.target_pairs(images, y_test[images], "all", 0)
        row = {}
        for name, floor in (("float32_floor", fragility.PROB_FLOOR), ("keras_1e-7_clip", fragility.KERAS_EPSILON)):
            grad = fragility.loss_gradient(model, x_test[index], target, floor=floor).reshape(len(index), -1)
            row[name] = {"zero_gradient_pairs": float(np.mean(np.all(grad == 0, axis=1))),
                         "zero_gradient_components": float(np.mean(grad == 0))}
        out[path] = row
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
