"""DeepFool (Moosavi-Dezfooli et al., CVPR 2016), untargeted L2.

Each step linearises the classifier around the current point and moves to the nearest
linearised decision boundary; the accumulated step is overshot by (1 + overshoot).
The original differentiates the network's pre-softmax output (its reference code asks for
"activations BEFORE softmax"), so the logits Z are the default. Section VIII.A says DeepFool
fails on distilled networks "due to the fact that the gradient of F is zero almost always",
which is the softmax variant: on Z, DeepFool's step |f'_k| / ||w'_k|| is unchanged when Z is
scaled by T, so only ``output="softmax"`` reproduces that failure.
"""

from __future__ import annotations

import cw_distillation.autodiff as autodiff  # first: it sets KERAS_BACKEND for keras

# isort: split
import time
from typing import Literal

import keras
import numpy as np

from cw_distillation.attacks.losses import softmax
from cw_distillation.attacks.pairs import (
    BOX_MAX,
    BOX_MIN,
    attack_result,
    batches,
    check_pairs,
    predict_class,
    to_numpy,
)
from cw_distillation.attacks.result import AttackResult

STEP_EPSILON = 1e-4  # the reference code's addition to each step's length, for stability


def attack(
    model: keras.Model,
    x: np.ndarray,
    target: None = None,
    *,
    label: np.ndarray | None = None,
    image_index: np.ndarray | None = None,
    output: Literal["logits", "softmax"] = "logits",
    output_temperature: float = 1.0,
    overshoot: float = 0.02,
    max_iter: int = 50,
    batch_size: int = 100,
) -> AttackResult:
    """Untargeted DeepFool on images x with true labels.

    x: (N, H, W, C) float32 in [-0.5, 0.5]; target: None (DeepFool has no target; the argument
    keeps every attack's signature). label, image_index: (N,) int (default: the model's class
    of x, 0..N-1).
    output: "logits" linearises Z (the original); "softmax" linearises F' = softmax(Z / T).
    output_temperature: T for output="softmax" (the paper's divide-by-T fix).
    overshoot: the final perturbation is (1 + overshoot) times the accumulated steps.
    max_iter: linearisation steps before giving up.
    batch_size: images whose Jacobians are computed together.

    The class DeepFool moves away from is the model's prediction on x (as in the original);
    success (the C&W criterion) is that the prediction on x_adv differs from ``label``.
    Deviations: every iterate is clipped to the box (the original has no box), and a pair
    whose gradient differences are all exactly 0 stops and fails (the original would divide
    by zero) -- the float32 vanishing gradient of Section VIII.A.
    The result's target is -1 (untargeted). iterations: linearisation steps.
    """
    assert output in ("logits", "softmax"), f"output must be 'logits' or 'softmax': {output!r}"
    if target is not None:
        raise ValueError("target: DeepFool is untargeted; pass the true labels as label=")
    none = np.full(len(x), -1, np.int64)  # the result's target: none
    x, _, label, image_index = check_pairs(model, x, none, label, image_index)
    jacobian = _output_and_jacobian_fn(model, output, output_temperature)
    x_adv, seconds = x.copy(), np.zeros(len(x))
    iterations = np.zeros(len(x), dtype=np.int64)
    for batch in batches(len(x), batch_size):
        start = time.perf_counter()
        xb = x[batch]
        original = predict_class(model, xb)
        total = np.zeros_like(xb)  # accumulated steps r_tot, (n, H, W, C)
        current = xb.copy()
        active = original == label[batch]  # already misclassified: nothing to do
        for _ in range(max_iter):
            idx = np.flatnonzero(active)
            if len(idx) == 0:
                break
            values, jac = (to_numpy(t) for t in jacobian(current[idx]))
            step, stuck = _linearised_step(values, jac, original[idx])
            active[idx[stuck]] = False
            moved = idx[~stuck]
            total[moved] += step[~stuck].reshape(-1, *xb.shape[1:])
            current[moved] = np.clip(xb[moved] + (1 + overshoot) * total[moved], BOX_MIN, BOX_MAX)
            iterations[batch.start + moved] += 1
            active[moved] = predict_class(model, current[moved]) == original[moved]
        x_adv[batch] = current
        seconds[batch] = (time.perf_counter() - start) / len(xb)
    meta = {
        "attack": "deepfool", "output": output, "output_temperature": output_temperature,
        "overshoot": overshoot, "max_iter": max_iter,
    }
    return attack_result(
        model, x, x_adv, none, label, image_index, iterations, seconds, meta, untargeted=True
    )


def _output_and_jacobian_fn(model: keras.Model, output: str, output_temperature: float):
    """Compiled x (n, H, W, C) -> (f(x) (n, K), d f_k / dx (n, K, H, W, C))."""

    def f(v):
        logits = model(v, training=False)
        return logits if output == "logits" else softmax(logits / output_temperature, axis=-1)

    def both(v):
        return f(v), autodiff.jacobian_rows(f, v)

    compiled = autodiff.compile_fn(both)
    return lambda v: compiled(np.asarray(v, np.float32))


def _linearised_step(
    values: np.ndarray, jac: np.ndarray, original: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """DeepFool's step to the nearest linearised boundary.

    values: (m, K) f(x_i); jac: (m, K, ...) its Jacobian; original: (m,) the class to leave.
    For k != original: w_k = grad f_k - grad f_orig, f_k = f_k - f_orig; the closest
    boundary is l = argmin |f_k| / ||w_k||, and the step is (|f_l| / ||w_l|| + 1e-4) w_l / ||w_l||.
    Returns the steps (m, D) and stuck (m,) bool, where every ||w_k|| is 0.
    """
    m, k = values.shape
    grads = jac.reshape(m, k, -1).astype(np.float64)
    rows = np.arange(m)
    w = grads - grads[rows, original][:, None, :]  # (m, K, D)
    f = np.abs(values - values[rows, original][:, None]).astype(np.float64)  # (m, K)
    norm = np.linalg.norm(w, axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        distance = np.where(norm > 0, f / norm, np.inf)
    distance[rows, original] = np.inf
    closest = np.argmin(distance, axis=1)
    stuck = ~np.isfinite(distance[rows, closest])
    w_l, norm_l = w[rows, closest], norm[rows, closest]
    length = np.where(stuck, 0.0, distance[rows, closest] + STEP_EPSILON)
    step = (length / np.where(stuck, 1.0, norm_l))[:, None] * w_l
    return step.astype(np.float32), stuck
