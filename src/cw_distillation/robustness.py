"""Robust accuracy against epsilon, and the masking flags of a network (issue 35, items 2 and 3).

Section VIII's lesson is that defensive distillation masks gradients: an attack whose loss
saturates in float32 fails on the distilled network, an attack on the logits does not. Here
the same untargeted attacks run at fixed budgets eps with four losses, so that a curve of
robust accuracy against eps shows which losses see through the masking:

- ``ce``: the cross-entropy of F = softmax(Z) at T = 1 for the true label, from the float32
  probabilities (``losses.loss_f``): it saturates on a distilled network (gradient exactly 0);
- ``ce_divT``: the same with F' = softmax(Z / T), T the network's distillation temperature
  (1 for the standard network): the paper's fix of Section VIII.A;
- ``margin``: the C&W margin on the logits, max_{j != y} Z_j - Z_y (kappa = 0; positive once
  the label has lost), as ``fmn.margin_loss`` computes it;
- ``dlr``: APGD's difference-of-logits ratio (``apgd.dlr_loss``), invariant to shifting and
  rescaling the logits.

and three attacks, each maximising the loss inside the eps-ball of ``norm`` (L-inf or L2) and
the box [-0.5, 0.5]:

- ``fgs``: one step x + eps * s(grad), s = sign for L-inf (Goodfellow et al. 2015), the
  L2-normalised gradient for L2 (its L2 form), clipped to the box;
- ``igs``: the iterative form (Kurakin et al. 2016) at a fixed eps: ``steps`` steps of size
  2.5 eps / steps (the common PGD rule: the iterate can cross the ball and still move along its
  edge), each projected onto the ball and the box, starting at x (no random start); a row stops
  at its first adversarial iterate, or when a step leaves it unchanged (a zero gradient);
- ``apgd``: APGD (Croce & Hein 2020, ``attacks/apgd.py``) at its paper's defaults (100
  iterations, momentum 0.75, rho 0.75, eta_0 = 2 eps, one random start seeded per image).
  ``dlr`` and ``ce`` run ``apgd.attack`` itself; ``ce_divT`` and ``margin`` run the same
  algorithm (apgd's iteration and random start) with that objective.

Robust accuracy at eps is the fraction of images that are classified correctly and that no
attack run at any eps' <= eps broke (an example within eps' is within eps). So a curve is
non-increasing by construction, and an image broken at one eps is not attacked again at the
larger ones (which is also what keeps the cost down). At eps = 0 it is the clean accuracy.
An attack's example counts only when the network's argmax at T = 1 on it differs from the
label and it lies inside the ball and the box (checked; a violation is a bug and stops the run).

The masking flags (Pintor et al., NeurIPS 2022, "Indicators of attack failure", in spirit):
the fraction of images whose gradient of the cross-entropy of F (true label) is exactly zero in
float32, the fraction whose float32 softmax is exactly one-hot, and, pair by pair, whether a
stronger attack breaks images that a weaker one leaves standing (``beats``).
"""

from __future__ import annotations

import cw_distillation.autodiff  # noqa: F401  (first: it sets KERAS_BACKEND for keras)

# isort: split
import time
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from cw_distillation.attacks import apgd
from cw_distillation.attacks.fmn import margin_loss
from cw_distillation.attacks.losses import loss_f
from cw_distillation.attacks.objective import value_hit_and_grad
from cw_distillation.attacks.pairs import BOX_MAX, BOX_MIN, batches, predict_class
from cw_distillation.fragility import loss_gradient, softmax_probabilities

NORMS = ("linf", "l2")
ATTACKS = ("fgs", "igs", "apgd")
LOSSES = ("ce", "ce_divT", "margin", "dlr")
METHODS = tuple(f"{attack}_{loss}" for attack in ATTACKS for loss in LOSSES)
DISPLAY_ATTACK = {"fgs": "FGS", "igs": "IGS", "apgd": "APGD"}
DISPLAY_LOSS = {"ce": "CE of F", "ce_divT": "CE of F' = softmax(Z/T)", "margin": "C&W margin", "dlr": "DLR"}
APGD_DEFAULTS = {"iterations": 100, "restarts": 1, "momentum": 0.75, "rho": 0.75, "initial_step": 2.0}
IGS_DEFAULT_STEPS = 40
IGS_STEP_FACTOR = 2.5  # step size = 2.5 eps / steps
# An example's distance may exceed eps by float32 rounding of the projection, no more.
BALL_TOLERANCE = 1e-5


