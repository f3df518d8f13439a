#!/usr/bin/env python3
"""Which rows of a profile's REPORT.md changed verdict between a git commit and now, with the
numbers that decided them: the evidence a change to the verdict logic (or a rerun) owes a reader.

Rows are matched by section and the paper's value, then by the closest claim text (the claims'
wording changed with the verdict logic, issue 32); rows of one side that match nothing are
listed as removed (merged into another, or no longer judged twice) or new.

    python scripts/verdict_changes.py ebdcc44 mnist10            # markdown to stdout
"""

from __future__ import annotations

import argparse
import difflib
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def rows(text: str) -> list[dict[str, str]]:
    """The claim rows of a REPORT.md: those of the table whose header has 'claim' and 'verdict'."""
    out, header = [], None
    for line in text.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if header is None:
            header = cells if "claim" in cells and "verdict" in cells else []
            continue
        if not header or set(line) <= set("|-: "):
            continue
        row = dict(zip(header, cells, strict=False))
        row["verdict"] = row["verdict"].strip("*")
        out.append(row)
    return out


def match(old: list[dict], new: list[dict]) -> tuple[list[tuple[dict, dict]], list[dict], list[dict]]:
    """(pairs, old rows unmatched, new rows unmatched): greedy on claim-text similarity, within
    rows of the same section and paper value first, then within the same section."""
    pairs, left = [], list(new)
    unmatched = []
    for strict in (True, False):
        pending = []
        for o in (old if strict else unmatched):
            pool = [n for n in left if n["section"] == o["section"] and (not strict or n["paper"] == o["paper"])]
            best = max(pool, key=lambda n: difflib.SequenceMatcher(None, o["claim"], n["claim"]).ratio(), default=None)
            score = difflib.SequenceMatcher(None, o["claim"], best["claim"]).ratio() if best else 0.0
            if best is not None and score >= (0.5 if strict else 0.6):
                pairs.append((o, best))
                left.remove(best)
            else:
                pending.append(o)
        unmatched = pending
    return pairs, unmatched, left


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("old_ref", help="the commit of the earlier REPORT.md")
    p.add_argument("profile")
    p.add_argument("--new-ref", help="the commit of the later one (default: the working tree)")
    args = p.parse_args()
    rel = f"paper_outputs/{args.profile}/REPORT.md"
    old_text = subprocess.run(["git", "show", f"{args.old_ref}:{rel}"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout
    new_text = (subprocess.run(["git", "show", f"{args.new_ref}:{rel}"], cwd=REPO, capture_output=True, text=True,
                               check=True).stdout if args.new_ref else (REPO / rel).read_text())
    pairs, removed, added = match(rows(old_text), rows(new_text))
    changed = [(o, n) for o, n in pairs if o["verdict"] != n["verdict"]]
    print(f"### {args.profile}: {len(changed)} of {len(pairs)} matched rows changed verdict; "
          f"{len(removed)} rows removed, {len(added)} new\n")
    print("| section | claim (now) | paper | ours before -> now | verdict before -> now | why now |")
    print("|---|---|---|---|---|---|")
    for o, n in changed:
        print(f"| {n['section']} | {n['claim']} | {n['paper']} | {o['ours']} -> {n['ours']} | "
              f"{o['verdict']} -> **{n['verdict']}** | {n.get('why', '')} |")
    for title, group in (("removed (merged, or judged once now)", removed), ("new", added)):
        if group:
            print(f"\n{title}:\n")
            for r in group:
                print(f"- {r['section']}: {r['claim']} ({r['paper']}; {r['ours']}): {r['verdict']}")


if __name__ == "__main__":
    main()
