"""Jacobian-based saliency map attack (Papernot et al., EuroS&P 2016), targeted L0.

Each iteration takes the Jacobian of the network's output, picks the pair of still-allowed
input features (p, q) that most raises the target while lowering the other classes, and sets
both to the box maximum (theta = +1: on the [-0.5, 0.5] scale any +1 step ends at 0.5).
JSMA-Z differentiates the logits Z, JSMA-F the softmax F (the version Papernot et al. ran
against distillation). Section VIII.A: JSMA-F fails on distilled networks because F's
Jacobian is 0 in float32; JSMA-Z fails because logit changes of very unlikely classes swamp
the target's, so no pair passes the saliency test and the attack refuses to change anything.
"""

from __future__ import annotations

import cw_distillation.autodiff as autodiff  # first: it sets KERAS_BACKEND for keras

# isort: split
import time
from typing import Literal

import keras
import numpy as np
from keras import ops

from cw_distillation.attacks.losses import softmax
from cw_distillation.attacks.pairs import (
    BOX_MAX,
    attack_result,
    batches,
    check_pairs,
    predict_class,
    to_numpy,
)
from cw_distillation.attacks.result import AttackResult

PAIR_SEARCH_ELEMENTS = 2**25  # images per pair-search chunk: n * P^2 stays under this
CANDIDATES = (256, 1024)  # feature-set sizes of the pruned pair searches, tried in turn (see _best_pairs)


def attack(
    model: keras.Model,
    x: np.ndarray,
    target: np.ndarray,
    *,
    variant: Literal["z", "f"] = "z",
    label: np.ndarray | None = None,
    image_index: np.ndarray | None = None,
    output_temperature: float = 1.0,
    gamma: float = 1.0,
    batch_size: int = 100,
) -> AttackResult:
    """Targeted JSMA on (image, target) pairs.

    x: (N, H, W, C) float32 in [-0.5, 0.5]; target: (N,) int.
    label, image_index: (N,) int, stored in the result (default: the model's class of x, 0..N-1).
    variant: "z" saliency from the Jacobian of the logits Z (JSMA-Z), "f" of the softmax
        F' = softmax(Z / T) (JSMA-F).
    output_temperature: T for JSMA-F (the paper's divide-by-T fix); JSMA-Z ignores it,
        since scaling Z scales alpha and beta alike and leaves the chosen pair unchanged.
    gamma: largest fraction of input features changed; the attack gets
        floor(gamma * H * W * C / 2) pair steps. 1 (the default) is no cap, as the C&W paper's
        Table IV implies (a JSMA-Z worst-case mean of 180 MNIST pixels, above Papernot et al.'s
        14.5% = 112 features); the attack then ends by success, by running out of features, or
        by finding no qualifying pair.
    batch_size: pairs whose Jacobians are computed together.

    Features, not pixels, are the unit of the search (each colour channel on its own, as in
    the original), while the result's L0 counts pixels. A pair stops when the model predicts
    the target, when fewer than two features remain, or when no pair satisfies
    alpha > 0 and beta < 0 (cleverhans' implementation would then modify an arbitrary pair;
    we stop, which is the "refuse to make any changes" Section VIII.A describes).
    iterations: pair modifications made.
    """
    assert variant in ("z", "f"), f"variant must be 'z' or 'f', got {variant!r}"
    x, target, label, image_index = check_pairs(model, x, target, label, image_index)
    n_features = int(np.prod(x.shape[1:]))
    max_iters = int(np.floor(gamma * n_features / 2))
    jacobian = _jacobian_fn(model, variant, output_temperature)
    x_adv, seconds = x.copy(), np.zeros(len(x))
    iterations = np.zeros(len(x), dtype=np.int64)
    for batch in batches(len(x), batch_size):
        start = time.perf_counter()
        flat = x[batch].reshape(-1, n_features).copy()
        domain = flat < BOX_MAX  # features that can still increase
        active = np.ones(len(flat), dtype=bool)
        tb = target[batch]
        for _ in range(max_iters):
            idx = np.flatnonzero(active)
            images = flat[idx].reshape(-1, *x.shape[1:])
            reached = predict_class(model, images) == tb[idx]
            active[idx[reached | (domain[idx].sum(axis=1) < 2)]] = False
            idx = np.flatnonzero(active)
            if len(idx) == 0:
                break
            jac = to_numpy(jacobian(flat[idx].reshape(-1, *x.shape[1:])))
            jac = jac.reshape(len(idx), -1, n_features)  # (m, K, P)
            d_target = jac[np.arange(len(idx)), tb[idx]]  # (m, P)
            # the other classes' rows summed, as cleverhans does (for F, a VJP of the masked sum
            # is the same in exact arithmetic but rounds differently and changes JSMA-F's picks)
            d_others = jac.sum(axis=1) - d_target
            p, q, found = _best_pairs(d_target, d_others, domain[idx])
            active[idx[~found]] = False
            rows = idx[found]
            for feature in (p[found], q[found]):
                flat[rows, feature] = BOX_MAX
                domain[rows, feature] = False
            iterations[batch.start + rows] += 1
        x_adv[batch] = flat.reshape(-1, *x.shape[1:])
        seconds[batch] = (time.perf_counter() - start) / len(flat)
    meta = {
        "attack": f"jsma_{variant}", "output_temperature": output_temperature,
        "gamma": gamma, "max_pair_steps": max_iters, "theta": 1.0,
    }
    return attack_result(model, x, x_adv, target, label, image_index, iterations, seconds, meta)