def parse_method(method: str) -> tuple[str, str]:
    """(attack, loss) of a method name: igs_ce_divT -> (igs, ce_divT); ValueError naming it otherwise."""
    attack, _, loss = method.partition("_")
    if attack not in ATTACKS or loss not in LOSSES:
        raise ValueError(f"method: no method is called {method!r}; known: {', '.join(METHODS)}")
    return attack, loss


def display(method: str) -> str:
    attack, loss = parse_method(method)
    return f"{DISPLAY_ATTACK[attack]}, {DISPLAY_LOSS[loss]}"


def check_grid(eps, name: str = "eps") -> np.ndarray:
    """The eps grid as a sorted float64 array without repeats; ValueError naming ``name`` when it is
    empty, negative or not finite."""
    grid = np.asarray(eps, dtype=np.float64).ravel()
    if grid.size == 0:
        raise ValueError(f"{name}: the epsilon grid is empty")
    if not np.all(np.isfinite(grid)):
        raise ValueError(f"{name}: the epsilon grid has a value that is not finite: {grid.tolist()}")
    if np.any(grid < 0):
        raise ValueError(f"{name}: the epsilon grid has a negative value: {grid[grid < 0].tolist()}")
    return np.unique(grid)


def check_norm(norm: str, name: str = "norm") -> str:
    if norm not in NORMS:
        raise ValueError(f"{name}: unsupported norm {norm!r}; supported: {', '.join(NORMS)}")
    return norm


def objective(loss: str, temperature: float = 1.0):
    """The loss to maximise, per example (n,), of (logits (n, K), label (n,), target (n,)); untargeted."""
    if loss == "ce":
        return lambda z, label, target: loss_f(z, label)
    if loss == "ce_divT":
        return lambda z, label, target: loss_f(z, label, temperature)
    if loss == "margin":
        return lambda z, label, target: -margin_loss(z, label, label, True)
    if loss == "dlr":
        return lambda z, label, target: apgd.dlr_loss(z, label)
    raise ValueError(f"loss: no loss is called {loss!r}; known: {', '.join(LOSSES)}")


@dataclass
class Curve:
    """Robust accuracy of one method in one norm over a grid of eps.

    eps: (E,) ascending; robust: (E, N) bool, image n classified correctly and unbroken by the
    runs at every eps' <= eps[e]; gradient_evaluations: per image summed over the runs (a
    forward pass for FGS's budgets is not counted); seconds: wall time of the curve.
    """

    method: str
    norm: str
    eps: np.ndarray
    robust: np.ndarray
    gradient_evaluations: int = 0
    seconds: float = 0.0
    options: dict = field(default_factory=dict)

    @property
    def robust_accuracy(self) -> np.ndarray:
        return self.robust.mean(axis=1) if self.robust.shape[1] else np.zeros(len(self.eps))


