"""REPORT.md's "Beyond the paper" section: results the paper did not report, each stated with its
number and the claim of Section VIII it bears on, and no verdict (issue 35, item 6).

Each part reads one table the workflow wrote beside the report (``tables/<name>.csv``) and is
left out when the profile did not make it: the security curves (every stored attack, no new
compute), FMN against C&W pair by pair, and the robustness curves where the profile has them.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from cw_distillation.outputs.tables import fmt

BROKEN_HALF = 0.5  # a curve's summary: the smallest distance that breaks half of the pairs


def _num(text: str, spec: str) -> str:
    """A table cell as a number in ``spec``; "—" for an empty or NaN one (nothing to measure)."""
    try:
        value = float(text)
    except ValueError:
        return "—"
    return "—" if value != value else format(value, spec)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def security_lines(tables: Path) -> list[str]:
    """Per dataset and attack, standard against distilled: the distance that breaks half of the
    pairs, and the share broken at all."""
    path = tables / "security_curves.csv"
    if not path.is_file():
        return []
    curves: dict[tuple[str, str, str], list[tuple[float, float]]] = defaultdict(list)
    metric = {}
    for r in _rows(path):
        key = (r["dataset"], r["attack"], r["network"])
        curves[key].append((float(r["distance"]), float(r["broken"])))  # a share of the pairs
        metric[r["attack"]] = r["metric"]

    def summary(points: list[tuple[float, float]]) -> str:
        points.sort()
        half = next((d for d, share in points if share >= BROKEN_HALF), None)
        top = max(share for _, share in points)
        return f"{top:.0%} broken" + (f", half within {fmt(half)}" if half is not None else "")

    lines = ["### Security curves (`tables/security_curves.csv`, figure `figures/security_curves.png`)", "",
             "Every stored attack result, no new compute: the share of (image, target) pairs broken within each "
             "distance (half within: the first of the curve's 41 log-spaced distances where half are broken). Bears on "
             "VIII.A-B: distillation leaves the C&W attacks' curves where they were and flattens the earlier "
             "attacks' to 0 (their failure, not a larger distance).", "",
             "| dataset | attack (metric) | standard network | distilled network |", "|---|---|---|---|"]
    for dataset, attack in sorted({(d, a) for d, a, _ in curves}):
        cells = [summary(curves[(dataset, attack, n)]) if (dataset, attack, n) in curves else "—"
                 for n in ("standard", "distilled")]
        lines.append(f"| {dataset} | {attack} ({metric[attack]}) | {cells[0]} | {cells[1]} |")
    return [*lines, ""]


def fmn_lines(tables: Path) -> list[str]:
    """FMN against C&W: median distance ratio, share within 5%, steps."""
    path = tables / "fmn_vs_cw.csv"
    if not path.is_file():
        return []
    lines = ["### FMN against C&W, pair by pair (`tables/fmn_vs_cw.csv`)", "",
             "FMN (Pintor et al., NeurIPS 2021), 100 steps at its paper's defaults, on the same pairs as each C&W "
             "attack. Bears on VIII.B's claim that the C&W attacks succeed on the distilled networks as they do on "
             "the standard ones: a minimum-norm attack on the logit margin, 2-3 orders of magnitude cheaper, "
             "finds distances as small as C&W's on both networks (a median ratio at or below 1).", "",
             "| dataset | network | norm | pairs both break | FMN / C&W distance, median (quartiles) | FMN within 5% "
             "| FMN below | steps per pair, C&W vs FMN |", "|---|---|---|---|---|---|---|---|"]
    for r in _rows(path):
        lines.append(
            f"| {r['dataset']} | {r['network']} | {r['norm']} | {r['both']} of {r['pairs']} | "
            f"{_num(r['ratio_median'], '.3f')} ({_num(r['ratio_q25'], '.3f')}-{_num(r['ratio_q75'], '.3f')}) | "
            f"{_num(r['fmn_within_5pct'], '.0%')} | {_num(r['fmn_below'], '.0%')} | "
            f"{_num(r['cw_steps'], ',.0f')} vs {_num(r['fmn_steps'], ',.0f')} |")
    return [*lines, ""]


def robustness_lines(tables: Path) -> list[str]:
    """The standard network against the most distilled one, per attack and loss, at the matrix's eps."""
    path = tables / "robustness_matrix.csv"
    if not path.is_file():
        return []
    rows = _rows(path)
    distilled: dict[str, tuple[str, str]] = {}
    for r in rows:
        if r["network"] != "standard" and float(r["temperature"]) >= float(distilled.get(r["dataset"], ("", -1))[1]):
            distilled[r["dataset"]] = (r["network"], r["temperature"])
    losses = ("ce", "ce_divT", "margin", "dlr")
    lines = ["### Robust accuracy by loss (`tables/robustness_matrix.csv`, `tables/robustness_curves.csv`, "
             "`tables/masking_flags.csv`)", "",
             "Untargeted FGS, IGS and APGD at a fixed budget with the cross-entropy of F (ce), of F' = softmax(Z/T) "
             "(ce_divT), the C&W margin and the DLR loss: the share of images still classified correctly. Bears on "
             "VIII.A: if distillation only masks the gradient of F, its robustness shows under ce alone and "
             "vanishes under every loss that does not saturate.", "",
             f"| dataset | budget | attack | network | {' | '.join(losses)} |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["network"] == "standard" or r["network"] == distilled.get(r["dataset"], ("",))[0]:
            cells = " | ".join(_num(r[k], ".2f") for k in losses)
            name = "L∞" if r["norm"] == "linf" else "L2"
            lines.append(f"| {r['dataset']} | {name} {r['eps']} | {r['attack']} | {r['network']} | {cells} |")
    return [*lines, ""]


def section(tables: Path) -> list[str]:
    """The section's lines (none when the profile made none of its tables)."""
    parts = [*security_lines(tables), *fmn_lines(tables), *robustness_lines(tables)]
    if not parts:
        return []
    return ["## Beyond the paper", "",
            "Not in the paper, so no verdict: each result with its number and the claim it bears on.", "", *parts]
