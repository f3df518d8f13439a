"""Transferability of high-confidence adversarial examples (Section VIII.D, Figs. 9 and 10).

The workflow attacks a source (standard) network with the L2 attack at confidence kappa,
then classifies the adversarial examples with a second, target network. An example
*transfers targeted* if the target network also predicts the attack's target class, and
*transfers untargeted* if the target network's class is anything but the true label.
Only pairs where the source attack succeeded count: a failed attack returns the original
image, whose "transfer" would only measure the target network's test error.

Everything here is NumPy / SciPy: the figure and table rules never import TensorFlow.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cw_distillation.evaluate import binomial_interval

TRANSFER_COLUMNS = [
    "kappa",
    "pairs",
    "n",
    "source_success",
    "targeted",
    "targeted_lo",
    "targeted_hi",
    "untargeted",
    "untargeted_lo",
    "untargeted_hi",
]


def transfer_pairs(
    images: np.ndarray, labels: np.ndarray, kappas: np.ndarray, targets: str, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The source attack's pairs, every kappa in one batch: (image_index, target, kappa), each (P,).

    images: (M,) test-image indices; labels: (M,) their true classes. targets "all" takes
    the 9 incorrect targets of each image, "random" one (seeded by the image's index, see
    ``evaluate.random_targets``): M images then cost M pairs per kappa, not 9 M. Pairs are
    kappa-major, so the same examples repeat at every kappa and the curve compares like
    with like.
    """
    from cw_distillation.evaluate import target_pairs

    kappas = np.asarray(kappas, np.float32)
    per_kappa, target = target_pairs(images, labels, targets, seed)
    return (np.tile(per_kappa, len(kappas)), np.tile(target, len(kappas)), np.repeat(kappas, len(per_kappa)))


def margin(logits: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Z_t - max_{i != t} Z_i per example: (N,); the quantity the kappa of the L2 loss bounds.

    logits: (N, K) Z(x); target: (N,) int. A success at confidence kappa has margin >= kappa.
    The target is masked with -inf rather than multiplied by a one-hot: a product would put
    0 in the target's place, and 0 beats every logit when all of them are negative.
    """
    logits = np.asarray(logits, dtype=np.float64)
    target = np.asarray(target).astype(np.int64)
    assert logits.ndim == 2 and target.shape == (len(logits),), (logits.shape, target.shape)
    rows = np.arange(len(logits))
    others = logits.copy()
    others[rows, target] = -np.inf
    return logits[rows, target] - others.max(axis=1)


def transfer_rates(
    pred: np.ndarray, target: np.ndarray, label: np.ndarray, valid: np.ndarray, level: float = 0.95
) -> dict[str, Any]:
    """Targeted and untargeted transfer probabilities, with counts and exact intervals.

    pred: (N,) int class the *target* model gives each adversarial example;
    target, label: (N,) int the attack's target class and the image's true label;
    valid: (N,) bool the source attack succeeded (only these pairs count).
    Returns {"n", "targeted_k", "targeted", "targeted_lo", "targeted_hi", and the same for
    "untargeted"}: targeted = P(pred == target | valid), untargeted = P(pred != label | valid);
    rates are NaN when n = 0.
    """
    pred, target, label = (np.asarray(a).astype(np.int64) for a in (pred, target, label))
    valid = np.asarray(valid, dtype=bool)
    assert pred.shape == target.shape == label.shape == valid.shape, (pred.shape, valid.shape)
    n = int(valid.sum())
    out: dict[str, Any] = {"n": n}
    for name, hit in (("targeted", pred == target), ("untargeted", pred != label)):
        k = int((hit & valid).sum())
        lo, hi = binomial_interval(k, n, level)
        out |= {f"{name}_k": k, name: k / n if n else float("nan"), f"{name}_lo": lo, f"{name}_hi": hi}
    return out


def transfer_curve(
    kappa: np.ndarray,
    success: np.ndarray,
    target: np.ndarray,
    label: np.ndarray,
    pred: np.ndarray,
    level: float = 0.95,
) -> list[dict[str, Any]]:
    """One row per kappa (ascending): the transfer rates of Fig. 9 / Fig. 10.

    All arrays (P,), one entry per attacked (image, target) pair, all kappa values together:
    kappa: float the confidence the pair was attacked with; success: bool the source attack
    succeeded; target, label: int; pred: int the target model's class of the pair's x_adv.
    (Per-kappa result files concatenate into this form: ``np.full(len(r.success), k)``.)
    Row keys: TRANSFER_COLUMNS plus targeted_k / untargeted_k; pairs = all pairs at that
    kappa, n = those whose source attack succeeded, source_success = n / pairs.
    """
    kappa = np.asarray(kappa, dtype=np.float64)
    success = np.asarray(success, dtype=bool)
    target, label, pred = (np.asarray(a) for a in (target, label, pred))
    assert kappa.shape == success.shape == target.shape == label.shape == pred.shape, "arrays must all be (P,)"
    rows = []
    for k in np.unique(kappa):
        at = kappa == k
        rates = transfer_rates(pred[at], target[at], label[at], success[at], level)
        pairs = int(at.sum())
        rows.append({"kappa": float(k), "pairs": pairs, "source_success": rates["n"] / pairs, **rates})
    return rows