def curve(
    model: keras.Model,
    x: np.ndarray,
    label: np.ndarray,
    *,
    method: str,
    norm: str,
    eps,
    temperature: float = 1.0,
    image_index: np.ndarray | None = None,
    igs_steps: int = IGS_DEFAULT_STEPS,
    apgd_options: dict[str, Any] | None = None,
    seed: int = 0,
    batch_size: int = 500,
) -> Curve:
    """Robust accuracy of ``model`` on (x, label) under ``method`` at every eps of the grid.

    x: (N, H, W, C) float32 in [-0.5, 0.5]; label: (N,) int true labels (images it misclassifies
    count as not robust at every eps).
    method: ``{attack}_{loss}`` (METHODS); norm: "linf" or "l2"; eps: the grid (sorted, repeats
    dropped; 0 gives the clean accuracy), on the [-0.5, 0.5] scale.
    temperature: T of F' = softmax(Z / T) (loss ce_divT; the network's distillation temperature).
    image_index: (N,) int, APGD's random starts are seeded by (seed, image index) (default 0..N-1).
    igs_steps: IGS's steps per eps; apgd_options: APGD's (APGD_DEFAULTS over them).
    batch_size: images per gradient evaluation.
    """
    attack, loss = parse_method(method)
    check_norm(norm)
    grid = check_grid(eps)
    if igs_steps < 1:
        raise ValueError(f"igs_steps must be >= 1, got {igs_steps}")
    unknown = set(apgd_options or {}) - set(APGD_DEFAULTS)
    if unknown:
        raise ValueError(f"apgd_options: unknown option(s) {sorted(unknown)}; known: {sorted(APGD_DEFAULTS)}")
    options = {**APGD_DEFAULTS, **(apgd_options or {})}
    x = np.asarray(x, np.float32)
    label = np.asarray(label, np.int64)
    if x.ndim != 4 or label.shape != (len(x),):
        raise ValueError(f"x must be (N, H, W, C) and label (N,), got {x.shape} and {label.shape}")
    if len(x) and (x.min() < BOX_MIN or x.max() > BOX_MAX):
        raise ValueError(f"x must lie in [{BOX_MIN}, {BOX_MAX}]")
    image_index = np.arange(len(x)) if image_index is None else np.asarray(image_index, np.int64)
    start = time.perf_counter()
    standing = predict_class(model, x) == label if len(x) else np.zeros(0, bool)
    robust = np.zeros((len(grid), len(x)), bool)
    spent = np.zeros(len(x), np.int64)
    step_fn = value_hit_and_grad(model, objective(loss, temperature), True) if len(x) else None
    fgs_direction = None
    for e, eps_e in enumerate(grid):
        rows = np.flatnonzero(standing)
        if eps_e > 0 and len(rows):
            xr, yr = x[rows], label[rows]
            if attack == "fgs":
                if fgs_direction is None:  # one gradient per image, at x, for every eps
                    fgs_direction = _fgs_direction(step_fn, x, label, norm, batch_size)
                    spent += 1
                x_adv = np.clip(xr + eps_e * fgs_direction[rows], BOX_MIN, BOX_MAX).astype(np.float32)
            elif attack == "igs":
                x_adv, used = _igs(step_fn, xr, yr, float(eps_e), norm, igs_steps, batch_size)
                spent[rows] += used
            else:
                x_adv, used = _apgd(model, step_fn, loss, xr, yr, image_index[rows], float(eps_e), norm,
                                    options, seed, batch_size)
                spent[rows] += used
            _check_in_ball(x_adv, xr, float(eps_e), norm, method)
            broken = predict_class(model, x_adv) != yr
            standing[rows[broken]] = False
        robust[e] = standing
    options_used = {"igs_steps": igs_steps} if attack == "igs" else dict(options) if attack == "apgd" else {}
    if attack == "apgd":
        options_used["seed"] = seed
    return Curve(method, norm, grid, robust, int(spent.sum()), time.perf_counter() - start, options_used)


def _direction(grad: np.ndarray, norm: str) -> np.ndarray:
    """The unit step of ``norm`` along grad: sign for L-inf, grad / ||grad||_2 for L2 (0 where grad is 0)."""
    return apgd._direction(grad, norm)


def _fgs_direction(step_fn, x, label, norm, batch_size) -> np.ndarray:
    out = np.zeros_like(x)
    for b in batches(len(x), batch_size):
        _, _, grad = step_fn(x[b], label[b], label[b])
        out[b] = _direction(grad, norm)
    return out


def _igs(step_fn, x, label, eps, norm, steps, batch_size):
    """IGS at one eps: (the last iterate of each row (n, H, W, C), gradient evaluations (n,))."""
    alpha = IGS_STEP_FACTOR * eps / steps
    current = x.copy()
    used = np.zeros(len(x), np.int64)
    for b in batches(len(x), batch_size):
        project = apgd._projection(x[b], eps, norm)
        cur = current[b]  # a view: writes through
        hit = np.zeros(len(cur), bool)
        stalled = np.zeros(len(cur), bool)
        for k in range(steps + 1):
            active = np.flatnonzero(~hit & ~stalled)
            if not len(active):
                break
            _, h, grad = step_fn(cur[active], label[b][active], label[b][active])
            used[b.start + active] += 1
            hit[active] = h
            if k == steps:
                break
            moving = active[~h]
            if not len(moving):
                break
            full = np.zeros_like(cur)
            full[moving] = _direction(grad[~h], norm)
            stepped = project(cur + alpha * full)
            unchanged = np.all((stepped[moving] == cur[moving]).reshape(len(moving), -1), axis=1)
            stalled[moving[unchanged]] = True
            cur[moving] = stepped[moving]
    return current, used


