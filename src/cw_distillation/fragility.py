"""Why the earlier attacks fail on distilled networks (Section VIII.A), measured.

Distillation at temperature T makes the logits Z about T times larger, so that at test
time (T = 1) the float32 softmax F saturates: the winning component rounds to 1.0, the
others to 0.0, and the gradient of F -- and of the cross-entropy of F -- becomes exactly
zero. ``losses.loss_f`` is that standard loss (the one L-BFGS, FGS and IGS minimise); the
``*_fraction`` functions count how often each float32 effect happens.
"""

from __future__ import annotations

import cw_distillation.autodiff as autodiff  # first: it sets KERAS_BACKEND for keras

# isort: split
import keras
import numpy as np
from keras import ops

from cw_distillation.attacks.losses import PROB_FLOOR, loss_f


def loss_gradient(
    model: keras.Model,
    x: np.ndarray,
    target: np.ndarray,
    output_temperature: float = 1.0,
    batch_size: int = 256,
    floor: float = PROB_FLOOR,
) -> np.ndarray:
    """d loss_f / dx for each example, float32: (N, H, W, C), the same shape as x."""
    x, target = np.asarray(x, dtype=np.float32), np.asarray(target)
    grads = []
    for start in range(0, len(x), batch_size):
        t = target[start : start + batch_size]
        _, grad = autodiff.value_and_grad(
            # mypy cannot type a lambda with a default argument (t=t binds this batch's targets)
            lambda v, t=t: loss_f(model(v, training=False), t, output_temperature, floor),  # type: ignore[misc]
            x[start : start + batch_size],
        )
        grads.append(ops.convert_to_numpy(grad))
    return np.concatenate(grads)


def zero_gradient_fraction(
    model: keras.Model, x: np.ndarray, target: np.ndarray, output_temperature: float = 1.0
) -> float:
    """Fraction of all float32 components of d loss_f / dx that are exactly 0.0.

    x: (N, H, W, C) float32 in [-0.5, 0.5]; target: (N,) int.
    """
    return float(np.mean(loss_gradient(model, x, target, output_temperature) == 0.0))


def zero_gradient_image_fraction(
    model: keras.Model, x: np.ndarray, target: np.ndarray, output_temperature: float = 1.0
) -> float:
    """Fraction of (image, target) pairs whose whole gradient d loss_f / dx is exactly 0.

    Such a pair gives a gradient attack nothing to follow: L-BFGS stops at its start, the
    sign in FGS / IGS is 0 everywhere.
    """
    grad = loss_gradient(model, x, target, output_temperature)
    return float(np.mean(np.all(grad.reshape(len(grad), -1) == 0.0, axis=1)))


def softmax_probabilities(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """F(x) = softmax(Z(x)) at T = 1, as the float32 nearest to each probability: (N, K).

    Computed in float64 and rounded once, so that "exactly 1.0" and "exactly 0.0" describe the
    numbers, not a CPU's kernel: TensorFlow's float32 softmax gives 1 - 2**-24 on an AMD EPYC
    where the true probability rounds to 1.0 (and 1.0 on the Intel CPUs we ran before).
    """
    logits = model.predict(np.asarray(x, dtype=np.float32), batch_size=256, verbose=0).astype(np.float64)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def saturated_softmax_fraction(model: keras.Model, x: np.ndarray) -> float:
    """Fraction of images whose largest softmax component is exactly 1.0 in float32."""
    return float(np.mean(softmax_probabilities(model, x).max(axis=1) == 1.0))


def zero_softmax_fraction(model: keras.Model, x: np.ndarray) -> float:
    """Fraction of the non-maximal softmax components (the paper's epsilon) that are exactly 0.0.

    Counted over the K - 1 components of each image other than its argmax, N * (K - 1) in all.
    """
    probs = softmax_probabilities(model, x)
    others = np.ones_like(probs, dtype=bool)
    others[np.arange(len(probs)), probs.argmax(axis=1)] = False
    return float(np.mean(probs[others] == 0.0))


def fragility_report(
    model: keras.Model, x: np.ndarray, target: np.ndarray, output_temperature: float = 1.0
) -> dict[str, float]:
    """All Section VIII.A diagnostics in one dict (for a table row or a JSON file)."""
    grad = loss_gradient(model, x, target, output_temperature)
    flat = grad.reshape(len(grad), -1)
    return {
        "output_temperature": float(output_temperature),
        "zero_gradient_fraction": float(np.mean(flat == 0.0)),
        "zero_gradient_image_fraction": float(np.mean(np.all(flat == 0.0, axis=1))),
        "saturated_softmax_fraction": saturated_softmax_fraction(model, x),
        "zero_softmax_fraction": zero_softmax_fraction(model, x),
    }


def scale_logits(model: keras.Model, factor: float) -> keras.Model:
    """The same network with its logits multiplied by ``factor``.

    What distillation at T does to Z (Section VIII.A: "the distilled network will learn to
    make the Z(.) values T times larger"), without anything else distillation changes; so a
    failure on the scaled network is a float32 effect, not robustness.
    """
    inputs = keras.Input(shape=model.input_shape[1:])
    outputs = keras.layers.Rescaling(factor)(model(inputs))
    return keras.Model(inputs, outputs, name=f"{model.name}_logits_x{factor:g}")
