"""The intervals REPORT.md judges Tables IV and VI by, computed from the attack results themselves.

Tables IV and VI show point values; a verdict needs their sampling noise over the attacked
images, and a distilled / standard ratio needs the two networks' results matched pair by pair.
One long row per (dataset, network, attack, statistic, case), keys STATISTIC_COLUMNS:

- "distance": mean distance over images where the case succeeded; best = each image's smallest
  successful distance, average = each image's mean over its successful targets (the expectation
  of the paper's random target, without the noise of drawing one), worst = its largest, the image
  failing unless every target succeeded. Bootstrap interval over images.
- "image_success": fraction of images where the case succeeded (exact binomial); for the average
  case, a random target's success: the fraction of pairs that succeeded.
- "pair_success": fraction of (image, target) pairs that succeeded within the rules' success
  bound (exact binomial); ``beyond_bound`` counts the successes the bound refused.
- "paired_ratio" (network "distilled/standard"): mean distilled distance / mean standard distance
  over the pairs both attacks solved, images resampled jointly (a paired bootstrap).
- "budget_spent" (JSMA): of the n pairs that failed, k used every pair step the attack allows
  (value: that budget, in changed features); the others stopped because no pair of features
  passed the saliency test (or none was left): why a JSMA row fails, counted.

A success is a success within the bound everywhere here (``rules.Rules.bound``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from cw_distillation import intervals
from cw_distillation.attacks.result import AttackResult
from cw_distillation.evaluate import CASES
from cw_distillation.intervals import Estimate

STATISTIC_COLUMNS = ["dataset", "network", "attack", "metric", "statistic", "case",
                     "n", "k", "value", "lo", "hi", "beyond_bound", "why"]


def bounded_success(result: AttackResult, metric: str, bound: float) -> np.ndarray:
    """(N,) bool: the pair succeeded and its example lies within ``bound`` (in ``metric``)."""
    return np.asarray(result.success, bool) & (getattr(result, metric).astype(np.float64) <= bound)


def per_image_cases(result: AttackResult, metric: str, ok: np.ndarray) -> dict[str, np.ndarray]:
    """{case: (M,) distance per image, NaN where the case failed}, images in ascending index order.

    ok: (N,) bool success per pair (``bounded_success``). An untargeted attack has one pair per
    image: its best case is that pair.
    """
    dist = getattr(result, metric).astype(np.float64)
    groups = [np.flatnonzero(result.image_index == i) for i in np.unique(result.image_index)]
    out = {case: np.full(len(groups), np.nan) for case in CASES}
    for i, g in enumerate(groups):
        good = g[ok[g]]
        if len(good):
            out["best"][i] = dist[good].min()
            out["average"][i] = dist[good].mean()
        if len(good) == len(g):
            out["worst"][i] = dist[g].max()
    return out


def _row(dataset: str, network: str, attack: str, metric: str, statistic: str, case: str | None,
         est: Estimate, k: int | None = None, beyond: int | None = None) -> dict[str, Any]:
    return {
        "dataset": dataset, "network": network, "attack": attack, "metric": metric, "statistic": statistic,
        "case": case, "n": est.n, "k": k, "value": est.value, "lo": est.lo, "hi": est.hi,
        "beyond_bound": beyond, "why": est.why or None,
    }


def result_rows(dataset: str, network: str, attack: str, result: AttackResult, metric: str, bound: float,
                targeted: bool = True, seed: int = 0) -> list[dict[str, Any]]:
    """The "distance", "image_success" and "pair_success" rows of one attack result."""
    ok = bounded_success(result, metric, bound)
    beyond = int(np.sum(np.asarray(result.success, bool) & ~ok))
    cases = per_image_cases(result, metric, ok)
    rows = [_row(dataset, network, attack, metric, "pair_success", None,
                 intervals.rate(int(ok.sum()), len(ok)), int(ok.sum()), beyond)]
    for case in CASES if targeted else ("best",):
        per_image = cases[case]
        k = int(np.sum(np.isfinite(per_image)))
        # the average case's success is a random target's: the fraction of pairs that succeeded
        success = intervals.rate(int(ok.sum()), len(ok)) if case == "average" else intervals.rate(
            k, len(per_image), unit="images")
        rows.append(_row(dataset, network, attack, metric, "image_success", case, success,
                         int(ok.sum()) if case == "average" else k))
        est = intervals.mean(per_image, seed) if k else intervals.missing("no image succeeded", len(per_image))
        rows.append(_row(dataset, network, attack, metric, "distance", case, est, k))
    return rows


def budget_rows(dataset: str, network: str, attack: str, result: AttackResult) -> list[dict[str, Any]]:
    """The "budget_spent" row of a JSMA result (none for a result that records no budget)."""
    steps = result.meta.get("max_pair_steps")
    if steps is None:
        return []
    failed = ~np.asarray(result.success, bool)
    spent = int(np.sum(failed & (result.iterations >= steps)))
    gamma = float(result.meta.get("gamma", 1.0))
    capped = f"capped at gamma = {gamma:g} of the features (Papernot et al.'s)" if gamma < 1 else ""
    est = Estimate(value=float(2 * steps), lo=None, hi=None, n=int(failed.sum()), why=capped)
    return [_row(dataset, network, attack, "l0", "budget_spent", None, est, spent)]


def paired_ratio(numerator: AttackResult, denominator: AttackResult, metric: str, bound: float,
                 seed: int = 0) -> Estimate:
    """mean numerator distance / mean denominator distance on the (image_index, target) pairs that
    both solved (within the bound), with a bootstrap over their images resampled jointly."""
    def keyed(r: AttackResult) -> dict[tuple[int, int], float]:
        ok = bounded_success(r, metric, bound)
        d = getattr(r, metric).astype(np.float64)
        return {(int(i), int(t)): float(x) for i, t, x, s in zip(r.image_index, r.target, d, ok, strict=True) if s}

    a, b = keyed(numerator), keyed(denominator)
    common = sorted(set(a) & set(b))
    if not common:
        return intervals.missing("no (image, target) pair solved on both networks")
    images = sorted({i for i, _ in common})
    pos = {img: j for j, img in enumerate(images)}
    num, den = np.zeros(len(images)), np.zeros(len(images))
    for key in common:
        num[pos[key[0]]] += a[key]
        den[pos[key[0]]] += b[key]

    def ratio(idx: np.ndarray) -> float:
        d = den[idx].sum()
        return float(num[idx].sum() / d) if d > 0 else float("nan")

    est = intervals.over_images(len(images), ratio, seed)
    return est if est.ok or est.value is None else intervals.missing(est.why, est.n)


def ratio_rows(dataset: str, attack: str, standard: AttackResult, distilled: AttackResult, metric: str,
               bound: float, seed: int = 0) -> list[dict[str, Any]]:
    """The "paired_ratio" row of one attack: distilled over standard, matched by (image, target)."""
    est = paired_ratio(distilled, standard, metric, bound, seed)
    return [_row(dataset, "distilled/standard", attack, metric, "paired_ratio", "all targets", est)]


def statistic_rows(results: Mapping[tuple[str, str, str], AttackResult], metrics: Mapping[str, str],
                   bounds: Mapping[tuple[str, str], float], untargeted: frozenset[str] = frozenset(),
                   ratio_attacks: tuple[str, ...] = ("l0", "l2", "linf")) -> list[dict[str, Any]]:
    """Every row for these results.

    results: (dataset, network, attack) -> result, network "standard" or "distilled", attack the
        result's name (``deepfool_softmax`` etc.); metrics: attack -> its metric (a variant's is
        its attack's); bounds: (dataset, metric) -> success bound.
    """
    rows = []
    for (dataset, network, attack), result in results.items():
        metric = metrics[attack]
        rows += result_rows(dataset, network, attack, result, metric, bounds[(dataset, metric)],
                            targeted=attack not in untargeted)
        if attack.startswith("jsma"):
            rows += budget_rows(dataset, network, attack, result)
    for dataset in dict.fromkeys(d for d, _, _ in results):
        for attack in ratio_attacks:
            std, dist = results.get((dataset, "standard", attack)), results.get((dataset, "distilled", attack))
            if std is not None and dist is not None:
                rows += ratio_rows(dataset, attack, std, dist, metrics[attack], bounds[(dataset, metrics[attack])])
    return rows
