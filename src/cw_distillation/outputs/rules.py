"""verdict_rules.yaml, read and checked: each claim's statistic, direction, tolerance band and reason.

The report judges nothing that is not in that file, and the file is checked whole before any
table is written: an unknown claim id, a missing key or an unknown direction stops the step
with an error naming the claim and the key.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

DIRECTIONS = ("two-sided", "at-most", "at-least")
TOLERANCES = ("relative", "absolute", "threshold")
REQUIRED = ("statistic", "direction", "tolerance", "reason")
# The claims the report judges; a rules file must give each one, and no other.
CLAIM_IDS = (
    "accuracy.standard",
    "accuracy.distilled",
    "logits.norm",
    "logits.ratio",
    "logits.one_hot",
    "cw.distance.standard",
    "cw.distance.distilled",
    "cw.success",
    "earlier.success.standard",
    "distillation.ratio",
    "earlier.fails.distilled",
    "fix.recovers",
    "fix.still_fails",
    "temperature.jsma_trend",
    "temperature.jsma_t5",
    "fig8.ratio",
    "fig8.slope",
    "transfer.rises",
    "transfer.high_confidence",
)
METRICS = ("l0", "l2", "linf")


class RulesError(ValueError):
    """The rules file is not usable; the message names the claim and the key."""


@dataclass(frozen=True)
class Rule:
    claim_id: str
    statistic: str
    direction: str
    tolerance: dict[str, Any]
    reason: str
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)

    def band(self, paper: float | None = None, dataset: str | None = None, cell: str | None = None
             ) -> tuple[float, float]:
        """The band [low, high] ours must lie in (-inf / inf where the direction leaves a side open).

        cell: "<dataset>.<metric>.<case>", to pick an override; dataset: for a per-dataset tolerance.
        """
        tol = self.overrides.get(cell, self.tolerance) if cell else self.tolerance
        kind = next(k for k in TOLERANCES if k in tol)
        amount = tol[kind]
        if isinstance(amount, dict):
            if dataset not in amount:
                raise RulesError(f"claim {self.claim_id!r}: tolerance {kind!r} gives no value for dataset {dataset!r}")
            amount = amount[dataset]
        if kind == "threshold":
            low, high = (amount if isinstance(amount, list) else (amount, amount))
        else:
            if paper is None:
                raise RulesError(f"claim {self.claim_id!r}: tolerance {kind!r} needs the paper's value; it has none")
            spread = abs(paper) * amount if kind == "relative" else amount
            low, high = paper - spread, paper + spread
        if self.direction == "at-most":
            return -math.inf, high
        if self.direction == "at-least":
            return low, math.inf
        return low, high

    def describe(self, paper: float | None = None, dataset: str | None = None, cell: str | None = None) -> str:
        """The band in words, for the report's rule column: "<= 2.20", ">= 95.0%" style is the caller's."""
        low, high = self.band(paper, dataset, cell)
        if self.direction == "at-most":
            return f"at most {high:.3g}"
        if self.direction == "at-least":
            return f"at least {low:.3g}"
        return f"{low:.3g} to {high:.3g}"

    def reason_for(self, cell: str | None = None) -> str:
        return self.overrides.get(cell, {}).get("reason", self.reason) if cell else self.reason


@dataclass(frozen=True)
class Rules:
    claims: dict[str, Rule]
    success_bound: dict[str, dict[str, float]]
    bound_reason: str

    def __getitem__(self, claim_id: str) -> Rule:
        return self.claims[claim_id]

    def bound(self, dataset: str, metric: str) -> float:
        """The distance past which a success counts as a failure (inf where the file gives none)."""
        return float(self.success_bound.get(dataset, {}).get(metric, math.inf))


def _check_tolerance(claim: str, key: str, tol: Any) -> None:
    if not isinstance(tol, dict):
        raise RulesError(f"claim {claim!r}: key {key!r} must be a mapping with one of {TOLERANCES}")
    kinds = [k for k in TOLERANCES if k in tol]
    extra = set(tol) - set(TOLERANCES) - {"reason"}
    if len(kinds) != 1 or extra:
        raise RulesError(f"claim {claim!r}: key {key!r} needs exactly one of {TOLERANCES}, got {sorted(tol)}")
    amount = tol[kinds[0]]
    values = list(amount.values()) if isinstance(amount, dict) else amount if isinstance(amount, list) else [amount]
    if not values or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        raise RulesError(f"claim {claim!r}: key {key!r}.{kinds[0]} must be a number (or numbers), got {amount!r}")


def parse(data: Any) -> Rules:
    """Rules from the YAML's parsed data, every claim checked; RulesError names the claim and key."""
    if not isinstance(data, dict) or not isinstance(data.get("claims"), dict):
        raise RulesError("the rules file needs a mapping 'claims'")
    claims = data["claims"]
    unknown = sorted(set(claims) - set(CLAIM_IDS))
    if unknown:
        raise RulesError(f"claim {unknown[0]!r}: unknown claim id (known: {', '.join(CLAIM_IDS)})")
    absent = [c for c in CLAIM_IDS if c not in claims]
    if absent:
        raise RulesError(f"claim {absent[0]!r}: missing from the rules file")
    out = {}
    for cid, body in claims.items():
        if not isinstance(body, dict):
            raise RulesError(f"claim {cid!r}: must be a mapping with keys {REQUIRED}")
        for key in REQUIRED:
            if body.get(key) in (None, ""):
                raise RulesError(f"claim {cid!r}: missing key {key!r}")
        if body["direction"] not in DIRECTIONS:
            raise RulesError(f"claim {cid!r}: key 'direction' is {body['direction']!r}, not one of {DIRECTIONS}")
        _check_tolerance(cid, "tolerance", body["tolerance"])
        overrides = body.get("overrides") or {}
        for cell, tol in overrides.items():
            _check_tolerance(cid, f"overrides.{cell}", tol)
            if not tol.get("reason"):
                raise RulesError(f"claim {cid!r}: missing key 'overrides.{cell}.reason'")
        out[cid] = Rule(cid, body["statistic"], body["direction"], dict(body["tolerance"]), body["reason"],
                        {c: dict(t) for c, t in overrides.items()})
    bound = data.get("success_bound") or {}
    for dataset, metrics in bound.items():
        if dataset == "reason":
            continue
        bad = [m for m in metrics if m not in METRICS or not isinstance(metrics[m], int | float)]
        if bad:
            raise RulesError(f"success_bound: key {dataset}.{bad[0]} is not a metric {METRICS} with a number")
    return Rules(out, {d: dict(m) for d, m in bound.items() if d != "reason"}, str(bound.get("reason", "")))


@functools.cache
def load() -> Rules:
    """The package's verdict_rules.yaml, checked (cached: read once per process)."""
    text = resources.files("cw_distillation").joinpath("verdict_rules.yaml").read_text()
    return parse(yaml.safe_load(text))
