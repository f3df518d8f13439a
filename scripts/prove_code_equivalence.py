#!/usr/bin/env python3
"""Keep the store's entries across a refactoring, by showing that the new code gives the same results.

A change to the library code that shapes a result (training, an attack, fragility, transfer,
data preparation) changes the key of every result it shapes, so the store stops answering
for them -- also after a pure refactoring, which would throw away hours of stored networks
and attacks. This script checks a refactoring instead of trusting it:

1. runs the tiny profile end to end (every rule, every attack and variant, on synthetic
   data) under the code of OLD_REF (a git commit, in a temporary worktree) and under the
   working tree, each in its own scratch folder, with the same Snakemake command;
2. compares every output (cw_distillation.compare: same SHA-256, or differing only in
   wall-clock fields), and sorts the results by the kind of result they
   are (model, logits, fragility, transfer, attack:<runner>, as the store keys them);
3. for each kind whose code digest changed and whose every result is the same under both
   codes, records in src/cw_distillation/code_equivalences.yaml that the new digest is
   equivalent to the old one; the store's keys then use the old digest (store.code_key).
   A kind with any differing result, or none in the tiny run, or named with --exclude (a
   change meant to alter results), is not recorded, and its stored results are recomputed.

A change may be meant to alter some jobs of a kind and keep the rest: L-BFGS with the C&W
objective got new options while L-BFGS as published did not. ``--rekeyed VARIANT`` leaves that
attack variant's results out of the comparison, after checking that its jobs' parts (their
options) differ under the two codes, so that their keys change whatever is recorded and the
store recomputes them; the record's evidence names them.

A change may also add a choice whose new default alters results while its other value keeps
the old behaviour (attacks.images: common, paired images, against each): ``--new-config YAML``
runs the new code with that config added, so that it is compared under the old behaviour; the
record's evidence names it.

    python scripts/prove_code_equivalence.py OLD_REF [--exclude KIND ...] [--rekeyed VARIANT ...]
        [--new-config YAML] [--cores 2] [--keep] [--runs DIR]

The evidence is the tiny profile only: exactness on the tiny networks, not on the real ones.
The suite's exactness tests (tests/test_cw_*.py) must pass as well before a commit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from cw_distillation import compare

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
EQUIVALENCES = REPO / "src/cw_distillation/code_equivalences.yaml"
TINY_CANDIDATES = ("config/tiny.yaml", "workflow/profiles/tiny/config.yaml")
HEADER = """\
# Code digests shown to give the same results as older ones (scripts/prove_code_equivalence.py).
# The store's keys use the oldest digest of a chain, so that a refactoring keeps its entries.
# Each record: the kind of result, the old and new digests, the commits, and the evidence.
"""


def tiny_config(tree: Path) -> Path:
    for rel in TINY_CANDIDATES:
        if (tree / rel).is_file():
            return tree / rel
    raise SystemExit(f"{tree}: no tiny profile ({' or '.join(TINY_CANDIDATES)})")


def env_for(tree: Path) -> dict[str, str]:
    """The tree's own package first on the path, so `cw-distillation` runs that tree's code."""
    return {**os.environ, "PYTHONPATH": str(tree / "src"), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}


def digests(tree: Path) -> dict[str, str]:
    """The raw code digest of each kind of result under a tree's code."""
    code = ("import json; from cw_distillation import store; "
            "print(json.dumps({k: store.code_digest(r) for k, r in store.code_roots().items()}))")
    out = subprocess.run([sys.executable, "-c", code], env=env_for(tree), capture_output=True, text=True,
                         check=True, cwd=tree).stdout
    return json.loads(out)


def imported_from(tree: Path) -> Path:
    code = "import cw_distillation, pathlib; print(pathlib.Path(cw_distillation.__file__).resolve().parent)"
    out = subprocess.run([sys.executable, "-c", code], env=env_for(tree), capture_output=True, text=True,
                         check=True, cwd=tree).stdout.strip()
    return Path(out)


