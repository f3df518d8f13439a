"""One table, three formats: CSV for machines, Markdown for the web, LaTeX for papers."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cw_distillation.files import write_text_atomic

FORMATS = ("csv", "md", "tex")


def fmt(value: Any, digits: int = 3) -> str:
    """Numbers to at most ``digits`` significant digits; NaN and None as an em dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value == 0:
            return "0"
        magnitude = math.floor(math.log10(abs(value)))
        decimals = max(0, digits - 1 - magnitude)
        return f"{value:.{decimals}f}"
    return str(value)


CSV_DIGITS = 12  # significant digits of a float in a CSV: a rebuild is byte-stable (make verify)


def csv_value(value: Any) -> Any:
    """A cell as written to CSV: floats at CSV_DIGITS significant digits, so that a rebuild whose
    summation order moved the 16th digit writes the same bytes; None as empty."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.{CSV_DIGITS}g}"
    return value


def to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: csv_value(row.get(k)) for k in columns})
    return buf.getvalue()


def to_markdown(rows: Sequence[dict[str, Any]], columns: Sequence[str], caption: str = "") -> str:
    lines = [f"**{caption}**", ""] if caption else []
    lines.append("| " + " | ".join(columns) + " |")
    lines.append("|" + "|".join("---" for _ in columns) + "|")
    for row in rows:
        lines.append("| " + " | ".join(fmt(row.get(c)).replace("|", "\\|") for c in columns) + " |")
    return "\n".join(lines) + "\n"


def _tex_escape(text: str) -> str:
    for a, b in [("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#"), ("—", "--")]:
        text = text.replace(a, b)
    return text


def to_latex(rows: Sequence[dict[str, Any]], columns: Sequence[str], caption: str = "") -> str:
    lines = [r"\begin{table}[t]", r"\centering"]
    if caption:
        lines.append(rf"\caption{{{_tex_escape(caption)}}}")
    lines += [
        r"\begin{tabular}{" + "l" * len(columns) + "}",
        r"\toprule",
        " & ".join(_tex_escape(c) for c in columns) + r" \\",
        r"\midrule",
    ]
    lines += [" & ".join(_tex_escape(fmt(row.get(c))) for c in columns) + r" \\" for row in rows]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def write_table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    base: str | Path,
    *,
    caption: str = "",
    formats: Sequence[str] = FORMATS,
) -> list[Path]:
    """Write ``base.csv``, ``base.md`` and ``base.tex`` (each atomically); return their paths."""
    base = Path(base)
    writers = {
        "csv": lambda: to_csv(rows, columns),
        "md": lambda: to_markdown(rows, columns, caption),
        "tex": lambda: to_latex(rows, columns, caption),
    }
    paths = []
    for ext in formats:
        path = base.with_name(f"{base.name}.{ext}")
        write_text_atomic(path, writers[ext]())
        paths.append(path)
    return paths
