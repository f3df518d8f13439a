"""The robustness curves, the loss x attack x temperature matrix and the masking flags (issue 35),
as table rows, from the robustness step's JSON reports (``steps/robustness.py``; no network here).

Every number is read from the reports: robust accuracy per (network, method, norm, eps), and per
image which images stood (strings of 0 and 1, image order), from which the flags compare two
attacks image by image.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

CURVE_COLUMNS = ["dataset", "network", "temperature", "norm", "eps", "method", "attack", "loss",
                 "robust_accuracy", "robust", "images"]
MATRIX_LOSSES = ("ce", "ce_divT", "margin", "dlr")
MATRIX_COLUMNS = ["dataset", "network", "temperature", "norm", "eps", "attack", *MATRIX_LOSSES, "images"]
FLAG_COLUMNS = ["dataset", "network", "temperature", "images", "zero_gradient", "one_hot_softmax",
                "softmax_max_one"]
NORM_NAME = {"linf": "L∞", "l2": "L2"}


def standing(flags: str) -> list[bool]:
    """A report's string of 0 and 1 as one bool per image."""
    return [c == "1" for c in flags]


def curve_rows(reports: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per (dataset, network, norm, eps, method), in the reports' order."""
    rows = []
    for report in reports:
        for c in report["curves"]:
            for eps, accuracy, flags in zip(c["eps"], c["robust_accuracy"], c["robust"], strict=True):
                rows.append({"dataset": report["dataset"], "network": report["network"],
                             "temperature": float(report["temperature"]), "norm": c["norm"], "eps": float(eps),
                             "method": c["method"], "attack": c["attack"], "loss": c["loss"],
                             "robust_accuracy": float(accuracy), "robust": sum(standing(flags)),
                             "images": report["n_images"]})
    return rows


def matrix_rows(reports: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per (dataset, network, norm, eps, attack), a column of robust accuracy per loss
    (None where the matrix did not run that method); networks in order of temperature."""
    cells: dict[tuple, dict[str, Any]] = {}
    for report in sorted(reports, key=lambda r: (r["dataset"], r["network"] != "standard", float(r["temperature"]))):
        for c in report["curves"]:
            for eps, accuracy in zip(c["eps"], c["robust_accuracy"], strict=True):
                key = (report["dataset"], report["network"], c["norm"], float(eps), c["attack"])
                row = cells.setdefault(key, {
                    "dataset": report["dataset"], "network": report["network"],
                    "temperature": float(report["temperature"]), "norm": c["norm"], "eps": float(eps),
                    "attack": c["attack"], **dict.fromkeys(MATRIX_LOSSES), "images": report["n_images"]})
                row[c["loss"]] = float(accuracy)
    order = {"linf": 0, "l2": 1}
    attacks = {"fgs": 0, "igs": 1, "apgd": 2}
    keys = list(dict.fromkeys((k[0], k[1]) for k in cells))
    return sorted(cells.values(), key=lambda r: (keys.index((r["dataset"], r["network"])), order.get(r["norm"], 9),
                                                  r["eps"], attacks.get(r["attack"], 9)))


def pair_column(weaker: str, stronger: str, norm: str) -> str:
    return f"{stronger} > {weaker} ({norm})"


def flag_columns(pairs: Sequence[Sequence[str]], norms: Sequence[str] = ("linf", "l2")) -> list[str]:
    return [*FLAG_COLUMNS, *(pair_column(w, s, n) for w, s in pairs for n in norms), "flags"]


def flag_rows(reports: Sequence[Mapping[str, Any]], pairs: Sequence[Sequence[str]]) -> list[dict[str, Any]]:
    """One row per (dataset, network): the fractions of images with an exactly zero gradient of the
    cross-entropy of F and with an exactly one-hot float32 softmax (and a winner of exactly 1.0);
    per (weaker, stronger) pair and norm, how many images the stronger attack broke that the weaker
    left standing; and ``flags``, the masking signs in words (a stronger attack's extra images are
    a sign only beside the others: on any network a strong attack breaks more than a weak one)."""
    rows = []
    for report in sorted(reports, key=lambda r: (r["dataset"], r["network"] != "standard", float(r["temperature"]))):
        masking = report.get("masking") or {}
        curves = {(c["method"], c["norm"]): c for c in report["curves"]}
        row = {"dataset": report["dataset"], "network": report["network"],
               "temperature": float(report["temperature"]), "images": report["n_images"],
               "zero_gradient": masking.get("zero_gradient_fraction"),
               "one_hot_softmax": masking.get("one_hot_softmax_fraction"),
               "softmax_max_one": masking.get("softmax_max_one_fraction")}
        words = []
        if row["zero_gradient"]:
            words.append(f"zero gradient of CE(F) on {row['zero_gradient']:.0%} of images")
        if row["one_hot_softmax"]:
            words.append(f"one-hot float32 softmax on {row['one_hot_softmax']:.0%}")
        for weaker, stronger in pairs:
            for norm in ("linf", "l2"):
                a, b = curves.get((stronger, norm)), curves.get((weaker, norm))
                if a is None or b is None:
                    row[pair_column(weaker, stronger, norm)] = None
                    continue
                # the last eps of each (the matrix runs one): images broken by one and not the other
                strong, weak = standing(a["robust"][-1]), standing(b["robust"][-1])
                only_strong = sum(1 for s, w in zip(strong, weak, strict=True) if w and not s)
                only_weak = sum(1 for s, w in zip(strong, weak, strict=True) if s and not w)
                row[pair_column(weaker, stronger, norm)] = only_strong
                if only_strong:
                    note = f"{stronger} breaks {only_strong} that {weaker} does not ({NORM_NAME[norm]} {a['eps'][-1]:g}"
                    note += f"; the reverse: {only_weak})" if only_weak else ")"
                    words.append(note)
        row["flags"] = "; ".join(words) or "none"
        rows.append(row)
    return rows
