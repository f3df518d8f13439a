"""Provenance steps: audit a folder, explain one artifact, rewrite manifests, check a config."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cw_distillation import provenance


def audit(args: argparse.Namespace) -> int:
    notes: list[str] = []
    findings, checked = provenance.audit(args.folder, notes)
    for finding in findings:
        print(finding)
    for note in notes:
        print(f"note: {note}")
    if findings:
        print(f"audit FAILED: {len(findings)} problem(s) among {checked} recorded artifact(s) under {args.folder}")
        return 1
    if checked == 0:
        print(f"audit FAILED: no recorded artifacts under {args.folder}")
        return 1
    print(f"audit passed: {checked} artifact(s) under {args.folder} match their manifests")
    return 0


def explain(args: argparse.Namespace) -> int:
    try:
        print(provenance.explain(args.artifact, depth=args.depth))
    except (provenance.ManifestError, FileNotFoundError) as err:
        print(f"explain: {err}", file=sys.stderr)
        return 1
    return 0


def relativize(args: argparse.Namespace) -> int:
    """Rewrite committed manifests in the current form (relative paths, lineage referenced);
    the results they describe are not touched."""
    for folder in args.folder:
        try:
            rewritten, removed = provenance.relativize(folder, args.repo.resolve())
        except provenance.ManifestError as err:
            print(f"provenance relativize: {err}; nothing after it rewritten", file=sys.stderr)
            return 1
        print(f"{folder}: {rewritten} manifest(s) rewritten, {removed} unreferenced lineage node(s) removed")
    return 0


def prune(args: argparse.Namespace) -> int:
    """Remove the lineage nodes no manifest references any more."""
    for folder in args.folder:
        print(f"{folder}: {provenance.prune(folder)} unreferenced lineage node(s) removed")
    return 0


def check_config(args: argparse.Namespace) -> int:
    """The config a run with these --configfile files would see: merged in order over the schema's
    defaults (the paper's settings) as the Snakefile does, with the cross-key checks; no file: the
    default profile (config.yaml)."""
    import yaml

    from cw_distillation.config import workflow_config

    config = workflow_config(args.config, args.schema)
    print(yaml.safe_dump(config, sort_keys=False), end="")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="re-hash every artifact under a folder and check it against its provenance")
    p.add_argument("folder", type=Path, help="results/<profile>, paper_outputs/<profile> or store/<profile>")
    p.set_defaults(handler=audit)

    p = sub.add_parser("explain", help="print the chain of steps that made one artifact")
    p.add_argument("artifact", type=Path, help="a file with a manifest")
    p.add_argument("--depth", type=int, default=None, help="steps back to show (default: all, to the downloads)")
    p.set_defaults(handler=explain)

    p = sub.add_parser("provenance", help="maintain manifests: `provenance relativize|prune FOLDER...`")
    tasks = p.add_subparsers(dest="task", required=True, metavar="TASK")
    t = tasks.add_parser("relativize", help="rewrite the manifests under folders with paths relative to the "
                         "repository and, under paper_outputs/, lineage nodes stored once (results untouched)")
    t.add_argument("folder", type=Path, nargs="+", help="folders whose manifests are rewritten")
    t.add_argument("--repo", type=Path, default=Path("."), help="the repository paths are made relative to")
    t.set_defaults(handler=relativize)
    t = tasks.add_parser("prune", help="remove the lineage nodes no manifest under the folders references any more "
                         "(the workflow does it after a successful run)")
    t.add_argument("folder", type=Path, nargs="+", help="folders such as paper_outputs/<profile>")
    t.set_defaults(handler=prune)

    p = sub.add_parser("check-config", help="the config a run with these --configfile files sees, checked")
    p.add_argument("config", type=Path, nargs="*",
                   help="profile files, merged in order over the schema's defaults (none: config.yaml)")
    p.add_argument("--schema", type=Path, default=Path("workflow/schemas/config.schema.yaml"),
                   help="the config schema (its defaults and checks)")
    p.set_defaults(handler=check_config)
