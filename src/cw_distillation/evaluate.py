"""Which pairs to attack, and the paper's best / average / worst case summaries of a result.

The paper attacks the first 1000 test images that the model classifies correctly, each
towards all 9 incorrect labels, and reports for each distance metric (Tables IV and VI):
best case (the easiest target of each image), average case (a target drawn uniformly at
random per image) and worst case (the hardest target), each as the mean distance over
the images where that case succeeded and the probability that it succeeded.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from cw_distillation.attacks.result import AttackResult

METRICS = ("l0", "l2", "linf")
CASES = ("best", "average", "worst")


def select_images(y_pred: np.ndarray, y_true: np.ndarray, n: int) -> tuple[np.ndarray, int]:
    """The first n images classified correctly: (indices (n,), how many were skipped before).

    y_pred: (N,) int labels of one network, or (M, N) of several, which must then all be
    right (paired comparisons attack the same images on every network); y_true: (N,).
    Misclassified images have no meaningful targeted attack (the paper's evaluation leaves
    them out), so they are skipped, and counted.
    """
    y_pred, y_true = np.atleast_2d(np.asarray(y_pred)), np.asarray(y_true)
    assert y_pred.ndim == 2 and y_pred.shape[1:] == y_true.shape, (y_pred.shape, y_true.shape)
    correct = np.flatnonzero((y_pred == y_true).all(axis=0))
    if len(correct) < n:
        raise ValueError(f"only {len(correct)} of {len(y_true)} images are classified "
                         f"correctly, fewer than the {n} asked for")
    chosen = correct[:n]
    skipped = int(chosen[-1] + 1 - n) if n else 0
    return chosen, skipped


def all_targets(labels: np.ndarray, n_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Every incorrect target of every image: (image_index, target), each (M * (K-1),).

    labels: (M,) int true labels; image_index indexes ``labels``; pairs are image-major,
    targets ascending.
    """
    labels = np.asarray(labels)
    image = np.repeat(np.arange(len(labels)), n_classes)
    target = np.tile(np.arange(n_classes), len(labels))
    keep = target != labels[image]
    return image[keep], target[keep]


def random_targets(labels: np.ndarray, image_index: np.ndarray, seed: int, n_classes: int = 10) -> np.ndarray:
    """One incorrect target per image, uniform over the K-1 others: (M,).

    A function of (seed, test image index) only, so every network and every attack gets the
    same target for the same image, whatever else is attacked alongside.
    """
    offsets = np.array([np.random.default_rng([seed, int(i)]).integers(1, n_classes) for i in image_index], np.int64)
    return (np.asarray(labels, np.int64) + offsets) % n_classes


