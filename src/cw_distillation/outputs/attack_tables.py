"""Rows of Table IV (undistilled networks) and Table VI (distilled at T = 100), ours beside the paper's.

Each attack is measured in the distance it minimises, as in the paper: L0 for our L0 attack
and both JSMAs, L2 for our L2 attack, DeepFool and L-BFGS, L-infinity for our L-infinity
attack, FGS and IGS. For every case (best / average / worst) and dataset a row carries our
mean distance and success probability (``evaluate.best_average_worst``) next to the paper's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from cw_distillation.attacks import registry
from cw_distillation.datasets import NAMES
from cw_distillation.evaluate import CASES
from cw_distillation.reference import lookup

# Table order, metrics and names from the registry (grouped by distance metric, ours first, as Table IV).
ATTACK_METRIC = dict(registry.METRIC)
ATTACK_NAMES = dict(registry.DISPLAY)
OUR_ATTACKS = registry.OUR_ATTACKS
# DeepFool is untargeted: one attack per image, so only its best case is defined.
UNTARGETED = registry.UNTARGETED
FIELDS = ("mean", "success", "paper_mean", "paper_success")

Summary = Mapping[str, Mapping[str, Mapping[str, Any]]]  # evaluate.best_average_worst's return value


def attack_columns(datasets: Sequence[str] = NAMES) -> list[str]:
    """attack, name, metric, then per dataset: <ds>_images and <ds>_<case>_<field> for every case."""
    columns = ["attack", "name", "metric"]
    for ds in datasets:
        columns.append(f"{ds}_images")
        columns += [f"{ds}_{case}_{field}" for case in CASES for field in FIELDS]
    return columns


def paper_value(table: Literal["iv", "vi"], dataset: str, attack: str, case: str) -> tuple[float | None, float | None]:
    """The paper's (mean distance, success probability) for one cell; None where it gives none.

    Table IV: reference_results.yaml gives [mean, success] (either may be null; L-BFGS is not
    in Table IV). Table VI gives only our attacks' means, each at 100% success; of the earlier
    attacks the text says "All of the previous attacks fail to find adversarial examples", so
    their paper success is 0 and they have no mean.
    """
    if attack in UNTARGETED and case != "best":
        return None, None
    if table == "iv":
        try:
            mean, success = lookup(f"table_iv_undistilled.{dataset}.{attack}.{case}")
        except KeyError:
            return None, None
        return mean, success
    if table == "vi":
        if attack in OUR_ATTACKS:
            return lookup(f"table_vi_distilled.{dataset}.{attack}.{case}"), 1.0
        return None, 0.0
    raise ValueError(f"table must be 'iv' or 'vi', got {table!r}")


def summary_cases(summary: Mapping[str, Any]) -> Summary | None:
    """The per-case summary of one attack step's JSON summary (``cases``). An untargeted attack
    (DeepFool) attacks each image once, so its step writes no per-image cases; its best case is
    its success rate and its mean distance over the successful images, with one pair per image."""
    if summary.get("cases") is not None or summary.get("targeted", True):
        return summary.get("cases")
    return {
        metric: {"best": {"mean": distance, "prob": summary["success_rate"], "n_images": summary["n_images"]}}
        for metric, distance in summary["mean_distance"].items()
    }


def attack_rows(
    summaries: Mapping[tuple[str, str], Summary | None],
    table: Literal["iv", "vi"],
    datasets: Sequence[str] = NAMES,
    attacks: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """One row per attack, keys ``attack_columns(datasets)``.

    summaries: (dataset, attack) -> ``evaluate.best_average_worst(result, seed)`` of that
    attack's result on that dataset's network (standard for "iv", distilled for "vi").
    Missing pairs (or a None summary) leave our cells None (the paper's are still filled in).
    attacks: which rows, in this order (default: every attack in some summary, table order).
    """
    if attacks is None:
        present = {a for _, a in summaries}
        attacks = [a for a in ATTACK_METRIC if a in present]
    unknown = [a for a in attacks if a not in ATTACK_METRIC]
    if unknown:
        raise ValueError(f"unknown attacks {unknown}; known: {list(ATTACK_METRIC)}")
    rows = []
    for attack in attacks:
        metric = ATTACK_METRIC[attack]
        row: dict[str, Any] = {"attack": attack, "name": ATTACK_NAMES[attack], "metric": metric}
        for ds in datasets:
            summary = summaries.get((ds, attack))
            row[f"{ds}_images"] = summary[metric]["best"]["n_images"] if summary else None
            for case in CASES:
                ours = summary[metric][case] if summary and not (attack in UNTARGETED and case != "best") else None
                paper_mean, paper_success = paper_value(table, ds, attack, case)
                row[f"{ds}_{case}_mean"] = ours["mean"] if ours else None
                row[f"{ds}_{case}_success"] = ours["prob"] if ours else None
                row[f"{ds}_{case}_paper_mean"] = paper_mean
                row[f"{ds}_{case}_paper_success"] = paper_success
        rows.append(row)
    return rows


def table_iv_rows(summaries: Mapping[tuple[str, str], Summary | None], **kw) -> list[dict[str, Any]]:
    """Table IV: every attack on the standard (undistilled) networks."""
    return attack_rows(summaries, "iv", **kw)


def table_vi_rows(summaries: Mapping[tuple[str, str], Summary | None], **kw) -> list[dict[str, Any]]:
    """Table VI: every attack on the networks distilled at T = 100."""
    return attack_rows(summaries, "vi", **kw)


LONG_COLUMNS = ["attack", "metric", "case", "images", "mean", "success", "paper_mean", "paper_success"]


def long_rows(rows: Sequence[Mapping[str, Any]], dataset: str) -> list[dict[str, Any]]:
    """One dataset's cells of ``attack_rows`` as one row per (attack, case): a table a reader can scan
    (the wide form has 13 columns per dataset). Cases with neither ours nor the paper's are left out."""
    out = []
    for row in rows:
        for case in CASES:
            cell = {f: row.get(f"{dataset}_{case}_{f}") for f in FIELDS}
            if all(v is None for v in cell.values()):
                continue
            out.append(
                {
                    "attack": row["name"],
                    "metric": row["metric"],
                    "case": case,
                    "images": row.get(f"{dataset}_images"),
                    **cell,
                }
            )
    return out


def markdown_by_dataset(rows: Sequence[Mapping[str, Any]], datasets: Sequence[str], caption: str) -> str:
    """The markdown form of a Table IV / VI: one long table per dataset, under its name."""
    from cw_distillation.outputs.tables import to_markdown

    parts = [f"**{caption}**", ""]
    for ds in datasets:
        parts += [f"### {ds}", "", to_markdown(long_rows(rows, ds), LONG_COLUMNS)]
    return "\n".join(parts)


def within_tolerance(ours: float | None, paper: float | None, rel: float, abs_tol: float = 0.0) -> bool | None:
    """|ours - paper| <= max(rel * |paper|, abs_tol); None when either is missing or NaN (nothing to compare).

    abs_tol is for values near 0, where a relative tolerance means "exactly": the paper's
    success of 0 for the earlier attacks on distilled networks, or CIFAR-10's L-infinity 0.002.
    """
    if ours is None or paper is None or math.isnan(ours) or math.isnan(paper):
        return None
    return abs(ours - paper) <= max(rel * abs(paper), abs_tol)