def run_tiny(tree: Path, work: Path, cores: int, extra: str | None = None) -> None:
    work.mkdir(parents=True)
    (work / "no-store.yaml").write_text("store: {dir: null, publish: false}\n")
    configs = [str(tiny_config(tree)), str(work / "no-store.yaml")]
    if extra:
        (work / "extra.yaml").write_text(extra + "\n")
        configs.append(str(work / "extra.yaml"))
    cmd = [str(BIN / "snakemake"), "-s", str(tree / "Snakefile"), "--cores", str(cores), "--directory", str(work),
           "--configfile", *configs]
    print(f"running the tiny profile with the code of {tree} in {work} ...", flush=True)
    with open(work / "snakemake.log", "w") as log:
        rc = subprocess.run(cmd, env=env_for(tree), cwd=work, stdout=log, stderr=subprocess.STDOUT).returncode
    if rc:
        raise SystemExit(f"the tiny run with {tree}'s code failed (exit {rc}); its log: {work / 'snakemake.log'}")


def job_parts(tree: Path, rel: str, extra: Path | None = None) -> dict | None:
    """The store parts, less the code digest, of the tiny job writing results/tiny/``rel``
    under a tree's code and config (and the config file ``extra``)."""
    code = ("import json, sys; from cw_distillation import store; "
            "from cw_distillation.config import workflow_config; "
            "config = workflow_config(sys.argv[3:], sys.argv[1]); "
            "parts = store.parts_for(config, sys.argv[2]); "
            "print(json.dumps(parts and {k: v for k, v in parts.items() if k != 'code'}, sort_keys=True))")
    configs = [str(tiny_config(tree)), *([str(extra)] if extra else [])]
    out = subprocess.run([sys.executable, "-c", code, str(tree / "workflow/schemas/config.schema.yaml"), rel,
                          *configs],
                         env=env_for(tree), capture_output=True, text=True, check=True, cwd=tree).stdout
    return json.loads(out)


def rekeyed_files(old_tree: Path, files: list[str], variants: list[str], extra: Path | None) -> set[str]:
    """The results/tiny/ files of ``variants`` (attack variants, e.g. lbfgs_cw); SystemExit where
    one's job has the same parts under both codes (the store would answer it with the old result)."""
    chosen = {f for f in files if f.startswith("results/tiny/attacks/")
              and f.rsplit("/", 1)[1].split(".")[0] in variants}
    found = {f.rsplit("/", 1)[1].split(".")[0] for f in chosen}
    if set(variants) - found:
        raise SystemExit(f"--rekeyed: no result of {sorted(set(variants) - found)} in the tiny run")
    for f in sorted(chosen):
        rel = f.removeprefix("results/tiny/")
        if job_parts(old_tree, rel) == job_parts(REPO, rel, extra):
            raise SystemExit(f"--rekeyed: {rel}'s job has the same parts under both codes, so the store would "
                             "answer it with the old result; change its options or leave it compared")
    return chosen


def kind_of(rel: str) -> str | None:
    """The store's kind of a file under results/tiny/ (None: not a stored kind of result)."""
    from cw_distillation.attacks.registry import RUNNERS, TABLE_ATTACKS, parse_variant

    parts = rel.split("/")
    if parts[0] == "attacks" and len(parts) == 4:
        try:
            table = parse_variant(parts[3].split(".")[0])[0]
        except ValueError:
            return None
        runner = TABLE_ATTACKS[table].runner
        return f"attack:{runner}" if runner in RUNNERS else None
    if parts[0] == "transfer":
        return "transfer" if parts[-1].startswith("half_a_examples") else None
    return {"models": "model", "logits": "logits", "fragility": "fragility", "data": "data",
            "robustness": "robustness"}.get(parts[0])


