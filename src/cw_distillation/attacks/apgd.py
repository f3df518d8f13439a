"""APGD (Croce & Hein, ICML 2020, "Reliable evaluation of adversarial robustness with an
ensemble of diverse parameter-free attacks"): projected gradient ascent inside an eps-ball
whose step size needs no tuning, with the cross-entropy or the DLR loss.

Why it belongs beside Section VIII: the DLR loss (Sec. 4) is a ratio of logit
differences, so it is unchanged when the logits are shifted or multiplied by a positive T --
exactly what distillation does to Z -- and its gradient never vanishes the way the gradient of
the cross-entropy of a saturated float32 softmax does.

What is implemented, by the paper's sections (Sec. 3 is APGD, Sec. 4 the DLR loss):
- Sec. 3, the gradient step with momentum alpha = 0.75,
  z = P_S(x_k + eta_k * step(grad f(x_k))),
  x_{k+1} = P_S(x_k + alpha (z - x_k) + (1 - alpha)(x_k - x_{k-1})),
  the first step (k = 0) without momentum; step() is sign() for L-inf and grad / ||grad||_2
  for L2; P_S the projection onto the eps-ball and the box.
- Sec. 3, step size selection: eta_0 = 2 eps; checkpoints w_j = ceil(p_j N_iter) with
  p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06); at each checkpoint the
  step is halved and the iterate restarts from the best point x_max when
  Condition 1: the loss increased in fewer than rho (w_j - w_{j-1}) of the steps since the
  last checkpoint (rho = 0.75), or
  Condition 2: eta was not halved at the last checkpoint and f_max did not improve since.
- Sec. 4: untargeted DLR = -(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3 + 1e-12);
  targeted DLR as AutoAttack runs it (APGD-T):
  -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2 + 1e-12), pi the logits sorted decreasingly.
- Restarts: each restart starts from a fresh random point of
  the eps-ball and runs only on the pairs not yet broken.

The cross-entropy is ``losses.loss_f`` (from the float32 probabilities of F), so that it
saturates on a distilled network exactly as Section VIII.A describes; AutoAttack's
log-softmax form vanishes at the same points, up to the rounding of a fused softmax kernel.
A pair stops at its first adversarial iterate (the question APGD answers is whether one
exists within eps); AutoAttack keeps iterating and returns its last one.
"""

from __future__ import annotations

# isort: split
import math
import time
from typing import Literal

import keras
import numpy as np
from keras import ops

from cw_distillation.attacks.losses import loss_f
from cw_distillation.attacks.objective import value_hit_and_grad
from cw_distillation.attacks.pairs import BOX_MAX, BOX_MIN, attack_result, batches, check_pairs
from cw_distillation.attacks.result import AttackResult

NORMS = ("linf", "l2")
LOSSES = ("ce", "dlr")
DLR_EPSILON = 1e-12  # AutoAttack's guard against a zero denominator


def dlr_loss(logits, label):
    """Untargeted DLR (Sec. 4), per example (N,): -(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3).

    logits: (N, K) float32, K >= 3; label: (N,) int. Maximised by APGD: positive once y lost.
    """
    z_y = _pick(logits, label)
    others = ops.where(_one_hot(label, logits), -np.inf, logits)
    top = ops.top_k(logits, 3)[0]
    return -(z_y - ops.max(others, axis=1)) / (top[:, 0] - top[:, 2] + DLR_EPSILON)


def dlr_loss_targeted(logits, label, target):
    """Targeted DLR as AutoAttack runs it, per example (N,):
    -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2). logits: (N, K), K >= 4; label, target: (N,)."""
    top = ops.top_k(logits, 4)[0]
    scale = top[:, 0] - (top[:, 2] + top[:, 3]) / 2 + DLR_EPSILON
    return -(_pick(logits, label) - _pick(logits, target)) / scale


def checkpoints(iterations: int) -> list[int]:
    """The iterations w_j = ceil(p_j N_iter) at which the step size is reviewed (Sec. 3)."""
    p = [0.0, 0.22]
    while p[-1] < 1.0:
        p.append(p[-1] + max(p[-1] - p[-2] - 0.03, 0.06))
    w = {math.ceil(round(q * iterations, 9)) for q in p[1:]}  # round: 0.57 * 100 is 57.000000000000007
    return sorted(v for v in w if v <= iterations)


