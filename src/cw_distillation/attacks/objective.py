"""One compiled step shared by the minimal-norm and step-size attacks (APGD, FMN): an objective of
the logits, whether each point is adversarial, and the objective's gradient, in one forward pass.

Kept out of ``pairs`` so that the attacks whose results are stored keep their code digests.
"""

from __future__ import annotations

import cw_distillation.autodiff as autodiff  # first: it sets KERAS_BACKEND for keras

# isort: split
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from cw_distillation.attacks.pairs import to_numpy

Objective = Callable[[Any, Any, Any], Any]  # (logits (n, K), label (n,), target (n,)) -> (n,)


def value_hit_and_grad(model: keras.Model, objective: Objective, untargeted: bool):
    """Compiled (x (n, H, W, C), label (n,), target (n,)) -> objective (n,) float64, whether x is
    adversarial (n,) (argmax Z is not the label, untargeted; is the target, targeted) and the
    objective's gradient shaped like x, as NumPy arrays."""

    def step(x, label, target):
        return autodiff.value_and_grad_aux(
            lambda v: (lambda z: (objective(z, label, target), z))(model(v, training=False)), x
        )

    compiled = autodiff.compile_fn(step)

    def call(x, label, target):
        value, logits, grad = compiled(np.asarray(x, np.float32), np.asarray(label, np.int32),
                                       np.asarray(target, np.int32))
        predicted = np.argmax(to_numpy(logits), axis=1)
        hit = predicted != label if untargeted else predicted == target
        return to_numpy(value).astype(np.float64), hit, to_numpy(grad)

    return call