def _jacobian_fn(model: keras.Model, variant: str, output_temperature: float):
    """Compiled x (n, H, W, C) -> d output_k / dx, (n, K, H, W, C)."""

    def output(v):
        logits = model(v, training=False)
        return logits if variant == "z" else softmax(logits / output_temperature, axis=-1)

    compiled = autodiff.compile_fn(lambda v: autodiff.jacobian_rows(output, v))
    return lambda v: compiled(np.asarray(v, np.float32))


def _best_pairs(
    d_target: np.ndarray, d_others: np.ndarray, domain: np.ndarray,
    candidates: tuple[int, ...] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The saliency-maximising pair per image.

    d_target, d_others: (m, P) float32 derivatives of the target and of the sum of the other
    classes; domain: (m, P) bool, the features still allowed.
    Among pairs p != q in the domain with alpha = d_target[p] + d_target[q] > 0 and
    beta = d_others[p] + d_others[q] < 0, maximise -alpha * beta. Returns p, q: (m,) int
    and found: (m,) bool (False where no pair qualifies).

    The search over all P^2 pairs (9.4 million on CIFAR-10, every iteration) is exact but
    slow, so it first searches the k = CANDIDATES[0] features with the highest upper bound
    u_p = max(a_p + max a, 0) * max(max(-b) - b_p, 0) on any pair that contains p. When the
    best pair found beats every bound outside that set, it is the full search's answer (ties
    included: candidates keep index order and outside pairs score strictly less); rows where
    it does not try the next, larger k, and finally the full search. Tested to agree with it.
    """
    candidates = CANDIDATES if candidates is None else candidates
    m, n_features = d_target.shape
    if not candidates or n_features <= candidates[0]:
        return _search_all(d_target, d_others, domain)
    k = candidates[0]
    a = np.where(domain, d_target, -np.inf).astype(np.float32)
    minus_b = np.where(domain, -d_others, -np.inf).astype(np.float32)
    with np.errstate(invalid="ignore"):
        bound = np.maximum(a + a.max(axis=1, keepdims=True), 0) * np.maximum(
            minus_b + minus_b.max(axis=1, keepdims=True), 0)
    bound = np.where(domain, np.nan_to_num(bound, nan=0.0), -1.0).astype(np.float32)
    top = np.sort(np.argpartition(-bound, k, axis=1)[:, :k], axis=1)
    rest = bound.copy()
    np.put_along_axis(rest, top, -1.0, axis=1)
    outside = rest.max(axis=1)  # no pair with a feature outside ``top`` scores above this
    take = lambda v: np.take_along_axis(v, top, axis=1)  # noqa: E731
    i, j, found = _search_all(take(d_target), take(d_others), take(domain))
    p, q = np.take_along_axis(top, i[:, None], 1)[:, 0], np.take_along_axis(top, j[:, None], 1)[:, 0]
    score = -(d_target[np.arange(m), p] + d_target[np.arange(m), q]) * (
        d_others[np.arange(m), p] + d_others[np.arange(m), q])
    settled = np.where(found, score > outside, outside <= 0)
    if not settled.all():
        rows = np.flatnonzero(~settled)
        p[rows], q[rows], found[rows] = _best_pairs(d_target[rows], d_others[rows], domain[rows], candidates[1:])
    p[~found], q[~found] = 0, 0  # as the full search: argmax of no valid pair
    return p, q, found


def _search_all(
    d_target: np.ndarray, d_others: np.ndarray, domain: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``_best_pairs`` by searching every pair: with keras.ops, so on the accelerator when
    there is one, in chunks that bound the (m, P, P) temporaries."""
    m, n_features = d_target.shape
    chunk = max(1, PAIR_SEARCH_ELEMENTS // n_features**2)
    off_diagonal = ops.logical_not(ops.eye(n_features, dtype="bool"))
    best, found = [], []
    for rows in batches(m, chunk):
        a, b = ops.convert_to_tensor(d_target[rows]), ops.convert_to_tensor(d_others[rows])
        allowed = ops.convert_to_tensor(domain[rows])
        alpha = a[:, :, None] + a[:, None, :]
        beta = b[:, :, None] + b[:, None, :]
        ok = (alpha > 0) & (beta < 0) & allowed[:, :, None] & allowed[:, None, :] & off_diagonal
        score = ops.where(ok, -alpha * beta, -np.inf)
        best.append(to_numpy(ops.argmax(ops.reshape(score, (len(a), -1)), axis=1)))
        found.append(to_numpy(ops.any(ops.reshape(ok, (len(a), -1)), axis=1)))
    best_flat, found_any = np.concatenate(best), np.concatenate(found)
    return best_flat // n_features, best_flat % n_features, found_any