def attack(
    model: keras.Model,
    x: np.ndarray,
    target: np.ndarray | None,
    *,
    eps: float,
    label: np.ndarray | None = None,
    image_index: np.ndarray | None = None,
    norm: Literal["linf", "l2"] = "linf",
    loss: Literal["ce", "dlr"] = "dlr",
    iterations: int = 100,
    restarts: int = 1,
    momentum: float = 0.75,
    rho: float = 0.75,
    initial_step: float = 2.0,
    seed: int = 0,
    batch_size: int = 100,
) -> AttackResult:
    """APGD within an eps-ball around each x; targeted when ``target`` is given.

    x: (N, H, W, C) float32 in [-0.5, 0.5]; target: (N,) int, or None for untargeted (any
    class but the label; the result's target is then -1).
    eps: radius of the ball in ``norm`` on the [-0.5, 0.5] scale.
    label, image_index: (N,) int, stored in the result (default: the model's class of x, 0..N-1).
    norm: "linf" (sign steps, box projection) or "l2" (normalised steps, ball projection).
    loss: "dlr" (scale-invariant, Sec. 4) or "ce" (the cross-entropy of F, ``losses.loss_f``).
    iterations: N_iter per run; the paper's 100.
    restarts: runs from fresh random starts on the pairs still unbroken; AutoAttack's 1.
    momentum: alpha of the update with momentum; the paper's 0.75 (1 would be plain PGD with this schedule).
    rho: Condition 1's fraction of loss increases below which the step is halved; 0.75.
    initial_step: eta_0 / eps; the paper's 2 (first steps cross the whole ball).
    seed: the random starts' seed; each pair's start depends on (seed, restart, image_index,
        target) only, so that batching does not change the result.
    batch_size: pairs per gradient evaluation.

    iterations in the result: gradient evaluations spent on the pair over all restarts.
    """
    untargeted = target is None
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps}")
    if iterations < 1 or restarts < 1:
        raise ValueError(f"iterations and restarts must be >= 1, got {iterations} and {restarts}")
    x = np.asarray(x, np.float32)
    target = np.full(len(x), -1) if untargeted else target
    # target is an array here: the line above fills it when untargeted (target is None)
    x, target, label, image_index = check_pairs(model, x, target, label, image_index)  # type: ignore[arg-type]
    classes = model.output_shape[-1]
    if loss == "dlr" and classes < (3 if untargeted else 4):
        raise ValueError(f"loss='dlr' needs at least {3 if untargeted else 4} classes, the model has {classes}")
    step_fn = _loss_gradient_fn(model, loss, untargeted)
    x_adv, seconds = x.copy(), np.zeros(len(x))
    used = np.zeros(len(x), np.int64)
    for batch in batches(len(x), batch_size):
        start = time.perf_counter()
        xb, yb, tb = x[batch], label[batch], target[batch]
        done = np.zeros(len(xb), bool)
        for restart in range(restarts):
            x0 = _random_start(xb, eps, norm, [(seed, restart, int(i), int(t))
                                               for i, t in zip(image_index[batch], tb, strict=True)])
            found, hit, spent = _run(step_fn, xb, yb, tb, x0, ~done, eps, norm, untargeted,
                                     iterations, momentum, rho, initial_step)
            x_adv[batch][hit] = found[hit]  # a view of x_adv: writes through
            used[batch] += spent
            done |= hit
            if done.all():
                break
        seconds[batch] = (time.perf_counter() - start) / len(xb)
    meta = {
        "attack": "apgd", "norm": norm, "loss": loss, "eps": eps, "iterations": iterations,
        "restarts": restarts, "momentum": momentum, "rho": rho, "initial_step": initial_step,
        "seed": seed, "targeted": not untargeted,
    }
    return attack_result(model, x, x_adv, target, label, image_index, used, seconds, meta,
                         untargeted=untargeted)