def target_pairs(images: np.ndarray, labels: np.ndarray, targets: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The (image_index, target) pairs to attack, each (P,): "all" = the 9 incorrect targets of
    each image (image-major), "random" = one per image (``random_targets``).

    images: (M,) test-image indices; labels: (M,) their true classes.
    """
    images = np.asarray(images)
    if targets == "all":
        pos, target = all_targets(labels)
        return images[pos], target
    if targets == "random":
        return images, random_targets(labels, images, seed)
    raise ValueError(f"targets must be 'all' or 'random', not {targets!r}")


def success_rate(result: AttackResult) -> float:
    """Fraction of (image, target) pairs where the attack succeeded."""
    return float(np.mean(result.success)) if len(result.success) else float("nan")


def best_average_worst(result: AttackResult, rng_seed: int) -> dict[str, dict[str, dict]]:
    """{metric: {case: {"mean", "prob", "n_images"}}} for metric in l0, l2, linf.

    Per image (grouped by result.image_index): best = the smallest distance among its
    successful targets (the image fails if none succeeded); worst = the largest distance,
    and the image fails if any target failed; average = one target drawn uniformly at
    random (seeded, the same draw for every metric). mean: mean distance over the images
    where the case succeeded (NaN if none); prob: fraction of images where it succeeded.
    """
    return {
        metric: {case: _mean_and_prob(values) for case, values in cases.items()}
        for metric, cases in _per_image_cases(result, rng_seed).items()
    }


def precision(result: AttackResult, rng_seed: int, n_boot: int = 2000, level: float = 0.95) -> dict[str, dict]:
    """How far a summary of few images can be trusted: {metric: {case: [lo, hi], "over_targets": {...}}}.

    [lo, hi]: the percentile bootstrap interval (images resampled with replacement, seeded)
    of each case's mean distance over its successful images. "over_targets": {"mean", "ci"}
    of each image's mean over its successful targets, averaged over images: the expectation
    of the average case without the noise of drawing one target per image, which on 10
    images is as large as the effects being compared (the paper drew on 1000).
    """
    groups = _groups(result)
    n = len(groups)
    resamples = np.random.default_rng([rng_seed, 1]).integers(0, n, size=(n_boot, n)) if n else np.zeros((0, 0), int)
    tail = 100 * (1 - level) / 2

    def interval(per_image: list[tuple[bool, float]]) -> list[float]:
        ok = np.array([s for s, _ in per_image], bool)
        dist = np.where(ok, np.array([d for _, d in per_image], np.float64), 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = dist[resamples].sum(1) / ok[resamples].sum(1)
        means = means[np.isfinite(means)]
        if not len(means):
            return [float("nan"), float("nan")]
        return [float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))]

    out: dict[str, dict] = {}
    for metric, per_case in _per_image_cases(result, rng_seed, groups).items():
        dist, ok = getattr(result, metric).astype(np.float64), result.success
        over_targets = [(ok[g].any(), float(dist[g][ok[g]].mean()) if ok[g].any() else np.nan) for g in groups]
        out[metric] = {case: interval(values) for case, values in per_case.items()}
        out[metric]["over_targets"] = {"mean": _mean_and_prob(over_targets)["mean"], "ci": interval(over_targets)}
    return out


def _groups(result: AttackResult) -> list[np.ndarray]:
    """The pairs of each image, images in ascending index order."""
    return [np.flatnonzero(result.image_index == i) for i in np.unique(result.image_index)]


def _per_image_cases(
    result: AttackResult, rng_seed: int, groups: list[np.ndarray] | None = None
) -> dict[str, dict[str, list[tuple[bool, float]]]]:
    """{metric: {case: [(succeeded, distance) per image]}}, the average case's target drawn with the seed.

    groups: ``_groups(result)``, where the caller has them already.
    """
    groups = _groups(result) if groups is None else groups
    rng = np.random.default_rng(rng_seed)
    drawn = np.array([rng.choice(g) for g in groups])
    out: dict[str, dict[str, list[tuple[bool, float]]]] = {}
    for metric in METRICS:
        dist = getattr(result, metric).astype(np.float64)
        ok = result.success
        out[metric] = {
            "best": [(ok[g].any(), np.min(dist[g][ok[g]]) if ok[g].any() else np.nan) for g in groups],
            "average": [(ok[p], dist[p]) for p in drawn],
            "worst": [(ok[g].all(), np.max(dist[g]) if ok[g].all() else np.nan) for g in groups],
        }
    return out


def _mean_and_prob(per_image: list[tuple[bool, float]]) -> dict:
    success = np.array([s for s, _ in per_image], bool)
    dist = np.array([d for _, d in per_image], np.float64)
    return {
        "mean": float(dist[success].mean()) if success.any() else float("nan"),
        "prob": float(success.mean()) if len(success) else float("nan"),
        "n_images": len(success),
    }


def binomial_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson exact interval for a binomial proportion k / n: (lo, hi).

    Chosen because it never undercovers (its coverage is >= level for every true p), and
    transfer rates sit near 0 and 1, where the normal (Wald) interval collapses to a point
    and Wilson's undercovers. lo = Beta(a/2; k, n-k+1), hi = Beta(1-a/2; k+1, n-k), with
    lo = 0 when k = 0 and hi = 1 when k = n (the Beta with a zero parameter is degenerate).
    n = 0 gives (nan, nan): no trial, no interval. Same as
    ``scipy.stats.binomtest(k, n).proportion_ci(level, method="exact")``.
    """
    k, n = int(k), int(n)
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if n == 0:
        return float("nan"), float("nan")
    alpha = 1.0 - level
    lo = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lo, hi
