"""Whether two runs made the same outputs: same bytes, or differing only in wall-clock fields.

Used where a run is checked against another: the SLURM test (a cluster run against a local
one), ``prove_code_equivalence`` (old code against new) and ``make verify`` (a rebuild from the
store against the committed paper outputs).
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cw_distillation.files import sha256_file

# Fields that hold wall-clock values: the only differences allowed between two runs.
VOLATILE_KEY = re.compile(
    r"^(.*_)?(seconds|per_second|elapsed|duration|date_saved|timestamp|started|finished|start_time|end_time)$"
)
OUTPUT_TOPS = ("results", "paper_outputs")


def compared_files(root: Path, profile: str, tops: Sequence[str] = OUTPUT_TOPS) -> dict[str, Path]:
    """Outputs of a run: files under <top>/<profile> for each top, without logs, benchmark files
    (timings), provenance manifests (*.prov.json, paper_outputs/<profile>/provenance/) and
    hidden files; keyed by their path relative to ``root``."""
    files = {}
    for top in (root / t / profile for t in tops):
        if not top.is_dir():
            continue
        for p in sorted(top.rglob("*")):
            rel = p.relative_to(top)
            if not p.is_file() or p.name.endswith(".prov.json") or any(s.startswith(".") for s in rel.parts):
                continue
            if rel.parts[0] in ("logs", "provenance", "benchmarks"):  # benchmarks: a job's measured time
                continue
            files[str(p.relative_to(root))] = p
    return files


def json_diff(a, b, path: str = "") -> list[str]:
    """Key paths where two JSON values differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += json_diff(a.get(k), b.get(k), f"{path}.{k}" if path else str(k)) if k in a and k in b \
                else [f"{path}.{k}" if path else str(k)]
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in json_diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [path]


def volatile(key_path: str) -> bool:
    last = re.sub(r"(\[\d+\])+$", "", key_path).rsplit(".", 1)[-1]
    return bool(VOLATILE_KEY.match(last))


def content_diff(a: bytes, b: bytes, name: str) -> tuple[list[str], list[str]]:
    """(real differences, ignored wall-clock fields) between two versions of one file."""
    if a == b:
        return [], []
    if name.endswith(".npy"):  # a member of an .npz
        if VOLATILE_KEY.match(name.removesuffix(".npy")):
            return [], ["(all)"]
        import numpy as np

        va, vb = np.load(io.BytesIO(a), allow_pickle=False), np.load(io.BytesIO(b), allow_pickle=False)
        if va.ndim == 0 and va.dtype.kind in "US" and vb.ndim == 0 and vb.dtype.kind in "US":
            return content_diff(str(va).encode(), str(vb).encode(), name.removesuffix(".npy") + ".json")
        return ["bytes"], []
    if name.endswith(".json"):
        try:
            keys = json_diff(json.loads(a), json.loads(b))
        except ValueError:
            return ["bytes"], []
        return [k for k in keys if not volatile(k)], [k for k in keys if volatile(k)]
    if name.endswith((".csv", ".md", ".tex")):
        return table_diff(a.decode(errors="replace"), b.decode(errors="replace"), name.rsplit(".", 1)[1])
    if zipfile.is_zipfile(io.BytesIO(a)) and zipfile.is_zipfile(io.BytesIO(b)):  # .keras, .npz
        za, zb = zipfile.ZipFile(io.BytesIO(a)), zipfile.ZipFile(io.BytesIO(b))
        names_a, names_b = set(za.namelist()), set(zb.namelist())
        real = [f"member {n} only in one" for n in sorted(names_a ^ names_b)]
        ignored = []
        for n in sorted(names_a & names_b):
            r, i = content_diff(za.read(n), zb.read(n), n)
            real += [f"{n}:{x}" for x in r]
            ignored += [f"{n}:{x}" for x in i]
        return real, ignored
    return ["bytes"], []


def _cells(line: str, kind: str) -> list[str]:
    """A table row's cells: CSV fields, Markdown's |-separated cells, LaTeX's &-separated ones."""
    if kind == "csv":
        return next(csv.reader([line]), [])
    if kind == "md":
        return [c.strip() for c in line.strip().strip("|").split("|")] if line.lstrip().startswith("|") else [line]
    return [c.strip() for c in line.strip().removesuffix("\\\\").split("&")] if "&" in line else [line]


def table_diff(a: str, b: str, kind: str) -> tuple[list[str], list[str]]:
    """(real differences, ignored wall-clock columns) between two versions of a table: rows that
    differ only in a column whose header names a wall-clock value (``*_seconds``...) are the same."""
    lines_a, lines_b = a.splitlines(), b.splitlines()
    if len(lines_a) != len(lines_b):
        return ["bytes"], []
    rows_a = [_cells(line, kind) for line in lines_a]
    headers = [[c.replace("\\_", "_") for c in row] for row in rows_a]
    real, ignored = [], []
    for i, (x, y) in enumerate(zip(lines_a, lines_b, strict=True)):
        if x == y:
            continue
        cx, cy = rows_a[i], _cells(y, kind)
        if len(cx) != len(cy) or len(cx) < 2:
            real.append(f"line {i + 1}")
            continue
        clock = {j for h in headers if len(h) == len(cx) for j, c in enumerate(h) if VOLATILE_KEY.match(c)}
        diff = [j for j, (u, v) in enumerate(zip(cx, cy, strict=True)) if u != v]
        if all(j in clock for j in diff):
            ignored += [f"column {j + 1}" for j in diff]
        else:
            real.append(f"line {i + 1}")
    return (real, sorted(set(ignored))) if real or ignored else (["bytes"], [])


@dataclass
class Comparison:
    """Files of two runs: identical bytes, differing only in wall-clock fields, or differing."""

    same: list[str] = field(default_factory=list)
    timing_only: list[str] = field(default_factory=list)
    differ: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.same) + len(self.timing_only) + len(self.differ)


def compare_runs(a_root: Path, b_root: Path, profile: str, tops: Sequence[str] = OUTPUT_TOPS) -> Comparison:
    """Compare the outputs of two runs of ``profile`` file by file (see ``compared_files``)."""
    a, b = compared_files(a_root, profile, tops), compared_files(b_root, profile, tops)
    out = Comparison()
    for rel in sorted(set(a) | set(b)):
        if rel not in a or rel not in b:
            out.differ.append(f"{rel}: only in {a_root if rel in a else b_root}")
        elif sha256_file(a[rel]) == sha256_file(b[rel]):
            out.same.append(rel)
        else:
            real, ignored = content_diff(a[rel].read_bytes(), b[rel].read_bytes(), a[rel].name)
            if real:
                out.differ.append(f"{rel}: differs in {', '.join(real[:8])}")
            else:
                out.timing_only.append(f"{rel} (only {', '.join(sorted(set(ignored))[:4])})")
    return out


def report(comparison: Comparison, say: Callable[[str], None] = print) -> None:
    """Print the summary line, then each file that differs only in time, then each that differs."""
    say(f"compared {comparison.total} files: {len(comparison.same)} with the same SHA-256, "
        f"{len(comparison.timing_only)} differing only in wall-clock fields, {len(comparison.differ)} differing")
    for t in comparison.timing_only:
        say(f"  same but wall-clock: {t}")
    for d in comparison.differ:
        say(f"  DIFFERS: {d}")
