"""``cw-distillation <step> ...``: the only entry points the workflow's rules call.

Each step writes its outputs atomically and then a provenance manifest per
output. Heavy imports (TensorFlow) happen inside the steps that need them, so
``audit`` and ``explain`` start instantly.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from cw_distillation import provenance
from cw_distillation.provenance import Step

log = logging.getLogger("cw_distillation")

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(name: str) -> Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]]:
    def register(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        COMMANDS[name] = fn
        return fn

    return register


def step_for(args: argparse.Namespace, inputs: Sequence[str | Path], params: dict, **extra) -> Step:
    wildcards = dict(item.split("=", 1) for item in args.wildcards.split(",") if "=" in item) if args.wildcards else {}
    return Step(
        command=args.command,
        params=params,
        inputs=[Path(p) for p in inputs],
        rule=args.rule,
        wildcards=wildcards,
        **extra,
    )


# ----------------------------------------------------------------------------- data


@command("synthesize")
def cmd_synthesize(args: argparse.Namespace) -> int:
    from cw_distillation.data.synthetic import write_mirror

    step = step_for(args, [], {"dataset": args.dataset, "n_train": args.n_train, "n_test": args.n_test}, seed=args.seed)
    registry = write_mirror(args.out_dir, args.dataset, n_train=args.n_train, n_test=args.n_test, seed=args.seed)
    provenance.write_manifest(args.out_dir / args.dataset, step)
    provenance.write_manifest(registry, step)
    log.info("wrote synthetic %s mirror under %s", args.dataset, args.out_dir)
    return 0


@command("download")
def cmd_download(args: argparse.Namespace) -> int:
    from cw_distillation.data.download import fetch_dataset
    from cw_distillation.data.sources import source_for

    source = source_for(args.dataset, args.registry)
    # The registry and the mirror's files are inputs: the audit re-hashes them while they are at hand.
    inputs = [args.registry] if args.registry else []
    if args.mirror is not None and (args.mirror / args.dataset).is_dir():
        inputs.append(args.mirror / args.dataset)
    step = step_for(
        args,
        inputs,
        {
            "dataset": args.dataset,
            "mirror": args.mirror,
            "retries": args.retries,
            "urls": {a.name: list(a.urls) for a in source.archives},
            "payload_sha256": {p.name: p.sha256 for p in source.payloads},
        },
    )
    paths = fetch_dataset(
        source,
        args.out_dir,
        mirror=args.mirror,
        retries=args.retries,
        backoff_s=args.backoff_s,
        timeout_s=args.timeout_s,
        progress=not args.no_progress,
    )
    provenance.write_manifest(args.out_dir, step)
    log.info("verified %d files of %s into %s", len(paths), args.dataset, args.out_dir)
    return 0


@command("prepare")
def cmd_prepare(args: argparse.Namespace) -> int:
    import numpy as np

    from cw_distillation.data.prepare import prepare

    step = step_for(args, [args.raw_dir], {"dataset": args.dataset})
    arrays = prepare(args.dataset, args.raw_dir, args.out)
    counts = np.bincount(arrays["y_train"], minlength=10).tolist()
    step.notes = {
        "shapes": {k: list(v.shape) for k, v in arrays.items()},
        "train_class_counts": counts,
        "first_train_labels": arrays["y_train"][:5].tolist(),
        "first_test_labels": arrays["y_test"][:5].tolist(),
    }
    provenance.write_manifest(args.out, step)
    log.info("%s: %s; train class counts %s", args.out, step.notes["shapes"], counts)
    return 0


# ----------------------------------------------------------------------------- provenance


@command("audit")
def cmd_audit(args: argparse.Namespace) -> int:
    findings, checked = provenance.audit(args.folder)
    for finding in findings:
        print(finding)
    if findings:
        print(f"audit FAILED: {len(findings)} problem(s) among {checked} recorded artifact(s) under {args.folder}")
        return 1
    if checked == 0:
        print(f"audit FAILED: no recorded artifacts under {args.folder}")
        return 1
    print(f"audit passed: {checked} artifact(s) under {args.folder} match their manifests")
    return 0


@command("explain")
def cmd_explain(args: argparse.Namespace) -> int:
    print(provenance.explain(args.artifact))
    return 0


@command("check-config")
def cmd_check_config(args: argparse.Namespace) -> int:
    import yaml

    from cw_distillation.config import load_config

    config = load_config(args.config, args.schema)
    print(yaml.safe_dump(config, sort_keys=False), end="")
    return 0


# ----------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cw-distillation", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="STEP")

    def add(name: str, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        if name not in {"audit", "explain", "check-config"}:
            p.add_argument("--rule", help="workflow rule that runs this step (recorded in provenance)")
            p.add_argument("--wildcards", default="", help="k=v,... of the rule (recorded in provenance)")
        return p

    p = add("synthesize", "write a tiny synthetic dataset in the official format, as a local mirror")
    p.add_argument("--dataset", required=True, choices=["mnist", "cifar10"])
    p.add_argument("--out-dir", required=True, type=Path)
    p.add_argument("--n-train", type=int, required=True)
    p.add_argument("--n-test", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)

    p = add("download", "download (or copy from a mirror) and verify a dataset's official files")
    p.add_argument("--dataset", required=True, choices=["mnist", "cifar10"])
    p.add_argument("--out-dir", required=True, type=Path)
    p.add_argument("--mirror", type=Path, help="folder laid out like ../shared/datasets/ (used instead of the network)")
    p.add_argument("--registry", type=Path, help="JSON registry of non-official files (synthetic data)")
    p.add_argument("--retries", type=int, default=3)
    p.add_argument("--backoff-s", type=float, default=2.0)
    p.add_argument("--timeout-s", type=float, default=60.0)
    p.add_argument("--no-progress", action="store_true")

    p = add("prepare", "parse verified files into a uint8 .npz in the official order")
    p.add_argument("--dataset", required=True, choices=["mnist", "cifar10"])
    p.add_argument("--raw-dir", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)

    p = add("audit", "re-hash every artifact under a folder and check it against its provenance")
    p.add_argument("folder", type=Path)

    p = add("explain", "print the chain of steps that made one artifact")
    p.add_argument("artifact", type=Path)

    p = add("check-config", "validate a config file against the schema and print it with defaults")
    p.add_argument("config", type=Path)
    p.add_argument("--schema", type=Path, default=Path("workflow/schemas/config.schema.yaml"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("interrupted; no partial output was kept", file=sys.stderr)
        return 130
    except Exception as err:  # one clear line for the user; the traceback with -v
        if args.verbose:
            raise
        print(f"cw-distillation {args.command}: error: {type(err).__name__}: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
