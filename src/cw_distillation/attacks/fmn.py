"""FMN, the fast minimum-norm attack (Pintor et al., NeurIPS 2021, "Fast Minimum-norm
Adversarial Attacks through Adaptive Norm Constraints"), for L2, L-infinity and L0.

Why it belongs beside the C&W attacks: it answers their question -- the smallest perturbation
that reaches the target -- in about 100 gradient steps instead of C&W's thousands, and it works
on the logit margin, so the saturation of a distilled network's softmax does not stop it.

What is implemented, by the paper's numbering (Sec. 2 and its Algorithm 1):
- the problem min ||delta||_p s.t. L(x + delta) < 0 and x + delta in the box, with the logit
  margin L = z_y - max_{j != y} z_j (untargeted) or max_{j != t} z_j - z_t (targeted);
- the equivalent problem over (eps, delta): minimise eps with ||delta||_p <= eps, solved by
  alternating an eps update and a projected step on delta;
- the eps update: while no adversarial point has been found, eps_k = ||delta||_p + |L| / ||grad L||_q
  (q the dual norm: the first-order distance to the boundary); afterwards eps_k = eps_{k-1} (1 + gamma_k)
  when the current point is not adversarial, and min(eps_{k-1} (1 - gamma_k), ||delta*||_p) when it is
  (delta* the smallest adversarial perturbation so far);
- the delta step: delta <- delta - alpha_k grad L / ||grad L||_2, projected onto the eps-ball of
  the norm and clipped to the box;
- gamma_k and alpha_k follow cosine annealing from gamma_0 to gamma_final and from alpha_0 to
  alpha_final: h(v_0, v_K, k) = v_K + (v_0 - v_K) (1 + cos(pi k / K)) / 2.
L0 (as the authors' release does it): eps counts features and moves by at least one (floor of
eps (1 +- gamma)), the projection keeps the eps largest |delta_i|; there is no boundary estimate.

On a linear model the boundary estimate is exact, so the first step lands on the boundary,
where L rounds to 0 or to a few ulps either side; L = 0 is not adversarial and the estimate then
leaves eps where it is, so the paper's rule can stall there for good. ``escape_boundary`` (off by
default, as in the paper) grows eps by at least (1 + gamma_k) while no adversarial point is
known; on a curved network an exact tie almost never happens and the two rules agree.

The starting point is x itself (the paper's default; the release's optional warm start from
another attack's example is left out). Features here are the tensor's components; the result's
l0 counts pixels (any channel), the same thing on one-channel images.
"""

from __future__ import annotations

# isort: split
import math
import time
from typing import Literal

import keras
import numpy as np
from keras import ops

from cw_distillation.attacks.objective import value_hit_and_grad
from cw_distillation.attacks.pairs import BOX_MAX, BOX_MIN, attack_result, batches, check_pairs
from cw_distillation.attacks.result import AttackResult

NORMS = ("l2", "linf", "l0")
DUAL = {"l2": 2, "linf": 1}  # q with 1/p + 1/q = 1: the norm of the gradient in the boundary estimate


def margin_loss(logits, label, target, untargeted: bool):
    """FMN's L per example (N,): z_y - max_{j != y} z_j, or max_{j != t} z_j - z_t; < 0 is adversarial."""
    keep = label if untargeted else target
    k = ops.shape(logits)[1]
    mask = ops.cast(ops.one_hot(ops.cast(keep, "int32"), k), "bool")
    picked = ops.sum(ops.where(mask, logits, 0.0), axis=1)
    best_other = ops.max(ops.where(mask, -np.inf, logits), axis=1)
    return picked - best_other if untargeted else best_other - picked


def attack(
    model: keras.Model,
    x: np.ndarray,
    target: np.ndarray | None,
    *,
    norm: Literal["l2", "linf", "l0"] = "l2",
    label: np.ndarray | None = None,
    image_index: np.ndarray | None = None,
    steps: int = 100,
    alpha_init: float = 1.0,
    alpha_final: float | None = None,
    gamma_init: float = 0.05,
    gamma_final: float = 0.001,
    escape_boundary: bool = False,
    batch_size: int = 100,
) -> AttackResult:
    """FMN per pair: the smallest ||delta||_norm found in ``steps`` steps; targeted when
    ``target`` is given.

    x: (N, H, W, C) float32 in [-0.5, 0.5]; target: (N,) int, or None for untargeted (the
    result's target is then -1).
    norm: "l2", "linf" or "l0" (the distance minimised).
    label, image_index: (N,) int, stored in the result (default: the model's class of x, 0..N-1).
    steps: K, gradient steps per pair; the paper's 100 at the budget it reports most.
    alpha_init: alpha_0, the first (L2-normalised) step length; 1, the release's, one box width.
    alpha_final: the last step length; None is alpha_init / 100, as released.
    gamma_init: gamma_0, the first relative change of eps; 0.05 (larger moves faster, oscillates more).
    gamma_final: the last relative change of eps; 0.001.
    escape_boundary: before the first adversarial point, eps grows by at least (1 + gamma_k);
        False is the paper's rule (see the module docstring for when it stalls).
    batch_size: pairs per gradient evaluation.

    iterations in the result: gradient evaluations, ``steps`` for every pair.
    """
    untargeted = target is None
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if not 0 < gamma_final <= gamma_init < 1:
        raise ValueError(f"need 0 < gamma_final <= gamma_init < 1, got {gamma_final} and {gamma_init}")
    alpha_final = alpha_init / 100 if alpha_final is None else alpha_final
    x = np.asarray(x, np.float32)
    target = np.full(len(x), -1) if untargeted else target
    # target is an array here: the line above fills it when untargeted (target is None)
    x, target, label, image_index = check_pairs(model, x, target, label, image_index)  # type: ignore[arg-type]
    grad_fn = _loss_gradient_fn(model, untargeted)
    x_adv, seconds = x.copy(), np.zeros(len(x))
    for batch in batches(len(x), batch_size):
        start = time.perf_counter()
        x_adv[batch] = _run(grad_fn, x[batch], label[batch], target[batch], norm, steps,
                            alpha_init, alpha_final, gamma_init, gamma_final, escape_boundary,
                            untargeted)
        seconds[batch] = (time.perf_counter() - start) / len(seconds[batch])
    meta = {
        "attack": "fmn", "norm": norm, "steps": steps, "alpha_init": alpha_init,
        "alpha_final": alpha_final, "gamma_init": gamma_init, "gamma_final": gamma_final,
        "escape_boundary": escape_boundary, "targeted": not untargeted,
    }
    return attack_result(model, x, x_adv, target, label, image_index, np.full(len(x), steps),
                         seconds, meta, untargeted=untargeted)


