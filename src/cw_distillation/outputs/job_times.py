"""What each kind of job costs: rows from the files Snakemake's ``benchmark:`` directive writes.

Every expensive rule records its wall time, CPU time and peak memory in
results/<profile>/benchmarks/<job>.tsv. Grouped by rule (the file name's first part up to
the dataset, as the rules name them), a row gives the jobs' count and their median, largest and
total wall time, so a reader can tell what a profile will cost before running it.
"""

from __future__ import annotations

import csv
import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cw_distillation.datasets import NAMES

JOB_TIME_COLUMNS = ["job_kind", "jobs", "median_s", "max_s", "total_s", "max_rss_mb", "slowest_job"]


def job_kind(name: str) -> str:
    """The rule part of a benchmark file's stem: attack_mnist_standard_l2 -> attack, train_mnist_init -> train_init."""
    parts = name.split("_")
    for i, part in enumerate(parts):
        if part in NAMES:
            kind = "_".join(parts[:i]) or name
            rest = parts[i + 1 :]
            # training jobs differ by role (standard, init, teacher, distilled, half): keep it
            return f"{kind}_{rest[0]}" if kind == "train" and rest else kind
    return name


def read_benchmark(path: Path) -> dict[str, float]:
    """One benchmark .tsv: {"s": wall seconds, "max_rss": MB, ...}; ValueError naming a broken file."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    if not rows or "s" not in rows[0]:
        raise ValueError(f"{path}: not a Snakemake benchmark file (no 's' column); delete it and rerun its job")

    def number(text: str) -> float:
        try:
            return float(text)
        except (TypeError, ValueError):
            return float("nan")

    return {k: number(v) for k, v in rows[-1].items() if k != "h:m:s"}


def job_time_rows(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """One row per job kind, slowest total first, keys JOB_TIME_COLUMNS."""
    groups: dict[str, list[tuple[str, dict[str, float]]]] = {}
    for path in sorted(paths):
        groups.setdefault(job_kind(path.stem), []).append((path.stem, read_benchmark(path)))
    rows = []
    for kind, jobs in groups.items():
        wall = [b["s"] for _, b in jobs]
        rss = [b.get("max_rss", float("nan")) for _, b in jobs]
        slowest = max(jobs, key=lambda j: j[1]["s"])[0]
        rows.append(
            {
                "job_kind": kind,
                "jobs": len(jobs),
                "median_s": statistics.median(wall),
                "max_s": max(wall),
                "total_s": sum(wall),
                "max_rss_mb": max((r for r in rss if math.isfinite(r)), default=None),
                "slowest_job": slowest,
            }
        )
    return sorted(rows, key=lambda r: -r["total_s"])