def _apgd(model, step_fn, loss, x, label, image_index, eps, norm, options, seed, batch_size):
    """APGD at one eps, untargeted: apgd.attack itself for its own losses, else the same algorithm
    (its iteration and random start) with this objective. (x_adv (n, ...), gradient evaluations (n,))."""
    if loss in apgd.LOSSES:
        result = apgd.attack(model, x, None, eps=eps, label=label, image_index=image_index, norm=norm, loss=loss,
                             seed=seed, batch_size=batch_size, **options)
        return result.x_adv, result.iterations
    return apgd_with_objective(step_fn, x, label, image_index, eps, norm, seed=seed, batch_size=batch_size,
                               **options)


def apgd_with_objective(step_fn, x, label, image_index, eps, norm, *, iterations, restarts, momentum, rho,
                        initial_step, seed, batch_size):
    """Untargeted APGD (``apgd._run`` and ``apgd._random_start``, as ``apgd.attack`` runs them) on the
    objective of ``step_fn`` (``objective.value_hit_and_grad``): (x_adv (n, ...) where the attack
    succeeded, else x; gradient evaluations (n,))."""
    x_adv = x.copy()
    used = np.zeros(len(x), np.int64)
    target = np.full(len(x), -1)
    for b in batches(len(x), batch_size):
        xb, yb, tb = x[b], label[b], target[b]
        done = np.zeros(len(xb), bool)
        for restart in range(restarts):
            x0 = apgd._random_start(xb, eps, norm, [(seed, restart, int(i), int(t))
                                                    for i, t in zip(image_index[b], tb, strict=True)])
            found, hit, spent = apgd._run(step_fn, xb, yb, tb, x0, ~done, eps, norm, True, iterations, momentum,
                                          rho, initial_step)
            x_adv[b][hit] = found[hit]
            used[b] += spent
            done |= hit
            if done.all():
                break
    return x_adv, used


def _check_in_ball(x_adv: np.ndarray, x: np.ndarray, eps: float, norm: str, method: str) -> None:
    delta = (x_adv.astype(np.float64) - x).reshape(len(x), -1)
    size = np.abs(delta).max(axis=1) if norm == "linf" else np.sqrt((delta**2).sum(axis=1))
    if len(x) and (size.max() > eps * (1 + BALL_TOLERANCE) + 1e-7 or x_adv.min() < BOX_MIN or x_adv.max() > BOX_MAX):
        raise RuntimeError(f"{method} ({norm}) left the eps = {eps:g} ball or the box (distance {size.max():.6g})")


# ------------------------------------------------------------------ masking flags


def masking_flags(model: keras.Model, x: np.ndarray, label: np.ndarray, batch_size: int = 256) -> dict[str, Any]:
    """Section VIII.A's float32 effects on (x, label): per image, whether the gradient of the
    cross-entropy of F for its label is exactly zero everywhere, and whether its float32 softmax
    is exactly one-hot (the winner 1.0, every other class 0.0); their fractions, and the images."""
    x = np.asarray(x, np.float32)
    label = np.asarray(label, np.int64)
    grad = loss_gradient(model, x, label, batch_size=batch_size).reshape(len(x), -1)
    zero = np.all(grad == 0.0, axis=1)
    probs = softmax_probabilities(model, x)
    winner = probs.max(axis=1) == 1.0
    one_hot = winner & (np.count_nonzero(probs, axis=1) == 1)
    n = max(len(x), 1)
    return {
        "images": len(x),
        "zero_gradient_fraction": float(zero.sum() / n),
        "one_hot_softmax_fraction": float(one_hot.sum() / n),
        "softmax_max_one_fraction": float(winner.sum() / n),
        "zero_gradient": zero,
        "one_hot_softmax": one_hot,
    }


def beats(stronger_robust: np.ndarray, weaker_robust: np.ndarray) -> tuple[int, int]:
    """Pair by pair (image by image): (how many the stronger attack broke and the weaker did not,
    how many the weaker broke and the stronger did not). Both (N,) bool, robust = not broken."""
    stronger, weaker = ~np.asarray(stronger_robust, bool), ~np.asarray(weaker_robust, bool)
    return int(np.sum(stronger & ~weaker)), int(np.sum(weaker & ~stronger))
