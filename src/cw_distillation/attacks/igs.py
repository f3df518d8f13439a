"""Iterative gradient sign (Kurakin et al. 2016), targeted, with the smallest eps per pair.

A targeted L-infinity attack on the cross-entropy of F (``losses.loss_f``), as in the C&W
comparison: steps along the sign of its gradient (``gradient_sign``) within an eps-ball, the
smallest eps that reaches the target searched by doubling, then by bisection.
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
    step_size: float = 1.0 / 255.0,
    steps: int | None = None,
    eps_start: float = 1.0 / 1024.0,
    eps_max: float = 1.0,
    bisection_steps: int = 6,
    batch_size: int = 100,
) -> AttackResult:
    """Targeted iterative gradient sign with the smallest eps per pair.

    x_{k+1} = clip_{x, eps}(x_k - step_size * sign(d loss_F,t(x_k) / dx)), clipped to the
    eps-ball around x and to the box.
    x: (N, H, W, C) float32 in [-0.5, 0.5]; target: (N,) int.
    label, image_index: (N,) int, stored in the result (default: the model's class of x, 0..N-1).
    output_temperature: T in F' = softmax(Z / T); 1 is the original attack, T the paper's fix.
    step_size: alpha; Kurakin et al.'s one grey level (1/255 of the box).
    steps: iterations per eps; None is Kurakin et al.'s min(eps/alpha + 4, 1.25 eps/alpha).
    eps_start: first eps of the search, doubled until the first success.
    eps_max: largest eps tried (1.0 is the whole box); a pair that fails there has failed.
    bisection_steps: bisection steps between the last failing and the first successful eps.
    batch_size: pairs per gradient evaluation.

    A pair stops at the first iterate classified as the target (a valid example within the
    eps-ball; later steps could only leave it), or when a step leaves it unchanged (a fixed
    point, e.g. a zero gradient on a distilled network: the remaining steps would repeat it).
    iterations: gradient evaluations summed over the whole eps search.
    """
    x, target, label, image_index = check_pairs(model, x, target, label, image_index)
    x_adv, seconds = x.copy(), np.zeros(len(x))
    iterations = np.zeros(len(x), dtype=np.int64)
    grad_fn = loss_gradient_fn(model, output_temperature)
    max_doublings = int(np.ceil(np.log2(eps_max / eps_start))) + 1
    for batch in batches(len(x), batch_size):
        start = time.perf_counter()
        xb, tb = x[batch], target[batch]
        lo, hi = np.zeros(len(xb)), np.full(len(xb), np.inf)
        best = xb.copy()
        # Exponential search until the first success, then bisection between lo and hi.
        for round_ in range(max_doublings + bisection_steps):
            doubling = round_ < max_doublings
            if doubling:
                todo = np.isinf(hi)
                eps = np.full(len(xb), min(eps_start * 2.0**round_, eps_max))
            else:
                todo = np.isfinite(hi)
                eps = (lo + hi) / 2
            if not todo.any():
                continue
            n_steps = _kurakin_steps(eps[todo], step_size) if steps is None else steps
            x_found, hit, used = _igs_run(
                model, grad_fn, xb[todo], tb[todo], eps[todo], step_size, n_steps
            )
            idx = np.flatnonzero(todo)
            iterations[batch.start + idx] += used
            best[idx[hit]] = x_found[hit]
            hi[idx[hit]] = eps[idx[hit]]
            lo[idx[~hit]] = eps[idx[~hit]]
        x_adv[batch] = best
        seconds[batch] = (time.perf_counter() - start) / len(xb)
    meta = {
        "attack": "igs", "output_temperature": output_temperature, "step_size": step_size,
        "steps": steps, "eps_start": eps_start, "eps_max": eps_max,
        "bisection_steps": bisection_steps,
    }
    return attack_result(model, x, x_adv, target, label, image_index, iterations, seconds, meta)


def _kurakin_steps(eps: np.ndarray, step_size: float) -> np.ndarray:
    """Kurakin et al.'s iteration count min(eps + 4, 1.25 eps), eps in units of alpha."""
    levels = eps / step_size
    return np.ceil(np.minimum(levels + 4, 1.25 * levels)).astype(np.int64)


def _igs_run(model, grad_fn, x, target, eps, step_size, n_steps):
    """One IGS run per pair at its own eps (n,) for its own step count (n,) or int.

    Returns the first iterate that hits the target (n, H, W, C), hit (n,) bool and the
    gradient evaluations used (n,).
    """
    n_steps = np.broadcast_to(np.asarray(n_steps), (len(x),))
    radius = eps[:, None, None, None]
    lower, upper = np.maximum(x - radius, BOX_MIN), np.minimum(x + radius, BOX_MAX)
    current, hit = x.copy(), np.zeros(len(x), dtype=bool)
    stalled = np.zeros(len(x), dtype=bool)  # x_{k+1} == x_k: a fixed point, later steps repeat it
    used = np.zeros(len(x), dtype=np.int64)
    for k in range(int(n_steps.max())):
        active = ~hit & ~stalled & (k < n_steps)
        if not active.any():
            break
        grad = to_numpy(grad_fn(current[active], target[active]))
        stepped = np.clip(current[active] - step_size * np.sign(grad), lower[active], upper[active])
        stalled[active] = np.all((stepped == current[active]).reshape(len(stepped), -1), axis=1)
        current[active] = stepped
        used[active] += 1
        hit[active] = predict_class(model, current[active]) == target[active]
    return current, hit, used