def _run(step_fn, x, label, target, start, active, eps, norm, untargeted, iterations, momentum,
         rho, initial_step):
    """One APGD run (Algorithm 1) from ``start`` (n, H, W, C) for the rows where ``active``.

    Returns the first adversarial iterate per row, whether one was found (n,) and the
    gradient evaluations spent (n,).
    """
    n = len(x)
    marks = set(checkpoints(iterations))
    project = _projection(x, eps, norm)
    current = start.copy()
    value, hit, grad = step_fn(current, label, target)
    found, hit = current.copy(), hit & active
    going = active & ~hit
    spent = going.astype(np.int64)
    best_value, best_x, best_grad = value.copy(), current.copy(), grad.copy()
    previous = current.copy()
    eta = np.full(n, initial_step * eps)
    increases = np.zeros(n, np.int64)
    last_mark, best_at_mark, halved_at_mark = 0, best_value.copy(), np.zeros(n, bool)
    for k in range(iterations):
        if not going.any():
            break
        z = project(current + eta[:, None, None, None] * _direction(grad, norm))
        a = momentum if k > 0 else 1.0
        stepped = project(current + a * (z - current) + (1 - a) * (current - previous))
        previous = np.where(going[:, None, None, None], current, previous)
        current = np.where(going[:, None, None, None], stepped, current)
        new_value, new_hit, new_grad = step_fn(current, label, target)
        spent += going
        increases += going & (new_value > value)
        value = np.where(going, new_value, value)
        grad = np.where(going[:, None, None, None], new_grad, grad)
        reached = going & new_hit
        found[reached], hit = current[reached], hit | reached
        going &= ~reached
        better = going & (value > best_value)
        best_value[better], best_x[better], best_grad[better] = value[better], current[better], grad[better]
        if k + 1 in marks:
            stalled = increases < rho * (k + 1 - last_mark)  # Condition 1
            stalled |= ~halved_at_mark & (best_value <= best_at_mark)  # Condition 2
            halve = going & stalled
            eta[halve] /= 2
            current[halve], grad[halve] = best_x[halve], best_grad[halve]
            last_mark, best_at_mark, halved_at_mark = k + 1, best_value.copy(), halve
            increases[:] = 0
    return found, hit, spent


def _direction(grad: np.ndarray, norm: str) -> np.ndarray:
    """The steepest-ascent step of unit size: sign for L-inf, grad / ||grad||_2 for L2."""
    if norm == "linf":
        return np.sign(grad)
    size = np.sqrt((grad.reshape(len(grad), -1).astype(np.float64) ** 2).sum(axis=1))
    return (grad / (size + 1e-12)[:, None, None, None]).astype(np.float32)


def _projection(x: np.ndarray, eps: float, norm: str):
    """P_S: onto the eps-ball around x (the L2 one by rescaling), then into the box."""
    if norm == "linf":
        lower, upper = np.maximum(x - eps, BOX_MIN), np.minimum(x + eps, BOX_MAX)
        return lambda v: np.clip(v, lower, upper).astype(np.float32)

    def project(v: np.ndarray) -> np.ndarray:
        delta = (v - x).astype(np.float64)
        size = np.sqrt((delta.reshape(len(v), -1) ** 2).sum(axis=1))
        factor = np.minimum(1.0, eps / np.maximum(size, 1e-12))[:, None, None, None]
        return np.clip(x + delta * factor, BOX_MIN, BOX_MAX).astype(np.float32)

    return project


def _random_start(x: np.ndarray, eps: float, norm: str, keys: list) -> np.ndarray:
    """x plus a random point on the eps-sphere (scaled uniform noise for L-inf, Gaussian for
    L2), drawn per pair from its own key, clipped to the box."""
    noise = np.stack([
        np.random.default_rng(list(key)).uniform(-1, 1, x.shape[1:]) if norm == "linf"
        else np.random.default_rng(list(key)).normal(size=x.shape[1:])
        for key in ((s, r, i, t + 1) for s, r, i, t in keys)
    ])
    flat = noise.reshape(len(x), -1)
    size = np.abs(flat).max(axis=1) if norm == "linf" else np.sqrt((flat**2).sum(axis=1))
    start = x + eps * noise / size[:, None, None, None]
    return np.clip(start, BOX_MIN, BOX_MAX).astype(np.float32)


def _loss_gradient_fn(model: keras.Model, loss: str, untargeted: bool):
    """Compiled (x (n, H, W, C), label (n,), target (n,)) -> loss to maximise (n,), whether x
    is adversarial (n,) and its gradient (shaped like x), as NumPy arrays."""

    def objective(logits, label, target):
        if loss == "dlr":
            return dlr_loss(logits, label) if untargeted else dlr_loss_targeted(logits, label, target)
        return loss_f(logits, label) if untargeted else -loss_f(logits, target)

    return value_hit_and_grad(model, objective, untargeted)


def _pick(logits, index):
    """logits[i, index[i]] per row: (N,)."""
    return ops.take_along_axis(logits, ops.expand_dims(ops.cast(index, "int32"), 1), axis=1)[:, 0]


def _one_hot(index, logits):
    return ops.cast(ops.one_hot(ops.cast(index, "int32"), ops.shape(logits)[1]), "bool")
