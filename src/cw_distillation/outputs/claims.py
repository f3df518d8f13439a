"""The rows of REPORT.md: each claim of Section VIII, its statistic, and the verdict of its rule.

Every verdict is ``judge.judge`` of a 95% interval against the band of the claim's rule in
verdict_rules.yaml; the numbers come from the tables under paper_outputs/<profile>/tables/
(the intervals of Tables IV and VI from attack_statistics.csv). A claim whose profile is too far
from the paper's settings is "not run at this scale"; one the paper does not make is shown
outside the count. Each row that does not hold or is inconclusive says why, from the data.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cw_distillation import intervals
from cw_distillation.intervals import Estimate
from cw_distillation.outputs.judge import FAILS, HOLDS, INCONCLUSIVE, combine, judge
from cw_distillation.outputs.rules import Rule, Rules
from cw_distillation.outputs.tables import fmt
from cw_distillation.reference import lookup

NOT_AT_SCALE, MISSING, SHOWN = "not run at this scale", "not run", "shown"
VERDICTS = (HOLDS, FAILS, INCONCLUSIVE, NOT_AT_SCALE, MISSING, SHOWN)
CASES = ("best", "average", "worst")
README_DEVIATIONS = "README, Deviations"


@dataclass
class Claim:
    claim_id: str  # its rule in verdict_rules.yaml ("" for a row shown outside the count)
    section: str
    claim: str
    paper: str
    ours: str
    interval: list[float | None]  # [lo, hi] of the judged statistic, [None, None] if none
    rule: str
    verdict: str
    why: str
    source: str
    counted: bool = True


@dataclass
class Inputs:
    """The tables a profile's report reads, and what it knows of the profile's scale."""

    tables: Path
    sc: dict
    rules: Rules
    cache: dict[str, Any] = field(default_factory=dict)

    def table(self, name: str) -> list[dict[str, Any]]:
        if name not in self.cache:
            self.cache[name] = read_table(self.tables, name) or []
        return self.cache[name]

    def stat(self, dataset: str, network: str, attack: str, statistic: str, case: str | None = None
             ) -> dict[str, Any] | None:
        return next((r for r in self.table("attack_statistics") if r["dataset"] == dataset
                     and r["network"] == network and r["attack"] == attack and r["statistic"] == statistic
                     and (case is None or r["case"] == case)), None)


def read_table(folder: Path, name: str) -> list[dict[str, Any]] | None:
    path = folder / f"{name}.csv"
    if not path.is_file():
        return None

    def value(text: str) -> Any:
        if text == "":
            return None
        if text in ("True", "False"):
            return text == "True"
        try:
            return float(text)
        except ValueError:
            return text

    with open(path, newline="") as fh:
        return [{k: value(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def pct(x: float | None) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def on(sc: dict, dataset: str) -> bool:
    """Qualitative claims about ``dataset`` are judged (its networks are trained)."""
    return bool(sc["trained_on"].get(dataset, False))


def estimate_of(row: dict[str, Any] | None, unit: str = "images") -> Estimate:
    """An attack_statistics row as an Estimate (missing, with its reason, where it has no value)."""
    if row is None:
        return intervals.missing("not in tables/attack_statistics.csv")
    if row.get("value") is None or row.get("lo") is None:
        return intervals.missing(row.get("why") or "no value", int(row.get("n") or 0))
    return Estimate(row["value"], row["lo"], row["hi"], int(row["n"] or 0), unit=unit)


def count_rate(rate: float | None, n: float | None, unit: str) -> Estimate:
    """A rate a table gives as a fraction of n, as k of n with its exact interval."""
    if rate is None or n is None or (isinstance(rate, float) and math.isnan(rate)):
        return intervals.missing(f"no {unit}")
    return intervals.rate(round(rate * n), int(n), unit=unit)


def span(est: Estimate, show: Callable[[float], str] = fmt) -> str:
    bounds = est.bounds()
    return f"{show(bounds[1])} to {show(bounds[2])}" if bounds is not None else "—"


def accuracy_note(inputs: Inputs, dataset: str) -> str:
    """Every network's test accuracy beside the paper's, for the why of a row on that dataset."""
    rows = {r["model"]: r["test_accuracy"] for r in inputs.table("model_accuracy") if r["dataset"] == dataset}
    if not rows:
        return ""
    paper = lookup(f"models.{dataset}.test_accuracy")
    main = f"distilled_T{inputs.sc['main_temperature']:g}"
    parts = [f"{m} {pct(a)}" for m, a in rows.items() if m in ("standard", main)]
    return f"networks at {', '.join(parts)} test accuracy (paper ~{pct(paper)})"


def make(inputs: Inputs, claim_id: str, section: str, claim: str, paper: str, ours: str, est: Estimate,
         comparable: bool, source: str, paper_value: float | None = None, dataset: str | None = None,
         cell: str | None = None, show: Callable[[float], str] = fmt, hint: str = "",
         unscaled: str = "the profile's training or attacks are too far from the paper's to judge this") -> Claim:
    """One judged row: the rule's band around ``paper_value``, the verdict of ``est`` against it."""
    rule: Rule = inputs.rules[claim_id]
    band = rule.band(paper_value, dataset, cell)
    words = f"{rule.describe(paper_value, dataset, cell)}: {rule.reason_for(cell)}"
    if not comparable:
        verdict, why = NOT_AT_SCALE, unscaled
    else:
        verdict, why = judge(est, band)
        if verdict != HOLDS and hint:
            why = f"{why}; {hint}"
    return Claim(claim_id, section, claim, paper, ours, [est.lo, est.hi], words, verdict, why, source)


def combined(parts: list[Claim], **fields: Any) -> Claim:
    """One row judged by several statistics (Fig. 8: ratio and slope)."""
    verdict = NOT_AT_SCALE if any(p.verdict == NOT_AT_SCALE for p in parts) else combine([p.verdict for p in parts])
    why = "; ".join(f"{p.claim_id}: {p.why}" for p in parts if p.why and verdict != HOLDS)
    return Claim(", ".join(p.claim_id for p in parts), verdict=verdict, why=why,
                 rule="; ".join(f"{p.claim_id} {p.rule}" for p in parts),
                 interval=parts[0].interval, **fields)


def shown(section: str, claim: str, paper: str, ours: str, source: str) -> Claim:
    return Claim("", section, claim, paper, ours, [None, None], "—", SHOWN, "", source, counted=False)