def record(old: dict[str, str], new: dict[str, str], old_ref: str, new_ref: str, evidence: dict[str, str],
           ) -> list[dict]:
    current = yaml.safe_load(EQUIVALENCES.read_text()) if EQUIVALENCES.is_file() else None
    records = list((current or {}).get("equivalences") or [])
    known = {(r["kind"], r["new"], r["old"]) for r in records}
    added = []
    for kind in sorted(evidence):
        if kind in old and old[kind] != new[kind] and (kind, new[kind], old[kind]) not in known:
            added.append({"kind": kind, "old": old[kind], "new": new[kind], "old_commit": old_ref,
                          "new_commit": new_ref, "date": dt.date.today().isoformat(), "evidence": evidence[kind]})
            known.add((kind, new[kind], old[kind]))
    if added:
        text = yaml.safe_dump({"equivalences": records + added}, sort_keys=False, width=120)
        EQUIVALENCES.write_text(HEADER + text)
    return added


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("old_ref", help="the git commit whose code the stored results were made with")
    parser.add_argument("--exclude", nargs="*", default=[], metavar="KIND",
                        help="kinds whose change is meant to alter results: never recorded")
    parser.add_argument("--rekeyed", nargs="*", default=[], metavar="VARIANT",
                        help="attack variants whose options changed (so their keys do): left out of the comparison")
    parser.add_argument("--new-config", metavar="YAML",
                        help="config added to the new code's run only (a new choice set to the old behaviour)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folders")
    parser.add_argument("--runs", type=Path, help="a scratch folder kept (--keep) by an earlier call with the same "
                        "OLD_REF and code: compare its old-run and new-run instead of running them again")
    args = parser.parse_args(argv)
    old_commit = git("rev-parse", args.old_ref)
    head = git("rev-parse", "HEAD")
    dirty = bool(git("status", "--porcelain", "--", "src"))
    new_ref = f"{head}{' + uncommitted changes' if dirty else ''}"
    scratch = args.runs or Path(tempfile.mkdtemp(prefix="equivalence-"))
    old_tree = scratch / "old-tree"
    git("worktree", "add", "--detach", str(old_tree), old_commit)
    try:
        for tree in (old_tree, REPO):
            if imported_from(tree) != (tree / "src/cw_distillation").resolve():
                raise SystemExit(f"PYTHONPATH does not make Python import {tree}'s package; cannot compare")
        old, new = digests(old_tree), digests(REPO)
        changed = sorted(k for k in new if old.get(k) != new[k])
        if not changed:
            print("no code digest changed: nothing to record")
            return 0
        print(f"code digests changed for: {', '.join(changed)}")
        if not args.runs:
            run_tiny(old_tree, scratch / "old-run", args.cores)
            run_tiny(REPO, scratch / "new-run", args.cores, args.new_config)
        result = compare.compare_runs(scratch / "old-run", scratch / "new-run", "tiny")
        compare.report(result)
        differ = result.differ
        differing = {d.split(":", 1)[0] for d in differ}
        results = scratch / "new-run" / "results" / "tiny"
        files: dict[str, list[str]] = {}
        for path in compare.compared_files(scratch / "new-run", "tiny"):
            if path.startswith("results/tiny/"):
                kind = kind_of(path.removeprefix("results/tiny/"))
                if kind:
                    files.setdefault(kind, []).append(path)
        extra = scratch / "new-run" / "extra.yaml"
        rekeyed = rekeyed_files(old_tree, [f for fs in files.values() for f in fs], args.rekeyed,
                                extra if extra.is_file() else None)
        evidence = {}
        for kind in changed:
            left_out = sorted(f for f in files.get(kind, []) if f in rekeyed)
            kept = [f for f in files.get(kind, []) if f not in rekeyed]
            same = [f for f in kept if f not in differing]
            n = len(kept)
            why = ("excluded (--exclude)" if kind in args.exclude else
                   "no result of this kind in the tiny run" if not n else
                   f"{n - len(same)} of its {n} results differ" if len(same) < n else None)
            if why:
                print(f"  {kind}: not recorded: {why}")
            else:
                evidence[kind] = (f"tiny profile end to end under both codes: all {len(same)} results of this kind "
                                  f"under {results.relative_to(scratch / 'new-run')} the same (SHA-256, or only "
                                  "wall-clock fields differ)")
                if args.new_config:
                    evidence[kind] += f"; the new code's run with the config {args.new_config!r} added"
                if left_out:
                    evidence[kind] += (f"; left out, their options changed so their keys did (--rekeyed): "
                                       f"{', '.join(f.removeprefix('results/tiny/') for f in left_out)}")
        added = record(old, new, old_commit, new_ref, evidence)
        print(f"recorded {len(added)} equivalences in {EQUIVALENCES.relative_to(REPO)}: "
              f"{', '.join(r['kind'] for r in added) or 'none new'}")
        return 0
    finally:
        git("worktree", "remove", "--force", str(old_tree))
        if not args.keep and not args.runs:
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            print(f"scratch kept: {scratch}")


if __name__ == "__main__":
    sys.exit(main())
