#!/usr/bin/env python3
"""make verify: rebuild a profile's committed paper outputs from its store and compare.

    python scripts/verify_outputs.py PROFILE [--mirror DIR] [--cores N] [--target RULE] [--keep]

In a temporary worktree of HEAD (the working tree is left as it was): every table, figure,
REPORT.md and verdicts.json of paper_outputs/PROFILE/ is rebuilt with ``snakemake figures`` from
store/PROFILE alone (``--target network_tables``: only the networks' tables, for a profile whose
attacks have not run yet; no training, no attack: it stops and names the jobs where the store lacks
one), then compared file by file with the committed ones (cw_distillation.compare: the same
bytes, or differing only in the run's own time fields; provenance manifests are not compared).
It prints "N of M identical" and each file that differs, with how; exit 0 when nothing differs
for real, 1 when something does, 2 when it cannot rebuild.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from cw_distillation import compare, jobs

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# The rules whose jobs compute rather than draw: the table of jobs' storable rules (the Makefile's EXPENSIVE_RULES).
EXPENSIVE = frozenset(jobs.STORABLE_RULES)


def config_file(profile: str) -> str:
    return "config.yaml" if profile == "quick" else f"config/{profile}.yaml"


def git(*args: str, cwd: Path = REPO) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def snakemake(
    tree: Path, profile: str, mirror: str | None, cores: int, *extra: str, target: str = "figures"
) -> subprocess.CompletedProcess:
    cmd = [str(BIN / "snakemake"), target, "--cores", str(cores), "--configfile", config_file(profile), *extra]
    if mirror:
        cmd += ["--config", f'data={{mirror: "{Path(mirror).resolve()}"}}']
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    return subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)


def missing_jobs(plan: str) -> list[str]:
    """The expensive jobs a dry run of the target lists: what the store lacks."""
    found, rule = [], None
    for line in plan.splitlines():
        m = re.match(r"^(?:local)?rule (\w+):", line)
        if m:
            rule = m.group(1)
        elif rule in EXPENSIVE and line.strip().startswith("output:"):
            found.append(f"{rule}: {line.split(':', 1)[1].strip()}")
            rule = None
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("profile")
    parser.add_argument("--mirror", help="local folder of the official dataset files (data.mirror)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--target", default="figures",
                        help="the rule rebuilt (figures; network_tables: only the networks' tables)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary worktree")
    args = parser.parse_args(argv)
    profile = args.profile
    if not (REPO / config_file(profile)).is_file():
        print(f"no profile {profile!r}: {config_file(profile)} does not exist", file=sys.stderr)
        return 2
    committed = f"paper_outputs/{profile}"
    if not git("ls-files", committed).strip():
        print(f"{committed}: nothing committed to verify", file=sys.stderr)
        return 2
    if not git("ls-files", f"store/{profile}").strip():
        print(f"store/{profile}: no store committed, so nothing to rebuild {committed} from "
              f"(make replicate PROFILE={profile} computes it)", file=sys.stderr)
        return 2
    scratch = Path(tempfile.mkdtemp(prefix=f"verify-{profile}-"))
    tree, before = scratch / "tree", scratch / "committed"
    git("worktree", "add", "--detach", str(tree), "HEAD")
    try:
        shutil.copytree(tree / committed, before / committed)
        shutil.rmtree(tree / committed)
        plan = snakemake(tree, profile, args.mirror, args.cores, "-n", target=args.target)
        if plan.returncode:
            print(plan.stdout[-3000:] + plan.stderr[-3000:], file=sys.stderr)
            return 2
        lacking = missing_jobs(plan.stdout)
        if lacking:
            print("\n".join(lacking), file=sys.stderr)
            print(f"store/{profile} lacks what the {len(lacking)} jobs above compute: cannot rebuild "
                  f"{committed} from it", file=sys.stderr)
            return 2
        print(f"rebuilding {committed} from store/{profile} in {tree} ...", flush=True)
        run = snakemake(tree, profile, args.mirror, args.cores, target=args.target)
        if run.returncode:
            print(run.stdout[-3000:] + run.stderr[-3000:], file=sys.stderr)
            return 2
        result = compare.compare_runs(before, tree, profile, tops=("paper_outputs",))
        identical = len(result.same) + len(result.timing_only)
        print(f"{identical} of {result.total} files of {committed} identical "
              f"({len(result.timing_only)} of them differing only in the run's time fields)")
        for d in result.differ:
            print(f"  DIFFERS: {d}")
        return 1 if result.differ else 0
    finally:
        if args.keep:
            print(f"kept: {scratch}")
        else:
            git("worktree", "remove", "--force", str(tree))
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