def cosine(start: float, end: float, k: int, steps: int) -> float:
    """Cosine annealing from ``start`` (k = 0) towards ``end`` (k = steps)."""
    return end + (start - end) * (1 + math.cos(math.pi * k / steps)) / 2


def _run(grad_fn, x, label, target, norm, steps, alpha_init, alpha_final, gamma_init,
         gamma_final, escape_boundary, untargeted) -> np.ndarray:
    """Algorithm 1 on one batch x (n, H, W, C): the best adversarial x + delta* per row, x where none."""
    n = len(x)
    delta = np.zeros_like(x, dtype=np.float64)
    best_delta, best_norm = delta.copy(), np.full(n, np.inf)
    found = np.zeros(n, bool)
    worst = _worst_norm(x, norm)
    eps = np.ones(n) if norm == "l0" else np.full(n, np.inf)
    for k in range(steps):
        alpha = cosine(alpha_init, alpha_final, k, steps)
        gamma = cosine(gamma_init, gamma_final, k, steps)
        margin, adversarial, grad = grad_fn((x + delta).astype(np.float32), label, target)
        size = _norm(delta, norm)
        better = adversarial & (size < best_norm)
        best_norm[better], best_delta[better] = size[better], delta[better]
        found |= adversarial
        if norm == "l0":
            shrunk = np.minimum(np.minimum(eps - 1, np.floor(eps * (1 - gamma))), best_norm)
            eps = np.maximum(np.where(adversarial, shrunk, np.maximum(eps + 1, np.floor(eps * (1 + gamma)))), 0)
        else:
            estimate = size + np.abs(margin) / np.maximum(_norm(grad, DUAL[norm]), 1e-12)
            if escape_boundary:
                estimate = np.maximum(estimate, size * (1 + gamma))
            eps = np.where(adversarial, np.minimum(eps * (1 - gamma), best_norm),
                           np.where(found, eps * (1 + gamma), estimate))
        eps = np.minimum(eps, worst)
        length = np.sqrt((grad.reshape(n, -1) ** 2).sum(axis=1))
        delta = delta - alpha * grad / np.maximum(length, 1e-12)[:, None, None, None]
        delta = _project(delta, eps, norm)
        delta = np.clip(x + delta, BOX_MIN, BOX_MAX) - x
    return np.where(found[:, None, None, None], x + best_delta, x).astype(np.float32)


def _norm(v: np.ndarray, norm: str | int) -> np.ndarray:
    """||v_i|| per row: "l0" counts nonzero components; 1, 2 / "l2" and "linf" as usual."""
    flat = v.reshape(len(v), -1).astype(np.float64)
    if norm == "l0":
        return (flat != 0).sum(axis=1).astype(np.float64)
    if norm == "linf":
        return np.abs(flat).max(axis=1)
    if norm in (2, "l2"):
        return np.sqrt((flat**2).sum(axis=1))
    return np.abs(flat).sum(axis=1)  # 1, the dual of L-inf


def _worst_norm(x: np.ndarray, norm: str) -> np.ndarray:
    """The largest distance in the box from each x: eps never needs to exceed it."""
    if norm == "l0":
        return np.full(len(x), float(np.prod(x.shape[1:])))
    return _norm(np.maximum(x - BOX_MIN, BOX_MAX - x), norm)


def _project(delta: np.ndarray, eps: np.ndarray, norm: str) -> np.ndarray:
    """delta onto the eps-ball of ``norm`` (per row; eps (n,))."""
    shape = (len(delta),) + (1,) * (delta.ndim - 1)
    if norm == "linf":
        return np.clip(delta, -eps.reshape(shape), eps.reshape(shape))
    if norm == "l2":
        size = _norm(delta, "l2")
        return delta * np.minimum(1.0, eps / np.maximum(size, 1e-12)).reshape(shape)
    flat = np.abs(delta.reshape(len(delta), -1))
    keep = np.clip(eps.astype(np.int64), 0, flat.shape[1])
    ranked = -np.sort(-flat, axis=1)  # |delta| decreasing
    threshold = np.where(keep > 0, ranked[np.arange(len(flat)), np.maximum(keep - 1, 0)], np.inf)
    return np.where((flat >= threshold[:, None]) & (flat > 0), delta.reshape(flat.shape), 0.0).reshape(delta.shape)


def _loss_gradient_fn(model: keras.Model, untargeted: bool):
    """Compiled (x, label, target) -> margin L (n,), whether x is adversarial (n,) and dL/dx (float64)."""
    call = value_hit_and_grad(model, lambda z, label, target: margin_loss(z, label, target, untargeted),
                              untargeted)

    def in_float64(x, label, target):
        value, adversarial, grad = call(x, label, target)
        return value, adversarial, grad.astype(np.float64)

    return in_float64
