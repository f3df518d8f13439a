"""Fast gradient sign (Goodfellow et al. 2015), targeted, with the smallest eps per pair.

A targeted L-infinity attack on the cross-entropy of F (``losses.loss_f``), as in the C&W
comparison: one step along the sign of its gradient (``gradient_sign``), the smallest eps that
reaches the target searched on a grid, then by bisection.
"""

from __future__ import annotations

import cw_distillation.autodiff  # noqa: F401  (first: it sets KERAS_BACKEND for keras)

# isort: split
import time

import keras
import numpy as np

from cw_distillation.attacks.gradient_sign import loss_gradient_fn
from cw_distillation.attacks.pairs import BOX_MAX, BOX_MIN, attack_result, batches, check_pairs, predict_class, to_numpy
from cw_distillation.attacks.result import AttackResult


def attack(
    model: keras.Model,
    x: np.ndarray,
    target: np.ndarray,
    *,
    label: np.ndarray | None = None,
    image_index: np.ndarray | None = None,
    output_temperature: float = 1.0,
    eps_max: float = 1.0,
    grid_steps: int = 100,
    bisection_steps: int = 10,
    batch_size: int = 100,
) -> AttackResult:
    """Targeted FGS, x' = clip(x - eps * sign(d loss_F,t / dx)), with the smallest eps per pair.

    x: (N, H, W, C) float32 in [-0.5, 0.5], one row per (image, target) pair; target: (N,) int.
    label, image_index: (N,) int, stored in the result (default: the model's class of x, 0..N-1).
    output_temperature: T in F' = softmax(Z / T); 1 is the original attack, T the paper's fix.
    eps_max: largest eps tried; 1.0 is the whole box on the [-0.5, 0.5] scale.
    grid_steps: eps grid eps_max * k / grid_steps, k = 1..grid_steps; finer finds smaller eps.
    bisection_steps: bisection between the first successful grid point and the one before it.
    batch_size: pairs per gradient / forward pass.

    Success is not monotone in eps, so a grid comes first and bisection only refines the
    first success (it keeps a successful upper end, so the result is always adversarial).
    iterations: gradient evaluations (1 per pair); the grid and bisection are forward passes.
    """
    x, target, label, image_index = check_pairs(model, x, target, label, image_index)
    x_adv, iterations, seconds = x.copy(), np.ones(len(x), dtype=np.int64), np.zeros(len(x))
    grad_fn = loss_gradient_fn(model, output_temperature)
    for batch in batches(len(x), batch_size):
        start = time.perf_counter()
        xb, tb = x[batch], target[batch]
        step = -np.sign(to_numpy(grad_fn(xb, tb)))  # (n, H, W, C) in {-1, 0, 1}

        def adversarial(eps: np.ndarray, xb=xb, tb=tb, step=step) -> np.ndarray:
            return predict_class(model, _perturb(xb, step, eps)) == tb

        hi = np.full(len(xb), np.inf)
        for eps in eps_max * np.arange(1, grid_steps + 1) / grid_steps:
            hits = np.isinf(hi) & adversarial(np.full(len(xb), eps))
            hi[hits] = eps
            if np.isfinite(hi).all():
                break
        found = np.isfinite(hi)
        lo = np.where(found, hi - eps_max / grid_steps, 0.0)
        for _ in range(bisection_steps if found.any() else 0):
            mid = np.where(found, (lo + hi) / 2, 0.0)
            hits = adversarial(mid) & found
            hi, lo = np.where(hits, mid, hi), np.where(hits | ~found, lo, mid)
        x_adv[batch] = _perturb(xb, step, np.where(found, hi, 0.0))
        seconds[batch] = (time.perf_counter() - start) / len(xb)
    meta = {
        "attack": "fgs", "output_temperature": output_temperature, "eps_max": eps_max,
        "grid_steps": grid_steps, "bisection_steps": bisection_steps,
    }
    return attack_result(model, x, x_adv, target, label, image_index, iterations, seconds, meta)


def _perturb(x: np.ndarray, step: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """x + eps * step per pair (eps: (n,)), clipped to the box."""
    return np.clip(x + eps[:, None, None, None] * step, BOX_MIN, BOX_MAX).astype(np.float32)
